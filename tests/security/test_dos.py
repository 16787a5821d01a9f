"""Unbounded answers and slow bodies: a long metric history comes a page at a time (bounded
answers, the SDK still gets every point), and a request body that trickles or stalls is
answered 408 within the body deadline, on the tracking server and the inference server, which
stay healthy for everyone else.
"""

from __future__ import annotations

import itertools
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from tests.fixtures.http import error_of
from tests.fixtures.serving import Running
from tests.fixtures.stores import ServerThread

import modelyard as yard
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ModelSource, ServeConfig
from modelyard.tracking.entities import Metric
from modelyard.tracking.store import HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX

POINTS = 1_000_000
DEADLINE_S = 1.0


def _fill(db: Path, run_id: str, key: str, n: int) -> None:
    """``n`` points of ``key`` written straight into the server's SQLite file (logging them
    through the API would take minutes; the reads are what is tested)."""
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO metrics (run_uuid, key, step, timestamp, value, is_nan) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            ((run_id, key, i, 1_700_000_000_000 + i, i * 0.001) for i in range(n)),
        )


@pytest.fixture
def long_history(
    server_factory: Callable[..., ServerThread], tmp_path: Path
) -> tuple[ServerThread, str]:
    srv = server_factory()
    client = yard.Client(srv.url)
    run_id = client.create_run("0").info.run_id
    client.flush()
    _fill(tmp_path / "server.db", run_id, "loss", POINTS)
    return srv, run_id


def test_a_million_points_come_in_bounded_pages_and_the_sdk_reads_them_all(
    long_history: tuple[ServerThread, str],
) -> None:
    srv, run_id = long_history
    url = f"{srv.url}/api/v1/runs/{run_id}/metric-history"
    first = httpx.get(url, params={"key": "loss"}, timeout=30)
    assert first.status_code == 200
    body = first.json()
    assert len(body["points"]) == HISTORY_PAGE_DEFAULT and body["next_page_token"]
    assert len(first.content) < 1 << 20  # was 29 MiB in one answer
    biggest = httpx.get(url, params={"key": "loss", "max_results": HISTORY_PAGE_MAX}, timeout=30)
    assert len(biggest.json()["points"]) == HISTORY_PAGE_MAX
    assert len(biggest.content) < 2 << 20
    second = httpx.get(
        url, params={"key": "loss", "page_token": body["next_page_token"]}, timeout=30
    ).json()
    assert second["points"][0][2] == HISTORY_PAGE_DEFAULT  # the next step, none skipped

    history = yard.Client(srv.url).get_metric_history(run_id, "loss")
    assert len(history) == POINTS
    assert [m.step for m in history[:3]] == [0, 1, 2] and history[-1].step == POINTS - 1
    assert all(a.step + 1 == b.step for a, b in itertools.pairwise(history))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"max_results": HISTORY_PAGE_MAX + 1}, "max_results"),
        ({"max_results": 0}, "max_results"),
        ({"max_results": -5}, "max_results"),
        ({"max_results": "many"}, "max_results"),
        ({"max_results": 10**30}, "max_results"),
        ({"page_token": "not-a-token"}, "page_token"),
        ({"page_token": "x" * 600}, "page_token"),
        ({"page_token": "eyJvZmZzZXQiOi0xLCJxdWVyeSI6IngifQ"}, "page_token"),  # offset -1
    ],
)
def test_bad_page_requests_get_a_400_naming_the_field(
    server_factory: Callable[..., ServerThread], params: dict[str, object], field: str
) -> None:
    srv = server_factory()
    client = yard.Client(srv.url)
    run_id = client.create_run("0").info.run_id
    client.log_metric(run_id, "loss", 1.0)
    client.flush()
    resp = httpx.get(
        f"{srv.url}/api/v1/runs/{run_id}/metric-history", params={"key": "loss", **params}
    )
    assert resp.status_code == 400, resp.text
    assert error_of(resp)["field"] == field


