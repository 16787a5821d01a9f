"""Governance: alias policies, approvals by role, gates, the hash-chained audit log (and its
tamper detection), webhooks (signed, retried, SSRF-checked), model cards, and the CLI."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests.fixtures.logged import log_source

import modelyard as yard
from modelyard.cli.main import main
from modelyard.config import Settings
from modelyard.errors import Conflict, InvalidArgument, PermissionDenied
from modelyard.registry import webhooks as hooks
from modelyard.store.database import Database

ROLES = "approver=bob,carol;admin=alice"


@pytest.fixture(params=["sqlite", "postgres", "server"])
def uri(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh store whose configuration gives bob and carol the approver role."""
    monkeypatch.setenv("MODELYARD_ROLES", ROLES)
    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", (tmp_path / "artifacts").as_uri())
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/yard.db"
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_store_url"))
    return str(request.getfixturevalue("server_factory")().url)


def as_user(uri: str, user: str) -> yard.Client:
    return yard.Client(uri, settings=replace(Settings.from_env(), user=user))


def _versions(c: yard.Client, n: int) -> None:
    source, _ = log_source(c)
    for _ in range(n):
        c.create_model_version("churn", source)


def test_a_governed_alias_moves_only_through_an_approval(uri: str) -> None:
    alice, bob, carol = (as_user(uri, u) for u in ("alice", "bob", "carol"))
    _versions(alice, 2)
    with pytest.raises(PermissionDenied, match="admin"):
        bob.set_alias_policy("churn", "production")
    alice.set_alias_policy("*", "production")
    alice.set_alias("churn", "staging", 1)  # ungoverned aliases move freely
    with pytest.raises(PermissionDenied, match="governed by a policy"):
        alice.set_alias("churn", "production", 2)
    req = alice.request_approval("churn", 2, alias="production", comment="beats v1")
    assert req.status == "PENDING" and req.requested_by == "alice"
    with pytest.raises(PermissionDenied, match="'approver' role"):
        alice.approve(req.request_id)
    done = bob.approve(req.request_id, "looks good")
    assert done.status == "APPROVED" and [v.actor for v in done.votes] == ["bob"]
    assert carol.get_version("churn", alias="production").version == 2
    event = carol.get_alias_history("churn", "production")[-1]
    assert (event.version, event.actor, event.request_id) == (2, "bob", req.request_id)
    with pytest.raises(Conflict, match="no longer pending"):
        carol.approve(req.request_id)
    with pytest.raises(PermissionDenied, match="needs the 'approver' role"):
        alice.delete_alias("churn", "production")


def test_self_approval_two_approvers_rejection_and_gates(uri: str) -> None:
    alice, bob, carol = (as_user(uri, u) for u in ("alice", "bob", "carol"))
    _versions(alice, 2)
    alice.set_alias_policy("churn", "production", min_approvals=2, required_gates=["eval"])
    req = bob.request_approval("churn", 1, alias="production")
    with pytest.raises(PermissionDenied, match="forbids self-approval"):
        bob.approve(req.request_id)
    with pytest.raises(Conflict, match=r"gate.*eval"):
        carol.approve(req.request_id)
    with pytest.raises(PermissionDenied, match="'gatekeeper' role"):
        carol.set_model_version_tag("churn", 1, "gate.eval", "passed")  # approvers cannot
    alice.set_model_version_tag("churn", 1, "gate.eval", "passed")  # pass their own gates
    assert carol.approve(req.request_id).status == "PENDING"  # one of two approvals
    with pytest.raises(Conflict, match="already decided"):
        carol.approve(req.request_id)
    alice.set_alias_policy("churn", "production", min_approvals=2, allow_self_approval=True)
    assert bob.approve(req.request_id).status == "APPROVED"
    assert alice.get_version("churn", alias="production").version == 1
    second = alice.request_approval("churn", 2, alias="production")
    rejected = carol.reject(second.request_id, "drift on segment B")
    assert rejected.status == "REJECTED"
    assert alice.get_version("churn", alias="production").version == 1
    pending = alice.list_approval_requests("churn", status="REJECTED")
    assert [r.request_id for r in pending] == [second.request_id]
    third = alice.request_approval("churn", 2, alias="staging")
    alice.delete_registered_model("churn")
    with pytest.raises(Conflict, match="was deleted"):
        carol.approve(third.request_id)
    alice.restore_registered_model("churn")
    alice.set_model_version_tag("churn", 2, "team/owner#1", "x")  # '/' and '#' in a tag key
    alice.delete_model_version_tag("churn", 2, "team/owner#1")
    assert "team/owner#1" not in alice.get_version("churn", 2).tags


