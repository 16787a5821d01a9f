"""``modelyard.Client`` composes a tracking and a registry client and offers every public
method of both, with the same signature and docstring: a method added to a domain client and
not forwarded fails here."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import modelyard as yard
from modelyard.registry.client import RegistryClient
from modelyard.tracking.client import Client as TrackingClient
from modelyard.tracking.entities import Metric

DOMAINS = {"tracking": TrackingClient, "registry": RegistryClient}
OWN = {"tracking", "registry", "settings", "tracking_uri", "remote", "model_card", "model_lineage"}


def _public(cls: type) -> dict[str, object]:
    return {
        name: value
        for klass in reversed(cls.__mro__[:-1])
        for name, value in vars(klass).items()
        if not name.startswith("_")
    }


@pytest.fixture
def client(tmp_path: Path) -> yard.Client:
    return yard.Client(f"sqlite:///{tmp_path}/yard.db")


@pytest.mark.parametrize("holder", DOMAINS)
def test_every_public_method_of_a_domain_client_is_on_client(
    client: yard.Client, holder: str
) -> None:
    domain = DOMAINS[holder]
    inner = getattr(client, holder)
    assert type(inner) is domain
    for name, value in _public(domain).items():
        assert hasattr(yard.Client, name), f"yard.Client lacks {domain.__name__}.{name}"
        if isinstance(value, property):
            assert isinstance(inspect.getattr_static(yard.Client, name), property), name
            assert getattr(client, name) == getattr(inner, name), name
            continue
        ours, theirs = getattr(client, name), getattr(inner, name)
        assert inspect.signature(ours) == inspect.signature(theirs), name
        assert ours.__doc__ == theirs.__doc__, name
        assert ours.__self__ is inner, f"yard.Client.{name} does not call .{holder}.{name}"
        assert inspect.signature(getattr(yard.Client, name)) == inspect.signature(value), name


def test_public_attributes_of_the_tracking_client_are_on_client(client: yard.Client) -> None:
    public = {k: v for k, v in vars(client.tracking).items() if not k.startswith("_")}
    assert public, "the tracking client has public attributes"
    for name, value in public.items():
        assert getattr(client, name) == value, name


def test_client_has_nothing_public_the_domains_lack(client: yard.Client) -> None:
    offered = set().union(*(_public(d) for d in DOMAINS.values())) | OWN
    ours = {n for n in dir(client) if not n.startswith("_")}
    assert ours - offered == set()


def test_a_registry_call_sees_the_run_writes_of_its_client(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    with yard.Client(uri) as client:
        run_id = client.create_run("0").info.run_id
        client.log_batch(run_id, metrics=[Metric("m", float(i), 0, i) for i in range(5000)])
        client.search_registered_models()  # settles this client's queued writes first
        other = yard.Client(uri)  # reads settle only the other client's own writes
        assert len(other.get_metric_history(run_id, "m")) == 5000
        other.close()


def test_client_is_a_context_manager_of_itself(tmp_path: Path) -> None:
    with yard.Client(f"sqlite:///{tmp_path}/yard.db") as client:
        assert isinstance(client, yard.Client)
    with pytest.raises(yard.ModelyardError, match="closed"):
        client.log_metric(client.create_run("0").info.run_id, "m", 1.0)


def test_a_method_called_through_the_class_forwards_too(tmp_path: Path) -> None:
    """``yard.Client.get_run(client, ...)``, ``functools.partial`` and ``map`` over the class's
    methods work as they did when ``Client`` inherited them, for tracking and registry alike."""
    import functools

    with yard.Client(f"sqlite:///{tmp_path}/yard.db") as client:
        run_id = yard.Client.create_run(client, "0").info.run_id
        yard.Client.log_metric(client, run_id, "m", 1.0)
        assert yard.Client.get_run(client, run_id).data.metrics == {"m": 1.0}
        assert functools.partial(yard.Client.get_run, client)(run_id).info.run_id == run_id
        yard.Client.create_registered_model(client, "churn")
        names = list(map(functools.partial(yard.Client.get_registered_model, client), ["churn"]))
        assert [m.name for m in names] == ["churn"]
        with pytest.raises(TypeError):
            yard.Client.get_run(client)  # type: ignore[call-arg]


class _Counting(yard.Client):
    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.seen: list[str] = []

    def get_run(self, run_id: str):  # type: ignore[no-untyped-def]
        self.seen.append(run_id)
        return super().get_run(run_id)


def test_a_subclass_overrides_and_extends_a_forwarded_method(tmp_path: Path) -> None:
    with _Counting(f"sqlite:///{tmp_path}/yard.db") as client:
        run_id = client.create_run("0").info.run_id
        assert client.get_run(run_id).info.run_id == run_id
        assert client.seen == [run_id]