def test_a_page_token_fits_only_its_own_metric(tmp_path: Path) -> None:
    client = yard.Client(f"sqlite:///{tmp_path}/yard.db")
    run_id = client.create_run("0").info.run_id
    for key in ("a", "b"):
        client.log_batch(run_id, metrics=[Metric(key, float(i), 0, i) for i in range(30)])
    client.flush()
    store = client.tracking._store
    page = store.get_metric_history_page(run_id, "a", 10)
    assert page.next_page_token
    with pytest.raises(yard.errors.InvalidArgument) as err:
        store.get_metric_history_page(run_id, "b", 10, page.next_page_token)
    assert err.value.field == "page_token"


@pytest.mark.parametrize(("n", "size"), [(0, 5), (1, 1), (10, 10), (11, 10), (1001, 100)])
def test_pages_cover_every_point_once(tmp_path: Path, n: int, size: int) -> None:
    client = yard.Client(f"sqlite:///{tmp_path}/yard.db")
    run_id = client.create_run("0").info.run_id
    if n:
        client.log_batch(run_id, metrics=[Metric("m", float(i), 0, i) for i in range(n)])
    client.flush()
    steps: list[int] = []
    token = None
    pages = 0
    while True:
        page = client.tracking._store.get_metric_history_page(run_id, "m", size, token)
        assert len(page.metrics) <= size
        steps += [m.step for m in page.metrics]
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert steps == list(range(n))
    assert pages == max(1, -(-n // size))


# --- slow bodies ----------------------------------------------------------------------------


def _request_head(path: str, length: int | None, ctype: str, method: str = "POST") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
    head += f"Content-Length: {length}\r\n" if length is not None else ""
    head += "Transfer-Encoding: chunked\r\n" if length is None else ""
    return (head + "\r\n").encode()


def _answer(sock: socket.socket, limit_s: float) -> tuple[bytes, bool]:
    """What the server sent, and whether it then closed the connection, within ``limit_s``."""
    sock.settimeout(limit_s)
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except TimeoutError:
        return got, False
    except ConnectionResetError:
        return got, True
    return got, True


def _trickle(
    sock: socket.socket, pieces: list[bytes], every_s: float, stop: threading.Event
) -> None:
    for piece in pieces:
        if stop.wait(every_s):
            return
        try:
            sock.sendall(piece)
        except OSError:
            return


SlowBody = tuple[str, str, str, int | None, list[bytes], float]

# (name, method, ctype, declared length (None: chunked), pieces sent slowly, seconds apart)
SLOW_BODIES: list[SlowBody] = [
    ("one-byte-at-a-time", "POST", "application/json", 1000, [b"{"] + [b" "] * 200, 0.2),
    ("stalled-before-any-byte", "POST", "application/json", 100, [], 0.0),
    ("stalled-half-way", "POST", "application/json", 100, [b'{"experiment_ids": ['], 0.0),
    ("chunked-trickle", "POST", "application/json", None, [b"1\r\n \r\n"] * 200, 0.2),
    ("upload-trickle", "PUT", "application/octet-stream", 10_000, [b"x"] * 200, 0.2),
]
IDS = [s[0] for s in SLOW_BODIES]


def _slow_request(url: str, path: str, body: SlowBody) -> tuple[bytes, bool, float]:
    _, method, ctype, length, pieces, every = body
    port = int(url.rsplit(":", 1)[1])
    stop = threading.Event()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        t0 = time.monotonic()
        sock.sendall(_request_head(path, length, ctype, method))
        sender = threading.Thread(target=_trickle, args=(sock, pieces, every, stop), daemon=True)
        sender.start()
        got, closed = _answer(sock, DEADLINE_S + 5)
        elapsed = time.monotonic() - t0
        stop.set()
        sender.join(timeout=2)
    return got, closed, elapsed


def _check_408(got: bytes, closed: bool, elapsed: float) -> None:
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    assert b"REQUEST_TIMEOUT" in got or b"did not arrive" in got
    assert b"Traceback" not in got
    assert closed, "the connection was left open"
    assert DEADLINE_S * 0.9 <= elapsed < DEADLINE_S + 3, elapsed


@pytest.fixture
def quick_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELYARD_BODY_TIMEOUT_SECONDS", str(DEADLINE_S))


@pytest.mark.parametrize("body", SLOW_BODIES, ids=IDS)
def test_a_slow_body_gets_408_from_the_tracking_server(
    quick_deadline: None, server_factory: Callable[..., ServerThread], body: SlowBody
) -> None:
    srv = server_factory()
    path = "/api/v1/runs/search"
    if body[1] == "PUT":
        run_id = yard.Client(srv.url).create_run("0").info.run_id
        path = f"/api/v1/runs/{run_id}/artifacts?path=slow.bin"
    got, closed, elapsed = _slow_request(srv.url, path, body)
    _check_408(got, closed, elapsed)
    assert error_of(_http_body(got))["code"] == "REQUEST_TIMEOUT"
    assert httpx.get(f"{srv.url}/health").status_code == 200


def test_many_slow_clients_do_not_keep_others_out(
    quick_deadline: None, server_factory: Callable[..., ServerThread]
) -> None:
    srv = server_factory()
    results: list[tuple[bytes, bool, float]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                _slow_request(srv.url, "/api/v1/runs/search", SLOW_BODIES[0])
            )
        )
        for _ in range(24)
    ]
    for thread in threads:
        thread.start()
    time.sleep(DEADLINE_S / 2)
    t0 = time.monotonic()
    assert httpx.post(f"{srv.url}/api/v1/runs/search", json={}).status_code == 200
    assert time.monotonic() - t0 < DEADLINE_S  # answered while the slow ones trickle
    for thread in threads:
        thread.join(timeout=DEADLINE_S + 10)
    assert len(results) == 24 and all(r[0].startswith(b"HTTP/1.1 408") for r in results)
    assert httpx.get(f"{srv.url}/health").status_code == 200