def test_every_mutation_is_audited_and_the_chain_verifies(uri: str) -> None:
    alice, bob = as_user(uri, "alice"), as_user(uri, "bob")
    _versions(alice, 1)
    alice.set_alias("churn", "champion", 1)
    bob.set_model_version_tag("churn", 1, "validated", "true")
    import pandas as pd

    from modelyard.data.client import DataClient

    dana = DataClient(uri, settings=replace(Settings.from_env(), user="dana"))
    dana.log_dataset(pd.DataFrame({"x": [1, 2]}), name="events")  # a data client acts as its
    assert [e.actor for e in alice.audit_log(action="dataset_version.")] == ["dana"]  # own user too
    entries = alice.audit_log(limit=1000)
    actions = [(e.action, e.actor) for e in entries]
    assert ("run.create", "alice") in actions
    assert ("model_version.create", "alice") in actions
    assert ("alias.set", "alice") in actions
    assert ("model_version.set_tag", "bob") in actions
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    moved = alice.audit_log(action="alias.", object_id="churn")
    assert moved[0].after == {"alias": "champion", "version": 1, "request_id": None}
    check = alice.verify_audit()
    assert check.ok and check.entries == len(entries)


def _tamper(db: Database, statement: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.text(statement))


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "entry 2 .* was changed"),
        ("DELETE FROM audit_log WHERE seq = 2", "entries 2..2 are missing"),
        ("UPDATE audit_log SET seq = 99 WHERE seq = 3", "out of order|missing|does not follow"),
        ("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)", "head records"),
    ],
)
def test_audit_verify_names_a_changed_removed_or_reordered_entry(
    tmp_path: Path, statement: str, problem: str
) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    c = as_user(uri, "alice")
    _versions(c, 2)
    c.set_alias("churn", "champion", 2)
    assert main(["audit", "verify", "-t", uri]) == 0
    _tamper(Database(uri), statement)
    check = c.verify_audit()
    assert not check.ok
    assert any(__import__("re").search(problem, p) for p in check.problems), check.problems
    assert main(["audit", "verify", "-t", uri]) == 1


class _Receiver(http.server.BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[dict[str, str], bytes]] = []
    delay = 0.0

    def do_POST(self) -> None:
        time.sleep(type(self).delay)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "http://169.254.169.254/latest/meta-data")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"answers": [], "received": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()


def test_webhooks_are_signed_retried_and_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    monkeypatch.setenv("MODELYARD_ROLES", ROLES)
    uri = f"sqlite:///{tmp_path}/yard.db"
    c = as_user(uri, "alice")
    with pytest.raises(PermissionDenied, match="non-public address"):
        c.create_webhook(url, ["model_version.created"])
    monkeypatch.setenv("MODELYARD_ALLOW_PRIVATE_WEBHOOKS", "true")
    from modelyard.platform import backends

    backends.forget()  # the next client reads the changed configuration
    c = as_user(uri, "alice")
    hook = c.create_webhook(url, ["model_version.created", "alias.moved"], model="churn")
    assert hook.secret and len(hook.secret) == 64
    assert c.list_webhooks()[0].secret is None  # shown once
    with pytest.raises(PermissionDenied, match="listing webhooks"):
        as_user(uri, "bob").list_webhooks()  # addresses are for admins
    handler.answers = [500]  # the first attempt fails, the retry succeeds
    monkeypatch.setattr(hooks, "BASE_DELAY_MS", 0)
    _versions(c, 1)  # delivered in the background; deliver_webhooks drives any retry
    log = _settled(c, hook.webhook_id)
    assert [(d.status, d.attempts, d.last_status_code) for d in log] == [("DELIVERED", 2, 200)]
    headers, body = handler.received[-1]
    stamp = headers["X-Modelyard-Timestamp"]
    mac = hmac.new(hook.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Modelyard-Signature"] == "sha256=" + mac.hexdigest()
    assert b'"event":"model_version.created"' in body and b'"version":1' in body
    handler.answers = [302] * hooks.MAX_ATTEMPTS  # a redirect to the metadata service
    c.set_alias("churn", "champion", 1)
    newest = _settled(c, hook.webhook_id)[0]
    assert (newest.status, newest.attempts) == ("FAILED", hooks.MAX_ATTEMPTS)
    assert "redirects are not followed" in (newest.last_error or "")
    assert len(handler.received) == 2 + hooks.MAX_ATTEMPTS  # never the redirect target


def test_two_dispatchers_never_send_one_delivery_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: tuple[str, type[_Receiver]]
) -> None:
    """Two servers on one database: a slow receiver makes a pass outlast a claim window; a
    delivery must still go out once (each is claimed just before it is sent)."""
    url, handler = receiver
    monkeypatch.setenv("MODELYARD_ALLOW_PRIVATE_WEBHOOKS", "true")
    monkeypatch.setattr(hooks, "CLAIM_MS", 2000)
    handler.delay = 0.3
    uri = f"sqlite:///{tmp_path}/yard.db"
    c = as_user(uri, "alice")
    hook = c.create_webhook(url, ["model_version.created"])
    _versions(c, 10)  # 10 deliveries: 3 s of sending, longer than one claim
    db = Database(uri)
    try:
        servers = [hooks.Dispatcher(db, allow_private=True, timeout=0.5) for _ in range(2)]
        threads = [threading.Thread(target=d.run_once) for d in servers]
        for t in threads:
            t.start()
            time.sleep(0.4)
        for t in threads:
            t.join()
    finally:
        db.dispose()
    log = _settled(c, hook.webhook_id)
    assert [d.status for d in log] == ["DELIVERED"] * 10
    sent = [headers["X-Modelyard-Delivery"] for headers, _ in handler.received]
    assert sorted(sent) == sorted(d.delivery_id for d in log)  # each exactly once
    assert hooks.Dispatcher(db, allow_private=True, timeout=30).claim_ms() > 60_000


