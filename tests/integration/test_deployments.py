"""Deployments kept in the store (SDK, HTTP, CLI on every backend), and a server following one
while 16 clients keep sending: new routes swapped in without a failed request, a broken
revision refused while the old routes serve, a deleted deployment kept serving."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from tests.fixtures.http import error_of
from tests.fixtures.logged import log_source, register_broken
from tests.fixtures.serving import Running, oip_row, send_until

import modelyard as yard
from modelyard.cli.main import main
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ServeConfig


def _registry(uri: str) -> yard.Client:
    c = yard.Client(uri)
    c.create_registered_model("churn")
    source, _ = log_source(c)
    for _ in range(3):
        c.create_model_version("churn", source)
    c.set_alias("churn", "champion", 1)
    c.set_alias("churn", "challenger", 2)
    return c


def test_deployments_are_kept_changed_and_audited(tracking_uri: str) -> None:
    c = _registry(tracking_uri)
    made = c.create_deployment(
        "churn-api",
        {"models:/churn@champion": 90, "models:/churn@challenger": 10},
        shadows=["models:/churn/3"],
        sticky_header="X-User-Id",
        description="churn scoring",
    )
    assert made.revision == 1 and made.sticky_header == "x-user-id"
    assert [(r.model_uri, r.weight) for r in made.routes] == [
        ("models:/churn@champion", 90),
        ("models:/churn@challenger", 10),
    ]
    assert c.get_deployment("churn-api") == made
    moved = c.update_deployment("churn-api", routes={"models:/churn@champion": 100})
    assert moved.revision == 2 and moved.shadows == ["models:/churn/3"]
    assert moved.description == "churn scoring" and moved.sticky_header == "x-user-id"
    same = c.update_deployment("churn-api", routes={"models:/churn@champion": 100})
    assert same.revision == 2  # nothing changed: no new revision
    with pytest.raises(yard.Conflict, match="revision 2, not 1"):
        c.update_deployment("churn-api", shadows=[], expected_revision=1)
    cleared = c.update_deployment("churn-api", shadows=[], sticky_header=None, expected_revision=2)
    assert cleared.revision == 3 and cleared.shadows == [] and cleared.sticky_header is None
    assert [d.name for d in c.list_deployments()] == ["churn-api"]
    with pytest.raises(yard.AlreadyExists):
        c.create_deployment("Churn-API", {"models:/churn/1": 1})
    c.delete_deployment("churn-api")
    with pytest.raises(yard.NotFound, match="does not exist"):
        c.get_deployment("churn-api")
    log = c.audit_log(object_type="deployment", object_id="churn-api")
    assert [e.action for e in log] == [
        "deployment.create",
        "deployment.update",
        "deployment.update",
        "deployment.delete",
    ]
    assert log[1].before["routes"][1]["weight"] == 10 and len(log[1].after["routes"]) == 1
    assert c.verify_audit().ok


@pytest.mark.parametrize(
    ("routes", "kwargs", "field", "message"),
    [
        ({"models:/churn/9": 1}, {}, "routes[0].model_uri", "version 9"),
        ({"models:/nope@champion": 1}, {}, "routes[0].model_uri", "nope"),
        ({"models:/churn@gone": 1}, {}, "routes[0].model_uri", "gone"),
        ({"/srv/models/churn": 1}, {}, "routes[0].model_uri", "registered model URI"),
        ({"models:/churn/1": -1}, {}, "routes[0].weight", "from 0"),
        ({"models:/churn/1": 0}, {}, "routes", "above 0"),
        ({"models:/churn/1": 1.5}, {}, "routes[0].weight", "whole number"),
        ({}, {}, "routes", "non-empty"),
        ({"models:/churn/1": 1}, {"shadows": ["runs:/abc/model"]}, "shadows[0]", "registered"),
        ({"models:/churn/1": 1}, {"shadows": ["models:/churn/9"]}, "shadows[0]", "version 9"),
        ({"models:/churn/1": 1}, {"sticky_header": "x user"}, "sticky_header", "header"),
    ],
)
def test_bad_deployments_are_refused_naming_the_field(
    tmp_path: Path,
    routes: dict[str, object],
    kwargs: dict[str, object],
    field: str,
    message: str,
) -> None:
    c = _registry(f"sqlite:///{tmp_path}/yard.db")
    with pytest.raises(yard.ModelyardError, match=message) as caught:
        c.create_deployment("d", routes, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert c.list_deployments() == []  # nothing half-written


def test_deployments_over_http(
    server_factory: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_ROLES", "deployer=ops")
    srv = server_factory()  # type: ignore[operator]
    monkeypatch.setenv("MODELYARD_USER", "ops")
    _registry(srv.url)
    with httpx.Client(base_url=srv.url) as http:
        ops = {"x-modelyard-user": "ops"}
        body = {"name": "api", "routes": [{"model_uri": "models:/churn/1", "weight": 1}]}
        assert http.post(D, json=body, headers=ops).status_code == 201
        refused = http.post(D, json={**body, "name": "b"}, headers={"x-modelyard-user": "eve"})
        assert refused.status_code == 403 and "deployer" in error_of(refused)["message"]
        typo = http.post(D, json={**body, "name": "c", "shadow": []}, headers=ops)
        assert typo.status_code == 400 and error_of(typo)["field"] == "shadow"
        bad = http.patch(f"{D}/api", json={"routes": [], "colour": 1}, headers=ops)
        assert bad.status_code == 400 and error_of(bad)["field"] == "colour"
        bad = http.patch(
            f"{D}/api", json={"routes": [{"model_uri": "models:/churn/1"}]}, headers=ops
        )
        assert bad.status_code == 400 and error_of(bad)["field"] == "routes[0].weight"
        assert "Traceback" not in bad.text
        ok = http.patch(
            f"{D}/api", json={"routes": [{"model_uri": "models:/churn/2", "weight": 5}]}
        )
        assert ok.status_code == 403  # no user header: the server's default user, no role
        ok = http.patch(
            f"{D}/api",
            json={"routes": [{"model_uri": "models:/churn/2", "weight": 5}]},
            headers=ops,
        )
        assert ok.json()["revision"] == 2 and ok.json()["updated_by"] == "ops"
        assert http.get(f"{D}/nope").status_code == 404
        assert http.get(D).json()["deployments"][0]["name"] == "api"


def test_deployments_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    _registry(uri)
    t = ["-t", uri]
    create = ["deployments", "create", "churn-api", "--route", "models:/churn@champion=90"]
    create += ["--route", "models:/churn@challenger=10", "--shadow", "models:/churn/3"]
    assert main([*create, *t]) == 0
    shown = capsys.readouterr().out
    assert "90.0%" in shown and "shadow" in shown and "revision 1" in shown
    update = ["deployments", "update", "churn-api", "--route", "models:/churn@champion=100"]
    assert main([*update, "--no-shadows", *t]) == 0
    assert "revision 2" in capsys.readouterr().out
    assert main(["deployments", "show", "churn-api", "--json", *t]) == 0
    assert '"revision": 2' in capsys.readouterr().out
    assert main(["deployments", "history", "churn-api", *t]) == 0
    assert "create" in capsys.readouterr().out
    assert main(["deployments", "update", "churn-api", "--route", "models:/churn/1", *t]) == 2
    assert "URI=WEIGHT" in capsys.readouterr().err
    assert main(["deployments", "show", "nope", *t]) == 3
    assert main(["deployments", "delete", "churn-api", *t]) == 0
    assert main(["deployments", "list", "--json", *t]) == 0
    assert capsys.readouterr().out.strip().endswith("[]")


D = "/api/v1/deployments"
COLUMNS = ["age", "income", "score", "tenure"]


def test_a_server_follows_its_deployment_under_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 300),
            "income": rng.normal(50, 10, 300),
            "score": rng.random(300),
            "tenure": rng.normal(size=300),
        }
    )
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    y = (frame.score > 0.5).astype(int)
    for target in (y, 1 - y):
        model = RandomForestClassifier(n_estimators=10, random_state=0).fit(frame, target)
        with yard.start_run():
            yard.models.log_model(
                model, "model", input_example=frame.head(20), registered_model_name="churn"
            )
    c = yard.Client()
    c.create_deployment("churn-api", {"models:/churn/1": 100})
    app = ServingApp(ServeConfig(deployment="churn-api", tracking_uri=uri, watch_s=0.2))
    follower = app.follower
    assert follower is not None and follower.revision == 1
    running = Running(app)
    body = oip_row(frame[COLUMNS])
    stop = threading.Event()

    def client(_: int) -> list[tuple[int, str]]:
        return send_until(running.url, "/v2/models/churn-api/infer", body, stop)

    def wait_for(check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 20
        while not check():
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    try:
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            pending = [pool.submit(client, i) for i in range(16)]
            time.sleep(0.5)
            c.update_deployment("churn-api", routes={"models:/churn/1": 50, "models:/churn/2": 50})
            wait_for(lambda: follower.revision == 2, "revision 2 was not served")
            time.sleep(0.5)
            c.update_deployment("churn-api", routes={"models:/churn/2": 1})
            wait_for(lambda: follower.revision == 3, "revision 3 was not served")
            time.sleep(0.3)
            # a broken version: its registered digest does not match the files
            assert register_broken(c, "churn", 2, tmp_path / "v3") == 3
            c.update_deployment("churn-api", routes={"models:/churn/3": 1})
            wait_for(lambda: follower.error is not None, "revision 4 was not tried")
            time.sleep(0.3)
            stop.set()
            results = [r for f in pending for r in f.result()]
        assert {s for s, _ in results} == {200}  # zero failed requests
        versions = [v for _, v in results]
        assert {"1", "2"} <= set(versions) and "3" not in versions
        assert versions[-1] == "2"
        with httpx.Client(base_url=running.url) as http:
            ready = http.get("/v2/health/ready").json()
            assert "revision 4 failed to load; still serving revision 3" in ready["warnings"][0]
            assert http.get("/v2/models/churn-api").json()["versions"] == ["2"]
            assert 'modelyard_deployment_revision{deployment="churn-api"} 3.0' in (
                http.get("/metrics").text
            )
            c.delete_deployment("churn-api")
            wait_for(lambda: "deleted" in (follower.error or ""), "the delete was not seen")
            got = http.post("/v2/models/churn-api/infer", json=body)
            assert got.status_code == 200 and got.json()["model_version"] == "2"
            # made again under the same name: revision 1 again, and followed
            c.create_deployment("churn-api", {"models:/churn/1": 1})
            wait_for(lambda: follower.error is None, "the new deployment was not followed")
            got = http.post("/v2/models/churn-api/infer", json=body)
            assert got.json()["model_version"] == "1" and follower.revision == 1
        assert sorted(app.fleet.models) == ["churn-api.route3"]  # the others were retired
    finally:
        stop.set()
        running.stop()


def test_route_changes_while_aliases_are_watched(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A deployment whose routes are aliases, moved from one alias to the other and back
    while requests flow and the aliases are watched: a route retired while the swapper is
    looking at it is no error. No request fails; the log says each revision and nothing else
    (issue 14: ``KeyError: 'churn-api.route0'`` with a traceback)."""
    uri = f"sqlite:///{tmp_path}/yard.db"
    c = _registry(uri)
    c.create_deployment("churn-api", {"models:/churn@champion": 1})
    app = ServingApp(ServeConfig(deployment="churn-api", tracking_uri=uri, watch_s=0.01))
    follower = app.follower
    assert follower is not None
    running = Running(app)
    frame = pd.DataFrame({"a": [0.2], "b": [0.7]})
    stop = threading.Event()
    caplog.set_level("INFO", logger="modelyard")
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            path = "/v2/models/churn-api/infer"
            pending = [
                pool.submit(send_until, running.url, path, oip_row(frame), stop) for _ in range(4)
            ]
            for revision in range(2, 14):
                alias = "challenger" if revision % 2 == 0 else "champion"
                c.update_deployment("churn-api", routes={f"models:/churn@{alias}": 1})
                deadline = time.monotonic() + 20
                while follower.revision != revision:
                    assert time.monotonic() < deadline, f"revision {revision} was not served"
                    time.sleep(0.01)
            stop.set()
            results = [r for f in pending for r in f.result()]
    finally:
        stop.set()
        running.stop()
    assert results and {s for s, _ in results} == {200}
    assert {v for _, v in results} == {"1", "2"}
    lines = [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING], lines
    assert sum("deployment churn-api: now serving revision" in m for m in lines) == 12, lines
    assert sorted(app.fleet.models) == ["churn-api.route12"]
    assert sorted(app.fleet.swapper.watched) == ["churn-api.route12"]
