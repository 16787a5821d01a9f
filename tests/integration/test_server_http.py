"""The HTTP API as a browser, curl or a hostile client sees it: statuses, envelopes, limits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

import httpx
import pytest
from tests.fixtures.http import error_of
from tests.fixtures.stores import ServerThread

import modelyard as yard
from modelyard.config import Settings
from modelyard.server.app import create_app
from modelyard.tracking.entities import Experiment
from modelyard.tracking.sql_store import SqlTrackingStore


@pytest.fixture
def http(server_factory: Callable[..., ServerThread]) -> Iterator[httpx.Client]:
    srv = server_factory()
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        yield client


def _new_run(http: httpx.Client) -> str:
    rid = "ab" * 16
    resp = http.post(
        "/api/v1/runs/ops",
        json={"ops": [{"op": "create_run", "run_id": rid, "experiment_id": "0", "start_time": 1}]},
    )
    assert resp.status_code == 200, resp.text
    return rid


def test_health_and_openapi(http: httpx.Client) -> None:
    assert http.get("/health").json()["status"] == "ok"
    spec = http.get("/openapi.json").json()
    assert "/api/v1/runs/ops" in spec["paths"] and "/api/v1/experiments" in spec["paths"]
    assert http.get("/docs").status_code == 404  # no page with CDN scripts


def test_cross_origin_text_plain_post_changes_nothing(http: httpx.Client) -> None:
    resp = http.post(
        "/api/v1/experiments", content=b'{"name": "csrf"}', headers={"Content-Type": "text/plain"}
    )
    assert resp.status_code == 415
    assert error_of(resp)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    form = http.post("/api/v1/experiments", data={"name": "csrf"})
    assert form.status_code == 415
    names = [e["name"] for e in http.get("/api/v1/experiments").json()["experiments"]]
    assert "csrf" not in names


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b"", "empty"),
        (b"[1, 2]", "must be a JSON object"),
    ],
)
def test_malformed_bodies(http: httpx.Client, body: bytes, message: str) -> None:
    resp = http.post("/api/v1/runs/ops", content=body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert message in error_of(resp)["message"]


def test_malformed_json_names_the_body_not_a_position(http: httpx.Client) -> None:
    """A route whose body FastAPI parses said field "13" (the offset) for broken JSON."""
    resp = http.post(
        "/api/v1/experiments",
        content=b'{"name": "x",\n "tags": }',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["field"] == "body", err
    assert "not valid JSON at character 23" in err["message"], err


def test_bad_ops_name_the_field_and_write_nothing(http: httpx.Client) -> None:
    rid = _new_run(http)
    resp = http.post(
        "/api/v1/runs/ops",
        json={
            "ops": [
                {"op": "log", "run_id": rid, "metrics": [["ok", 1.0, 1, 0]]},
                {"op": "log", "run_id": rid, "metrics": [["bad", "high", 1, 0]]},
            ]
        },
    )
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["field"] == "ops[1].metrics[0]" and "must be a number" in err["message"]
    assert http.get(f"/api/v1/runs/{rid}").json()["data"]["metrics"] == {}


def test_pydantic_validation_errors_use_the_envelope(http: httpx.Client) -> None:
    resp = http.post("/api/v1/experiments", json={"nome": "typo"})
    assert resp.status_code == 400
    err = error_of(resp)
    assert err["code"] == "INVALID_ARGUMENT" and "name" in err["message"]


def test_unknown_things(http: httpx.Client) -> None:
    assert error_of(http.get("/api/v1/nothing"))["code"] == "NOT_FOUND"
    resp = http.get("/api/v1/runs/" + "c" * 32)
    assert resp.status_code == 404 and "does not exist" in error_of(resp)["message"]
    resp = http.get("/api/v1/experiments/12345")
    assert resp.status_code == 404


def test_oversize_bodies_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = replace(
        Settings.from_env(),
        max_request_bytes=1000,
        max_artifact_bytes=5000,
        artifacts_uri=(tmp_path / "a").as_uri(),
    )
    with (
        ServerThread(f"sqlite:///{tmp_path}/s.db", settings) as srv,
        httpx.Client(base_url=srv.url) as http,
    ):
        big = {"ops": [{"op": "log", "run_id": "a" * 32, "tags": {"t": "x" * 2000}}]}
        resp = http.post("/api/v1/runs/ops", json=big)
        assert resp.status_code == 413 and error_of(resp)["code"] == "PAYLOAD_TOO_LARGE"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'{"ops": ['
            for _ in range(100):
                yield b' {"op": "log", "run_id": "' + b"a" * 32 + b'"},'
            yield b"]}"

        resp = http.post(
            "/api/v1/runs/ops", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 413
        rid = _new_run(http)
        resp = http.put(
            f"/api/v1/runs/{rid}/artifacts",
            params={"path": "big.bin"},
            content=iter([b"x" * 4000, b"x" * 4000]),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert resp.status_code == 413
        listing = http.get(f"/api/v1/runs/{rid}/artifacts").json()
        assert listing["files"] == []  # nothing half-written
        assert not list((tmp_path / "a").rglob("big.bin"))
        assert http.get("/health").status_code == 200


@pytest.mark.parametrize("bad", ["../x", "..%2fx", "%2e%2e/x", "/etc/passwd", "a\\b", "x\x00"])
def test_artifact_path_traversal_over_http(http: httpx.Client, bad: str) -> None:
    rid = _new_run(http)
    up = http.put(
        f"/api/v1/runs/{rid}/artifacts",
        params={"path": bad},
        content=b"data",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert up.status_code == 400 and error_of(up)["field"] == "path"
    down = http.get(f"/api/v1/runs/{rid}/artifacts/content", params={"path": bad})
    assert down.status_code == 400


def test_upload_needs_the_octet_stream_type(http: httpx.Client) -> None:
    rid = _new_run(http)
    resp = http.put(
        f"/api/v1/runs/{rid}/artifacts",
        params={"path": "a.txt"},
        content=b"x",
        headers={"Content-Type": "text/plain"},
    )
    assert resp.status_code == 415


def test_app_builds_without_a_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(f"sqlite:///{tmp_path}/x.db")
    assert callable(app)


def _fails_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's store raises once, as a bug would: the only thing mocked."""
    original = SqlTrackingStore.get_experiment
    calls: list[str] = []

    def get_experiment(self: SqlTrackingStore, experiment_id: str) -> Experiment:
        calls.append(experiment_id)
        if len(calls) == 1:
            raise RuntimeError("a bug in the store")
        return original(self, experiment_id)

    monkeypatch.setattr(SqlTrackingStore, "get_experiment", get_experiment)


