"""Projects keep their objects to themselves on a server with --auth: a user of one project
cannot read, list, search or change another's experiments, runs, artifacts, models, versions,
aliases, policies or approval requests. A hidden object answers exactly as a missing one does
(404, the same message), and the canary planted in the hidden project never appears in any
answer the outsider gets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from tests.fixtures.auth import AuthServer
from tests.fixtures.logged import saved_model

import modelyard as yard
from modelyard.config import Settings
from modelyard.errors import InvalidArgument
from modelyard.platform import backends

CANARY = "canary-" + os.urandom(6).hex()  # the content: never in any answer she gets
NAME = "hidden-" + os.urandom(6).hex()  # the names: only where her own request said them
API = "/api/v1"


@dataclass
class Planted:
    experiment_id: str
    run_id: str
    model: str
    request_id: str


def _client(srv: AuthServer, token: str, project: str | None) -> yard.Client:
    return yard.Client(srv.url, settings=replace(Settings.from_env(), token=token, project=project))


@pytest.fixture
def planted(auth_server: AuthServer, tmp_path: Path) -> Iterator[Planted]:
    """In project fraud (carol is its admin): an experiment, a run with a param, metric, tag
    and artifact, a model with a version, an alias, a policy and a pending request, each
    holding the canary."""
    root = _client(auth_server, auth_server.seeded.admin, "fraud")
    eid = root.create_experiment(f"{NAME}-exp", tags={"note": CANARY})
    run = root.create_run(eid, run_name=f"{CANARY}-run")
    rid = run.info.run_id
    root.log_param(rid, "secret", CANARY)
    root.log_metric(rid, "auc", 0.9)
    root.set_tag(rid, "note", CANARY)
    (tmp_path / "notes.txt").write_text(CANARY)
    root.flush()
    root.log_artifact(rid, tmp_path / "notes.txt")
    root.log_artifacts(rid, saved_model(), "model")
    model = f"{NAME}-model"
    root.create_registered_model(model, description=CANARY)
    root.create_model_version(model, f"runs:/{rid}/model", description=CANARY)
    root.create_model_version(model, f"runs:/{rid}/model")
    root.set_alias(model, "champion", 1)
    root.set_alias_policy(model, "production")
    req = root.request_approval(model, 2, alias="production", comment=CANARY)
    root.close()
    backends.forget()
    yield Planted(eid, rid, model, req.request_id)


MISSING_RUN = "f" * 32
MISSING_EXPERIMENT = "987654"
MISSING_MODEL = "no-such-model-at-all"


def _reads(p: Planted) -> list[tuple[str, str, str, str]]:
    """(method, path with the hidden id, the same path with a missing one, the id)."""
    e, r, m = p.experiment_id, p.run_id, p.model
    return [
        ("GET", f"{API}/experiments/{e}", f"{API}/experiments/{MISSING_EXPERIMENT}", e),
        ("GET", f"{API}/runs/{r}", f"{API}/runs/{MISSING_RUN}", r),
        ("GET", f"{API}/runs/{r}/metric-history?key=auc", None, r),
        ("GET", f"{API}/runs/{r}/artifacts", None, r),
        ("GET", f"{API}/runs/{r}/artifacts/content?path=notes.txt", None, r),
        ("GET", f"{API}/runs/{r}/artifacts/stat?path=notes.txt", None, r),
        ("GET", f"{API}/registry/models/{m}", f"{API}/registry/models/{MISSING_MODEL}", m),
        ("GET", f"{API}/registry/models/{m}/versions/1", None, m),
        ("GET", f"{API}/registry/models/{m}/version?alias=champion", None, m),
        ("GET", f"{API}/registry/models/{m}/alias-history", None, m),
        ("GET", f"{API}/registry/approvals/{p.request_id}", None, p.request_id),
        ("GET", f"{API}/registry/approvals?name={m}", None, m),
        ("GET", f"{API}/registry/policies?model={m}", None, m),
    ]


def _writes(p: Planted) -> list[tuple[str, str, object]]:
    e, r, m = p.experiment_id, p.run_id, p.model
    return [
        ("PATCH", f"{API}/experiments/{e}", {"name": "taken"}),
        ("DELETE", f"{API}/experiments/{e}", None),
        ("PUT", f"{API}/experiments/{e}/tags", {"key": "k", "value": "v"}),
        ("DELETE", f"{API}/runs/{r}", None),
        (
            "POST",
            f"{API}/runs/ops",
            {"ops": [{"op": "log", "run_id": r, "metrics": [], "params": {"x": "1"}, "tags": {}}]},
        ),
        (
            "POST",
            f"{API}/runs/ops",
            {
                "ops": [
                    {
                        "op": "create_run",
                        "run_id": "a" * 32,
                        "experiment_id": e,
                        "user_id": "alice",
                        "start_time": 1,
                        "tags": {},
                    }
                ]
            },
        ),
        ("PATCH", f"{API}/registry/models/{m}", {"description": "x"}),
        ("DELETE", f"{API}/registry/models/{m}", None),
        ("PUT", f"{API}/registry/models/{m}/tags", {"key": "k", "value": "v"}),
        ("PUT", f"{API}/registry/models/{m}/aliases/staging", {"version": 1}),
        ("DELETE", f"{API}/registry/models/{m}/aliases/champion", None),
        ("PUT", f"{API}/registry/models/{m}/versions/1/tags", {"key": "gate.e", "value": "passed"}),
        ("POST", f"{API}/registry/versions", {"name": m, "source": f"runs:/{r}/model"}),
        ("POST", f"{API}/registry/approvals", {"name": m, "version": 1, "alias": "production"}),
        ("POST", f"{API}/registry/approvals/{p.request_id}/decision", {"decision": "APPROVE"}),
        ("POST", f"{API}/registry/approvals/{p.request_id}/cancel", {}),
        ("PUT", f"{API}/registry/policies", {"model": m, "alias": "staging"}),
    ]


def test_an_outsider_finds_nothing_of_another_project(
    auth_server: AuthServer, planted: Planted
) -> None:
    alice = {"Authorization": f"Bearer {auth_server.seeded.tokens['alice']}"}  # churn only
    seen: list[str] = []
    with httpx.Client(base_url=auth_server.url, headers=alice) as http:
        for method, hidden_path, missing_path, real in _reads(planted):
            for _ in range(2):
                hidden = http.request(method, hidden_path)
                seen.append(hidden.text)
                if "?name=" in hidden_path or "?model=" in hidden_path:
                    assert hidden.status_code == 404, (hidden_path, hidden.text)
                    continue
                assert hidden.status_code == 404, (hidden_path, hidden.text)
                if missing_path is not None:
                    missing = http.request(method, missing_path)
                    fake = missing_path.rsplit("/", 1)[1]
                    assert hidden.text.replace(real, fake) == missing.text, hidden_path
        for method, path, body in _writes(planted):
            got = http.request(method, path, json=body)
            seen.append(got.text)
            # 404 as for a missing object, or 403 before any lookup when she holds the action
            # in no project at all (which says nothing about the object)
            nowhere = got.status_code == 403 and "in no project" in got.text
            assert got.status_code == 404 or nowhere, (method, path, got.text)
        # lists and searches
        for method, path, body in (
            ("GET", f"{API}/experiments?view=all", None),
            ("GET", f"{API}/experiments?name={NAME}-exp", None),
            ("POST", f"{API}/runs/search", {"experiment_ids": [planted.experiment_id]}),
            ("GET", f"{API}/registry/models", None),
            ("GET", f"{API}/registry/models?filter=name LIKE '%25hidden%25'", None),
            ("GET", f"{API}/registry/versions", None),
            ("GET", f"{API}/registry/approvals", None),
            ("GET", f"{API}/registry/policies", None),
        ):
            got = http.request(method, path, json=body)
            seen.append(got.text)
            assert got.status_code in (200, 404), (path, got.text)
            assert NAME not in got.text.replace(path, ""), (path, got.text)
        # making things in the hidden project: it does not exist for her
        for path, body in (
            (f"{API}/experiments", {"name": "mine", "project": "fraud"}),
            (f"{API}/registry/models", {"name": "mine", "project": "fraud"}),
            (f"{API}/registry/models", {"name": "mine", "project": "nonexistent"}),
        ):
            got = http.post(path, json=body)
            assert got.status_code == 404, got.text
            assert "does not exist" in got.json()["error"]["message"]
    everything = "\n".join(seen)
    assert CANARY not in everything


def test_the_projects_own_people_see_it_and_a_viewer_only_reads(
    auth_server: AuthServer, planted: Planted
) -> None:
    store = auth_server.seeded.store
    store.grant("fraud", "bob", "viewer")
    carol = {"Authorization": f"Bearer {auth_server.seeded.tokens['carol']}"}
    bob = {"Authorization": f"Bearer {auth_server.seeded.tokens['bob']}"}
    with httpx.Client(base_url=auth_server.url) as http:
        for who in (carol, bob):
            for method, path, _, _ in _reads(planted):
                got = http.request(method, path, headers=who)
                assert got.status_code == 200, (path, got.text)
            models = http.get(f"{API}/registry/models", headers=who).json()["models"]
            assert [m["name"] for m in models] == [planted.model]
            assert models[0]["project"] == "fraud"
        for method, path, body in _writes(planted):
            got = http.request(method, path, json=body, headers=bob)
            assert got.status_code == 403, (method, path, got.text)
        # the project's admin may change things
        got = http.put(
            f"{API}/registry/models/{planted.model}/tags",
            json={"key": "k", "value": "v"},
            headers=carol,
        )
        assert got.status_code == 200, got.text


def test_a_user_with_one_project_creates_there_and_one_with_two_must_say(
    auth_server: AuthServer,
) -> None:
    store = auth_server.seeded.store
    alice = _client(auth_server, auth_server.seeded.tokens["alice"], None)
    eid = alice.create_experiment("alice-only")
    assert alice.get_experiment(eid).project == "churn"
    assert alice.create_registered_model("alice-model").project == "churn"
    alice.close()
    backends.forget()
    store.grant("fraud", "alice", "editor")
    fresh = store.create_token("both", expires_s=3600, principal="alice").token
    both = _client(auth_server, fresh, None)
    with pytest.raises(InvalidArgument, match=r"say which project.*churn, fraud"):
        both.create_experiment("which-one")
    both.close()
    backends.forget()
    there = _client(auth_server, fresh, "fraud")
    assert there.get_experiment(there.create_experiment("in-fraud")).project == "fraud"
    there.close()


@dataclass
class Elsewhere:
    dataset: str
    version_id: str
    deployment: str
    monitor: str
    request_id: str


@pytest.fixture
def elsewhere(auth_server: AuthServer, planted: Planted) -> Iterator[Elsewhere]:
    """Also in fraud: a dataset version linked to the planted run, a deployment, a monitor,
    a label; each named or holding the canary."""
    import pandas as pd

    from modelyard.data.client import DataClient
    from modelyard.monitoring import Log, Monitor, PerformanceCheck
    from modelyard.monitoring.client import MonitoringClient

    settings = replace(Settings.from_env(), token=auth_server.seeded.admin, project="fraud")
    data = DataClient(auth_server.url, settings=settings)
    frame = pd.DataFrame({"secret": [CANARY, CANARY], "x": [1.0, 2.0]})
    version = data.log_dataset(frame, f"{NAME}-data", description=CANARY, run_id=planted.run_id)
    root = yard.Client(auth_server.url, settings=settings)
    root.create_deployment(f"{NAME}-dep", {f"models:/{planted.model}/1": 100}, description=CANARY)
    root.close()
    watch = MonitoringClient(auth_server.url, settings=settings)
    check = PerformanceCheck("auc", lt=0.9, min_labeled=10)
    watch.save_monitor(Monitor(name=f"{NAME}-mon", model=planted.model, window="1h",
                               checks=[check], alerts=[Log()]))  # fmt: skip
    rid = f"{NAME}-request"
    watch.log_labels({rid: CANARY})
    backends.forget()
    yield Elsewhere(f"{NAME}-data", version.version_id, f"{NAME}-dep", f"{NAME}-mon", rid)


def test_datasets_lineage_deployments_monitors_labels_and_audit_stay_in_their_project(
    auth_server: AuthServer, planted: Planted, elsewhere: Elsewhere
) -> None:
    store = auth_server.seeded.store
    store.grant("churn", "alice", "deployer")
    store.grant("churn", "alice", "admin")  # every action, but only in churn
    token = store.create_token("all", expires_s=3600, principal="alice").token
    alice = {"Authorization": f"Bearer {token}"}
    d, e = elsewhere.dataset, elsewhere
    seen: list[str] = []
    with httpx.Client(base_url=auth_server.url, headers=alice) as http:
        for method, path, body in (
            ("GET", f"{API}/datasets/version?name={d}", None),
            ("GET", f"{API}/datasets/versions?name={d}", None),
            ("PUT", f"{API}/datasets/expectations", {"name": d, "version": 1, "yaml": None}),
            ("DELETE", f"{API}/datasets/version?name={d}&version=1", None),
            ("GET", f"{API}/deployments/{e.deployment}", None),
            ("PATCH", f"{API}/deployments/{e.deployment}", {"description": "x"}),
            ("DELETE", f"{API}/deployments/{e.deployment}", None),
            ("GET", f"{API}/monitors/{e.monitor}", None),
            ("GET", f"{API}/monitors/{e.monitor}/runs", None),
            ("DELETE", f"{API}/monitors/{e.monitor}", None),
            ("POST", f"{API}/monitors/{e.monitor}/claim", {"due": 0, "next_run": 1}),
            (
                "POST",
                f"{API}/monitors/{e.monitor}/runs",
                {"monitor": e.monitor, "status": "passed"},
            ),
        ):
            got = http.request(method, path, json=body)
            seen.append(got.text)
            assert got.status_code == 404, (method, path, got.text)
        for method, path, body in (
            ("GET", f"{API}/datasets", None),
            ("GET", f"{API}/deployments", None),
            ("GET", f"{API}/monitors", None),
            ("GET", f"{API}/alerts", None),
            ("GET", f"{API}/predictions/files", None),
            ("POST", f"{API}/predictions/labels/lookup", {"request_ids": [e.request_id]}),
            ("GET", f"{API}/lineage/edges?type=run&id={planted.run_id}", None),
            ("GET", f"{API}/lineage/edges?type=dataset_version&id={e.version_id}", None),
            ("GET", f"{API}/audit?limit=1000", None),
        ):
            got = http.request(method, path, json=body)
            seen.append(got.text)
            assert got.status_code == 200, (path, got.text)
            assert NAME not in got.text.replace(path, ""), (path, got.text)
        # a label for fraud's request id is refused, and changes nothing there
        got = http.post(f"{API}/predictions/labels", json={"labels": [
            {"request_id": e.request_id, "label": "mine"}]})  # fmt: skip
        assert got.status_code == 409, got.text
        assert NAME in got.text and "another project" in got.text
        lookup = {"request_ids": [e.request_id]}
    # fraud's dataset files: not by their hash either
    carol = {"Authorization": f"Bearer {auth_server.seeded.tokens['carol']}"}
    version = httpx.get(
        f"{auth_server.url}{API}/datasets/version", params={"name": d}, headers=carol
    ).json()
    sha = version["manifest"][0]["sha256"]
    with httpx.Client(base_url=auth_server.url, headers=alice) as http:
        for path in (f"{API}/datasets/blobs/{sha}", f"{API}/datasets/blobs/{sha}/size"):
            got = http.get(path)
            seen.append(got.text)
            assert got.status_code == 404 and "is not stored" in got.text, got.text
            assert "file:" not in got.text  # no path of the server's
        got = http.post(f"{API}/datasets/blobs/missing", json={"digests": [sha]})
        assert got.json()["missing"] == [sha]  # no oracle: to her it is not stored
        forged = http.put(
            f"{API}/datasets/blobs/{sha}",
            params={"size": 5},
            content=b"12345",
            headers={"content-type": "application/octet-stream"},
        )
        assert forged.status_code == 409, forged.text  # claiming it needs its bytes
        assert http.get(f"{API}/datasets/blobs/{sha}").status_code == 404
        # naming the hash in a manifest or as a prediction file does not hand it over either
        size = version["manifest"][0]["size"]
        for claimed in (1, size):
            manifest = [{"path": "x.parquet", "sha256": sha, "size": claimed}]
            got = http.post(f"{API}/datasets/versions", json={
                "name": "alice-copy", "project": "churn", "digest": "0" * 64,
                "format": "files", "manifest": manifest})  # fmt: skip
            assert got.status_code in (400, 409), got.text
            assert str(size) not in got.json()["error"]["message"], got.text
        got = http.post(f"{API}/predictions/files", json={
            "sha256": sha, "size": size, "model": "m", "endpoint": "e", "rows": 1,
            "first_time": 0, "last_time": 1, "project": "churn"})  # fmt: skip
        assert got.status_code == 404 and "not stored" in got.text, got.text
        assert http.get(f"{API}/datasets/blobs/{sha}").status_code == 404
    assert (
        httpx.get(f"{auth_server.url}{API}/datasets/blobs/{sha}", headers=carol).status_code == 200
    )
    assert CANARY not in "\n".join(seen)
    # fraud's own admin still sees fraud's label, untouched
    with httpx.Client(base_url=auth_server.url, headers=carol) as http:
        labels = http.post(f"{API}/predictions/labels/lookup", json=lookup).json()["labels"]
        assert [x["label"] for x in labels] == [CANARY]
        entries = http.get(f"{API}/audit?limit=1000").json()["entries"]
        assert entries and {x["project"] for x in entries} == {"fraud"}
        actions = {x["action"] for x in entries}
        for governance in (
            "model_version.create",
            "alias.set",
            "policy.set",
            "approval.request",
            "dataset_version.create",
            "lineage.link",
            "run.log",
        ):
            assert governance in actions, (governance, sorted(actions))
        edges = http.get(f"{API}/lineage/edges?type=dataset_version&id={e.version_id}").json()
        assert edges["edges"], edges
        assert http.get(f"{API}/audit/verify").status_code == 403  # global admins' only