def test_a_body_that_keeps_coming_at_a_healthy_rate_is_not_cut(
    quick_deadline: None, server_factory: Callable[..., ServerThread]
) -> None:
    """An upload taking twice the deadline, at 2.5 MiB/s, is served: only trickles are cut."""
    srv = server_factory()
    run_id = yard.Client(srv.url).create_run("0").info.run_id

    def steady() -> Iterator[bytes]:
        for _ in range(40):
            time.sleep(DEADLINE_S / 20)
            yield b"y" * (128 << 10)

    t0 = time.monotonic()
    resp = httpx.put(
        f"{srv.url}/api/v1/runs/{run_id}/artifacts",
        params={"path": "big.bin"},
        content=steady(),
        headers={"content-type": "application/octet-stream"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["size"] == 40 * (128 << 10)
    assert time.monotonic() - t0 > DEADLINE_S * 1.5


def _http_body(raw: bytes) -> httpx.Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return httpx.Response(status, content=body)


@pytest.fixture
def inference_server(tmp_path: Path) -> Iterator[Running]:
    from tests.fixtures.pymodels import Sleeper

    yard.models.save_model(Sleeper(), tmp_path / "m", input_example=pd.DataFrame({"x": [0.0]}))
    config = ServeConfig([ModelSource(str(tmp_path / "m"))], body_timeout_s=DEADLINE_S)
    running = Running(ServingApp(config))
    yield running
    running.stop()


@pytest.mark.parametrize("body", [b for b in SLOW_BODIES if b[1] == "POST"], ids=IDS[:4])
def test_a_slow_body_gets_408_from_the_inference_server(
    inference_server: Running, body: SlowBody
) -> None:
    got, closed, elapsed = _slow_request(inference_server.url, "/invocations", body)
    _check_408(got, closed, elapsed)
    assert httpx.get(f"{inference_server.url}/v2/health/ready").status_code == 200
    fast = httpx.post(
        f"{inference_server.url}/invocations", json={"dataframe_records": [{"x": 0.0}]}
    )
    assert fast.status_code == 200


def test_alert_lists_are_bounded(
    tmp_path: Path, server_factory: Callable[..., ServerThread]
) -> None:
    """Alerts are one per fingerprint, but a noisy store can hold many: one answer holds at
    most ``limit`` (1,000 by default, 10,000 at most), the most recently seen first."""
    from modelyard.monitoring.client import MonitoringClient
    from modelyard.monitoring.monitors.alerting import AlertState

    server = server_factory()
    client = MonitoringClient(server.url)
    alerts = [
        AlertState(f"m:c{i}", "m", f"c{i}", "warning", "open", i, i, i, 1, "drifted")
        for i in range(1_205)
    ]
    for start in range(0, len(alerts), 1_000):
        client.store.put_alerts(alerts[start : start + 1_000])
    for _ in range(2):
        found = client.alerts()
        assert len(found) == 1_000 and found[0].fingerprint == "m:c1204"
    assert [a.fingerprint for a in client.alerts(limit=3)] == ["m:c1204", "m:c1203", "m:c1202"]
    assert len(client.alerts(limit=10_000)) == 1_205
    with httpx.Client() as http:
        for bad in ("0", "10001", "-1", "x", "99999999999999999999"):
            r = http.get(f"{server.url}/api/v1/alerts", params={"limit": bad})
            assert r.status_code in (400, 422), (bad, r.status_code)
    embedded = MonitoringClient(f"sqlite:///{tmp_path}/yard.db")
    with pytest.raises(yard.InvalidArgument, match="limit") as caught:
        embedded.alerts(limit=10_001)
    assert caught.value.field == "limit"


def _drip(scheme: str, context: Any = None) -> tuple[Any, float]:
    """POST to a receiver that answers one byte every 0.3 s (over TLS with ``context``):
    the outcome and how long the call took, with a 1 s timeout."""
    import ssl

    from modelyard.outbound.post import post

    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n" + b"x" * 40
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        raw, _ = server.accept()
        try:
            conn = context.wrap_socket(raw, server_side=True) if context else raw
        except (OSError, ssl.SSLError):
            return
        with conn:
            conn.recv(65_536)
            for byte in answer:
                if stop.wait(0.3):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        outcome = post(
            f"{scheme}://127.0.0.1:{port}/hook", b"{}", {}, timeout=1.0, allow_private=True
        )
    finally:
        stop.set()
        server.close()
    return outcome, time.monotonic() - started


def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_deadline() -> None:
    """A webhook target answering one byte a second would hold the one dispatcher thread for
    as long as it liked if the timeout bounded each read; it bounds the whole call."""
    outcome, elapsed = _drip("http")
    assert not outcome.ok and "within 1 s" in (outcome.error or ""), outcome
    assert elapsed < 2.5, elapsed  # each byte came well within the per-read timeout


def test_an_https_receiver_that_drips_is_cut_off_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the cold review: the watchdog held the plain socket, which TLS had replaced,
    so an HTTPS target dripping its answer held the call for 30 s against a 3 s timeout."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    outcome, elapsed = _drip("https", context)
    assert not outcome.ok and "within 1 s" in (outcome.error or ""), outcome
    assert elapsed < 2.5, elapsed


def test_version_numbers_beyond_the_column_are_a_400(server_factory: Callable[..., Any]) -> None:
    """Found by the cold review: 2**63 in the path was a 500 (the driver overflowed)."""
    url = server_factory().url + "/api/v1/registry/models/churn/versions"
    with httpx.Client() as http:
        for number in ("9223372036854775808", "2147483648", "0", "-1", "99999999999999999999999"):
            for method, path in (
                ("GET", f"/{number}"),
                ("DELETE", f"/{number}"),
                ("POST", f"/{number}/restore"),
                ("DELETE", f"/{number}/tags/k"),
            ):
                r = http.request(method, url + path, headers={"Content-Type": "application/json"})
                assert r.status_code == 400, (method, path, r.status_code, r.text)
                assert "Traceback" not in r.text


@pytest.mark.parametrize("path", ["/api/v1/experiments", "/api/v1/registry/models"])
def test_a_slow_body_on_a_route_fastapi_reads_is_a_408_too(
    quick_deadline: None, server_factory: Callable[..., ServerThread], path: str
) -> None:
    """Found by the cold review: where FastAPI parses the body itself, the deadline came
    back as its generic 400 "There was an error parsing the body"."""
    srv = server_factory()
    got, closed, elapsed = _slow_request(srv.url, path, SLOW_BODIES[0])
    _check_408(got, closed, elapsed)
    assert error_of(_http_body(got))["code"] == "REQUEST_TIMEOUT"
    broken = httpx.post(
        srv.url + path, content=b'{"name": "x",', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and error_of(broken)["field"] == "body"