def test_a_bug_is_a_500_envelope_and_the_connection_stays_usable(
    server_factory: Callable[..., ServerThread],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 14.13a: after a 500 the server closed the kept-alive connection without saying
    so, and the client's next call on it failed with "cannot reach the modelyard server"."""
    srv = server_factory()
    uvicorn_log = logging.getLogger("uvicorn.error")  # it does not propagate to the root
    uvicorn_log.addHandler(caplog.handler)
    connects: list[str] = []

    def trace(event: str, info: object) -> None:
        if event == "connection.connect_tcp.started":
            connects.append(event)

    try:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            wire = {"trace": trace}
            assert http.get("/api/v1/experiments/0", extensions=wire).status_code == 200
            _fails_once(monkeypatch)
            bad = http.get("/api/v1/experiments/0", extensions=wire)
            assert bad.status_code == 500 and "close" not in bad.headers.get("connection", "")
            assert error_of(bad) == {
                "code": "INTERNAL_ERROR",
                "message": "internal server error; the server log has the details",
            }
            assert http.get("/api/v1/experiments/0", extensions=wire).status_code == 200
        assert len(connects) == 1  # all three on one connection
        # the SDK's client: the call after the 500 succeeds on the same client
        client = yard.Client(srv.url)
        assert client.get_experiment("0").name == "Default"
        _fails_once(monkeypatch)
        with pytest.raises(yard.ModelyardError, match="server log has the details") as caught:
            client.get_experiment("0")
        assert caught.value.code == "INTERNAL_ERROR"
        assert client.get_experiment("0").name == "Default"
        client.close()
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    # one line with its traceback per bug, ours; none from uvicorn
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.getMessage()) for r in logged] == [
        ("modelyard.server", "unexpected error in GET /api/v1/experiments/0")
    ] * 2
    assert all(r.exc_info and "a bug in the store" in str(r.exc_info[1]) for r in logged)
