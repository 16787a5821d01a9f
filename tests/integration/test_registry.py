"""The registry contract, on SQLite, PostgreSQL and through a server: versions, aliases,
search, soft delete, models:/ URIs, concurrency, and the errors bad input gets."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.fixtures.logged import log_source, stored_artifact

import modelyard as yard
from modelyard.config import Settings
from modelyard.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
)
from modelyard.models.directory import TamperedModel


def _client(uri: str, user: str = "alice") -> yard.Client:
    return yard.Client(uri, settings=replace(Settings.from_env(), user=user))


def _source(c: yard.Client) -> tuple[str, str]:
    return log_source(c)


def test_versions_are_numbered_per_model_and_resolved(tracking_uri: str) -> None:
    c = _client(tracking_uri)
    source, run_id = _source(c)
    v1 = c.create_model_version("churn", source, run_id=run_id, tags={"team": "risk"})
    v2 = c.create_model_version("churn", source, description="second")
    other = c.create_model_version("fraud", source)
    assert (v1.version, v2.version, other.version) == (1, 2, 1)
    assert v1.uri == "models:/churn/1" and v1.created_by == "alice" and v1.run_id == run_id
    assert c.get_version("churn").version == 2  # latest
    assert c.get_version("churn", 1).tags == {"team": "risk"}
    assert c.resolve_model_uri("models:/churn/latest").version == 2
    model = c.get_registered_model("churn")
    assert model.latest_version == 2 and model.created_by == "alice"
    with pytest.raises(NotFound, match=r"no version 7 \(latest is 2\)"):
        c.get_version("churn", 7)
    with pytest.raises(NotFound, match="'nope' does not exist"):
        c.get_version("nope")


def test_aliases_move_and_their_history_answers_what_was_when(tracking_uri: str) -> None:
    c = _client(tracking_uri)
    source, _ = _source(c)
    for _ in range(3):
        c.create_model_version("churn", source)
    c.set_alias("churn", "champion", 1)
    first = c.get_alias_history("churn", "champion")[-1].time
    c.set_alias("churn", "champion", 3)
    assert c.get_version("churn", alias="champion").version == 3
    assert c.resolve_model_uri("models:/churn@champion").version == 3
    assert c.get_registered_model("churn").aliases == {"champion": 3}
    assert c.get_version("churn", 3).aliases == ["champion"]
    # what was champion right after the first move? version 1
    assert c.get_version("churn", alias="champion", at=first).version == 1
    with pytest.raises(NotFound, match="no alias 'champion' at"):
        c.get_version("churn", alias="champion", at=first - 1)
    c.delete_alias("churn", "champion")
    history = c.get_alias_history("churn", "champion")
    assert [(e.version, e.previous_version) for e in history] == [(1, None), (3, 1), (None, 3)]
    assert all(e.actor == "alice" for e in history)
    with pytest.raises(NotFound, match="no alias 'champion'"):
        c.get_version("churn", alias="champion")


@pytest.mark.parametrize(
    ("alias", "message"),
    [
        ("Champion", "lower-case letters"),
        ("latest", "reserved"),
        ("v3", "reserved"),
        ("a" * 65, "1-64 characters"),
        ("pro duction", "lower-case letters"),
        ("production\n", "lower-case letters"),
    ],
)
def test_invalid_aliases_are_refused(tracking_uri: str, alias: str, message: str) -> None:
    c = _client(tracking_uri)
    source, _ = _source(c)
    c.create_model_version("churn", source)
    with pytest.raises(InvalidArgument, match=message) as caught:
        c.set_alias("churn", alias, 1)
    assert caught.value.field in ("alias", "model_uri")


def test_an_alias_to_a_missing_or_deleted_version_is_refused(tracking_uri: str) -> None:
    c = _client(tracking_uri)
    source, _ = _source(c)
    c.create_model_version("churn", source)
    c.create_model_version("churn", source)
    with pytest.raises(NotFound, match="no version 9"):
        c.set_alias("churn", "champion", 9)
    c.set_alias("churn", "champion", 2)
    with pytest.raises(Conflict, match=r"holds the alias.*champion"):
        c.delete_model_version("churn", 2)
    c.delete_model_version("churn", 1)
    with pytest.raises(NotFound, match="deleted"):
        c.set_alias("churn", "backup", 1)
    assert c.get_registered_model("churn").aliases == {"champion": 2}


def test_search_uses_the_run_filter_language(tracking_uri: str) -> None:
    c = _client(tracking_uri)
    source, run_id = _source(c)
    other, _ = _source(c)
    c.create_model_version("churn", source, run_id=run_id, tags={"validated": "true"})
    c.create_model_version("churn", other, tags={"validated": "false"})
    c.create_model_version("fraud", other, tags={"validated": "true"})
    found = c.search_model_versions("name = 'churn' and tags.validated = 'true'")
    assert [(v.name, v.version) for v in found] == [("churn", 1)]
    found = c.search_model_versions("tags.validated = 'true'", order_by=["name DESC"])
    assert [v.name for v in found] == ["fraud", "churn"]
    assert [v.version for v in c.search_model_versions(f"run_id = '{run_id}'")] == [1]
    assert [v.version for v in c.search_model_versions("name = 'churn' and version >= 2")] == [2]
    page, token = c.search_model_versions_page(max_results=2)
    assert len(page) == 2 and token is not None
    rest, token = c.search_model_versions_page(max_results=2, page_token=token)
    assert len(rest) == 1 and token is None
    models, _ = c.search_registered_models("name LIKE 'ch%'")
    assert [m.name for m in models] == ["churn"]
    with pytest.raises(InvalidArgument, match="unknown entity 'metrics'"):
        c.search_model_versions("metrics.auc > 0.5")
    with pytest.raises(InvalidArgument, match="unknown attribute 'colour'"):
        c.search_model_versions("colour = 'red'")


def test_soft_delete_hides_keeps_the_name_and_restores(tracking_uri: str) -> None:
    c = _client(tracking_uri)
    source, _ = _source(c)
    c.create_model_version("churn", source)
    c.delete_registered_model("churn")
    with pytest.raises(NotFound, match="deleted"):
        c.get_version("churn", 1)
    assert c.search_model_versions("name = 'churn'") == []
    assert [m.name for m in c.search_registered_models(include_deleted=True)[0]] == ["churn"]
    with pytest.raises(AlreadyExists, match="deleted but keeps its name"):
        c.create_registered_model("churn")
    with pytest.raises(AlreadyExists, match="unique ignoring case"):
        c.create_registered_model("CHURN")
    c.restore_registered_model("churn")
    assert c.get_version("churn", 1).version == 1
    assert c.create_model_version("churn", source).version == 2


def test_concurrent_creators_get_exactly_one_version_each(tracking_uri: str) -> None:
    c = _client(tracking_uri)
    source, _ = _source(c)
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def create() -> None:
        try:
            version = _client(tracking_uri).create_model_version("racy", source).version
            with lock:
                numbers.append(version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(numbers) == list(range(1, 9))
    assert c.get_registered_model("racy").latest_version == 8


def test_bad_names_sources_and_tags_name_the_field(tracking_uri: str) -> None:
    c = _client(tracking_uri)
    source, _ = _source(c)
    with pytest.raises(InvalidArgument, match="letters, digits") as caught:
        c.create_model_version("churn/v2", source)
    assert caught.value.field == "name"
    with pytest.raises(InvalidArgument) as caught:
        c.create_model_version("churn", "")
    assert caught.value.field == "source"
    with pytest.raises(NotFound, match="run"):
        c.create_model_version("churn", source, run_id="0" * 32)
    with pytest.raises(InvalidArgument, match="version"):
        c.get_version("churn", 0)
    assert c.search_registered_models()[0] == []  # nothing was half-written


def _sklearn_model() -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.random(60), "b": rng.random(60)})
    return LogisticRegression().fit(x, (x["a"] > 0.5).astype(int)), x


def test_log_model_registers_and_loads_by_alias(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    model, x = _sklearn_model()
    with yard.start_run() as run:
        info = yard.models.log_model(
            model, input_example=x[:5], registered_model_name="churn", tags={"stage": "dev"}
        )
    assert info.version == 1 and info.model_uri == "models:/churn/1"
    c = yard.Client(tracking_uri)
    version = c.get_version("churn", 1)
    assert version.run_id == run.info.run_id and version.flavor == "sklearn"
    assert version.model_digest == info.model_digest and version.tags == {"stage": "dev"}
    assert version.signature is not None and version.signature["kind"] == "columns"
    c.set_alias("churn", "champion", 1)
    loaded = yard.models.load("models:/churn@champion", tracking_uri=tracking_uri)
    np.testing.assert_array_equal(loaded.predict(x[:10]), model.predict(x[:10]))
    again = yard.models.load("models:/churn/1", tracking_uri=tracking_uri)  # from the cache
    np.testing.assert_array_equal(again.predict(x[:10]), model.predict(x[:10]))
    edges = c.model_lineage("churn", 1)
    assert [(e.source.id, e.target.label) for e in edges] == [(run.info.run_id, "churn/1")]


def test_a_replaced_model_yaml_is_refused_on_load(tracking_uri: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The store's copy of model.yaml replaced behind the registry's back (by someone with the
    bucket's keys, say): the version's digest no longer fits, and loading refuses it."""
    model, x = _sklearn_model()
    c = yard.Client(tracking_uri)
    yard.models.save_model(model, tmp_path / "m1", input_example=x[:5], onnx=False)
    yard.models.save_model(model, tmp_path / "m2", input_example=x[:6], onnx=False)
    first = yard.models.register_model(tmp_path / "m1", "churn", tracking_uri=tracking_uri)
    second = yard.models.register_model(tmp_path / "m2", "churn", tracking_uri=tracking_uri)
    assert yard.models.load("models:/churn/1", tracking_uri=tracking_uri).flavor == "sklearn"
    assert first.model_digest != second.model_digest and second.run_id != first.run_id
    assert second.run_id is not None
    stored = stored_artifact(c, second.run_id, "model/model.yaml")
    stored.write_bytes((tmp_path / "m1" / "model.yaml").read_bytes())
    with pytest.raises(TamperedModel, match="not the one registered"):
        yard.models.load("models:/churn/2", tracking_uri=tracking_uri)


@pytest.mark.parametrize(
    "uri",
    ["models:/", "models:/churn/x", "models:/churn/0", "models:/churn@Bad", "models:/a/b/c"],
)
def test_malformed_model_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        yard.models.load(uri)
    assert caught.value.field == "model_uri"