def _settled(c: yard.Client, webhook_id: str) -> list:  # type: ignore[type-arg]
    """Deliveries once none is pending (retries driven by deliver_webhooks)."""
    deadline = time.monotonic() + 20
    while True:
        log = c.webhook_deliveries(webhook_id)
        if all(d.status != "PENDING" for d in log) or time.monotonic() > deadline:
            return log
        c.deliver_webhooks()
        time.sleep(0.05)


def test_the_address_is_checked_when_connecting() -> None:
    outcome = hooks.post("http://localhost:9/x", b"{}", {}, timeout=2, allow_private=False)
    assert not outcome.ok and "non-public address" in (outcome.error or "")
    for address in (
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "100.100.100.200",  # CGNAT range: a cloud metadata service
        "2002:a00:1::",  # 6to4 wrapping 10.0.0.1
    ):
        assert not hooks._public(address), address
    for url in ("http://h:99999/x", "http://h/caf\u00e9", "ftp://h/x", "http://u:p@h/"):
        with pytest.raises(InvalidArgument):
            hooks.check_url(url)
    assert hooks._public("93.184.216.34")


def test_model_card_draws_on_runs_datasets_and_approvals(tmp_path: Path) -> None:
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    frame = pd.DataFrame({"tenure": [1.0, 5, 9, None] * 10, "churned": [0, 1, 0, 1] * 10})
    with yard.start_run(run_name="train-churn"):
        yard.data.log_dataset(frame, name="churn-train", context="training")
        yard.log_params({"C": "0.5"})
        yard.log_metric("auc", 0.91)
        x = frame[["tenure"]].fillna(0)
        model = LogisticRegression().fit(x, frame["churned"])
        yard.models.log_model(model, input_example=x[:5], registered_model_name="churn")
    c = yard.Client(uri)
    c.set_model_card("churn", intended_use="Rank <b>customers</b> for outreach.")
    c.set_model_card("churn", 1, limitations="Trained on 40 rows.", notes="draft")
    c.set_model_card("churn", 1, notes="")  # removes one section, keeps the others
    req = c.request_approval("churn", 1, alias="production", comment="first model")
    c.approve(req.request_id)  # single-user mode: no roles configured, no policy
    card = c.model_card("churn", 1)
    text = card.to_markdown()
    for expected in (
        "# Model card: churn version 1",
        "Rank <b>customers</b> for outreach.",
        "Trained on 40 rows.",
        "| C | 0.5 |",
        "| auc | 0.91 |",
        "dataset:churn-train@1 (training, 40 rows)",
        "| 25.00% |",  # the missing rate of tenure, from the profile
        "| production | APPROVED | ",
        "_not written yet_",  # ethical considerations, and the removed notes
    ):
        assert expected in text, expected
    page = card.to_html()
    assert "Rank &lt;b&gt;customers&lt;/b&gt;" in page and "<b>customers" not in page
    assert (
        main(["models", "card", "churn", "-t", uri, "--html", "-o", str(tmp_path / "c.html")]) == 0
    )
    assert (tmp_path / "c.html").read_text() == page


