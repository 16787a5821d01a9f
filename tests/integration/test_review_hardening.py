"""Holes an independent review found, each pinned by a test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.fixtures.stores import ServerThread, free_port

from modelyard import Client
from modelyard.errors import InvalidArgument
from modelyard.tracking.entities import Metric
from modelyard.tracking.ops import LogBatch
from modelyard.tracking.reproducibility import redact_args
from modelyard.tracking.spool import Spool


def test_lone_surrogates_are_refused_at_the_call(tmp_path: Path) -> None:
    with Client(f"sqlite:///{tmp_path}/s.db") as c:
        rid = c.create_run("0").info.run_id
        with pytest.raises(InvalidArgument, match="lone surrogate"):
            c.log_metric(rid, "bad\ud800key", 1.0)
        with pytest.raises(InvalidArgument, match="lone surrogate"):
            c.set_tag(rid, "t", "value\udfff")
        c.log_metric(rid, "ok", 1.0)
        assert c.get_run(rid).data.metrics == {"ok": 1.0}


def test_a_huge_integer_metric_is_a_clear_error(tmp_path: Path) -> None:
    with Client(f"sqlite:///{tmp_path}/s.db") as c:
        rid = c.create_run("0").info.run_id
        with pytest.raises(InvalidArgument, match="too large"):
            c.log_metric(rid, "m", 10**400)


@pytest.mark.parametrize("bad", ["00", "²", "-1", "1e3", " 1"])
def test_experiment_ids_are_plain_ascii_digits(tmp_path: Path, bad: str) -> None:
    with Client(f"sqlite:///{tmp_path}/s.db") as c:
        if bad == "00":
            with pytest.raises(InvalidArgument, match="Default experiment cannot be deleted"):
                c.delete_experiment(bad)
            assert c.get_experiment("0").lifecycle_stage == "active"
        else:
            with pytest.raises(InvalidArgument, match="experiment_id"):
                c.get_experiment(bad)


@pytest.fixture
def http(server_factory: Callable[..., ServerThread]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_factory().url, timeout=30) as client:
        yield client


def test_server_refuses_client_chosen_artifact_locations(
    http: httpx.Client, tmp_path: Path
) -> None:
    resp = http.post(
        "/api/v1/experiments", json={"name": "x", "artifact_location": str(tmp_path / "elsewhere")}
    )
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "artifact_location"
    assert http.get("/api/v1/experiments", params={"name": "x"}).json()["experiments"] == []


def test_non_string_page_token_is_a_400(http: httpx.Client) -> None:
    resp = http.post("/api/v1/runs/search", json={"experiment_ids": ["0"], "page_token": 5})
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "page_token"


@pytest.mark.parametrize("bad", ["%252e%252e/x", "C:/x", "c:\\x", "a%2Fb", "%5cetc"])
def test_more_traversal_forms_over_http(http: httpx.Client, bad: str) -> None:
    rid = "cd" * 16
    http.post(
        "/api/v1/runs/ops",
        json={"ops": [{"op": "create_run", "run_id": rid, "experiment_id": "0", "start_time": 1}]},
    )
    resp = http.put(
        f"/api/v1/runs/{rid}/artifacts",
        params={"path": bad},
        content=b"x",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 400, resp.text


def test_a_batch_whose_response_was_lost_can_be_sent_again(http: httpx.Client) -> None:
    rid = "ef" * 16
    body = {
        "ops": [
            {"op": "create_run", "run_id": rid, "experiment_id": "0", "start_time": 1},
            {
                "op": "log",
                "run_id": rid,
                "metrics": [["m", 1.5, 10, 0], ["m", 2.5, 11, 1]],
                "params": {"lr": "0.1"},
                "tags": {"t": "a"},
            },
            {"op": "update_run", "run_id": rid, "status": "FINISHED", "end_time": 20},
        ]
    }
    for _ in range(3):  # the client retries after losing the answer: no duplicates, no error
        assert http.post("/api/v1/runs/ops", json=body).status_code == 200
    history = http.get(f"/api/v1/runs/{rid}/metric-history", params={"key": "m"}).json()
    assert history["points"] == [[1.5, 10, 0], [2.5, 11, 1]]
    assert http.get(f"/api/v1/runs/{rid}").json()["info"]["status"] == "FINISHED"


def test_a_hostile_listing_cannot_steer_downloads(tmp_path: Path) -> None:
    """A server (or a man in the middle) lists '../../evil': the client refuses to write it."""
    app = FastAPI()

    @app.get("/api/v1/runs/{run_id}/artifacts")
    def listing(run_id: str) -> dict[str, object]:
        return {
            "files": [{"path": "../../evil.txt", "is_dir": False, "size": 1, "sha256": "0" * 64}]
        }

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        client = Client(f"http://127.0.0.1:{port}")
        with pytest.raises(InvalidArgument, match="evil"):
            client.download_artifacts("ab" * 16, "", tmp_path / "dst")
        client.close()
    finally:
        server.should_exit = True
        thread.join(5)
    assert not list(tmp_path.rglob("evil.txt"))


def test_spool_sets_aside_bad_files_and_delivers_the_rest(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "sqlite:///x")
    good = LogBatch("ab" * 16, [Metric("m", 1.0, 1, 0)])
    first = spool.write([good])
    corrupt = spool.dir / "00000000000000000001-1-00000001.json"
    corrupt.write_text("{not json")
    last = spool.write([good])
    applied: list[object] = []

    def apply(ops: list[object]) -> None:
        applied.extend(ops)

    delivered, rejected = spool.replay(apply)  # type: ignore[arg-type]
    assert delivered == 2 and len(applied) == 2
    assert [p.parent.name for p, _ in rejected] == ["rejected"]
    assert not first.exists() and not last.exists() and spool.files() == []
    again, rejected_again = spool.replay(apply)  # type: ignore[arg-type]
    assert (again, rejected_again) == (0, [])  # a set-aside file does not fail every sync


def test_secret_arguments_are_not_stored() -> None:
    args = ["--lr", "0.1", "--password=hunter2", "--api-key", "abc", "DB_TOKEN=xyz"]
    assert redact_args(args) == [
        "--lr",
        "0.1",
        "--password=***",
        "--api-key",
        "***",
        "DB_TOKEN=***",
    ]
    assert "hunter2" not in json.dumps(redact_args(args))