def test_cli_registry_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    c = as_user(uri, "alice")
    source, _ = log_source(c)
    assert main(["models", "register", "churn", source, "-t", uri, "--tag", "team=risk"]) == 0
    assert main(["models", "register", "churn", source, "-t", uri]) == 0
    assert main(["models", "alias", "churn", "champion", "2", "-t", uri]) == 0
    capsys.readouterr()
    assert main(["models", "alias", "churn", "champion", "-t", uri]) == 0
    assert "version 2" in capsys.readouterr().out
    assert main(["models", "alias", "churn", "Bad Alias", "1", "-t", uri]) == 2
    assert main(["models", "alias", "churn", "champion", "9", "-t", uri]) == 3
    assert main(["models", "versions", "-f", "tags.team = 'risk'", "--json", "-t", uri]) == 0
    assert '"version": 1' in capsys.readouterr().out
    assert main(["models", "request", "churn", "1", "--alias", "production", "-t", uri]) == 0
    request_id = capsys.readouterr().out.split()[1].rstrip(":")
    assert main(["models", "approve", request_id, "-t", uri]) == 0
    assert main(["models", "alias", "churn", "production", "--history", "--json", "-t", uri]) == 0
    assert request_id in capsys.readouterr().out
    assert main(["models", "audit", "churn", "--json", "-t", uri]) == 0
    assert "alias.set" in capsys.readouterr().out
    assert main(["models", "delete", "churn", "-v", "2", "-t", uri]) == 4  # holds champion


def test_http_errors_name_the_field(tmp_path: Path, server_factory) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory()
    base = srv.url + "/api/v1/registry"
    with httpx.Client() as http:
        r = http.post(f"{base}/versions", json={"source": "runs:/x/model"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "name"
        r = http.get(f"{base}/models/nope/versions/1")
        assert r.status_code == 404 and "nope" in r.json()["error"]["message"]
        r = http.put(f"{base}/models/churn/aliases/BAD", json={"version": 1})
        assert r.status_code == 400 and r.json()["error"]["field"] == "alias"
        r = http.get(f"{base}/models", headers={"X-Modelyard-User": "a\tb"})
        assert r.status_code == 400 and "control characters" in r.json()["error"]["message"]
        two = [("X-Modelyard-User", "bob"), ("X-Modelyard-User", "alice")]
        r = http.get(f"{base}/models", headers=two)
        assert r.status_code == 400 and "sent once" in r.json()["error"]["message"]
        r = http.post(
            f"{base}/versions",
            json={"name": "m", "source": "runs:/x/m", "model_digest": "../" * 21 + "x"},
        )
        assert r.status_code == 400 and r.json()["error"]["field"] == "model_digest"
        for bad in ({"kind": "columns", "inputs": ["x"]}, {"kind": "graph"}, ["x"]):
            draft = {"name": "m", "source": "runs:/x/m", "signature": bad}
            r = http.post(f"{base}/versions", json=draft)  # a card could not render it
            assert r.status_code == 400 and r.json()["error"]["field"] == "signature", bad
        r = http.get(srv.url + "/api/v1/audit/verify")
        assert r.status_code == 200 and r.json()["ok"] is True
        r = http.post(f"{base}/models", json={"name": "kept", "description": "keep me"})
        assert r.status_code == 201
        r = http.patch(f"{base}/models/kept", json={})  # an empty PATCH clears nothing
        assert r.status_code == 400 and r.json()["error"]["field"] == "description"
        assert http.get(f"{base}/models/kept").json()["description"] == "keep me"
        policy = {"model": "kept", "alias": "production", "min_approvals": 0}
        r = http.put(f"{base}/policies", json=policy)  # 0 is refused, not read as 1
        assert r.status_code == 400 and r.json()["error"]["field"] == "min_approvals"
        for query in (
            "models?max_results=99999999999999999999",
            "models/kept/version?alias=a&at=-1",
            "versions?max_results=0",
        ):
            r = http.get(f"{base}/{query}")  # not a driver overflow (500)
            assert r.status_code in (400, 422), (query, r.status_code)
        r = http.get(srv.url + "/api/v1/audit?since=99999999999999999999")
        assert 400 <= r.status_code < 500
