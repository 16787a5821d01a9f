"""Webhooks belong to a project on a server with --auth: its admins create, list, delete and
read the deliveries of its webhooks, which hear only that project's models; a webhook on every
project ('*') is a global admin's. To anyone else a project's webhook does not exist: lists
leave it out and reading or deleting it answers exactly as for a missing one (404). With
authentication off nothing changes: the admin role of MODELYARD_ROLES, and a webhook that
names no project hears every project."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from tests.fixtures.auth import PASSWORD, AuthServer
from tests.fixtures.logged import saved_model

import modelyard as yard
from modelyard.cli.main import main
from modelyard.config import Settings
from modelyard.errors import NotFound, PermissionDenied
from modelyard.platform import backends

HOOKS = "/api/v1/registry/webhooks"
A, B = "fraud", "churn"  # carol is fraud's admin; bea churn's (and a viewer of fraud)
A_MODEL, B_MODEL = "fraud-model", "churn-model"
MISSING_ID = "0" * 32


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, object]]] = []  # (path, body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class World:
    url: str  # the server's
    receiver: str  # a loopback receiver's base URL
    received: list[tuple[str, dict[str, object]]]
    tokens: dict[str, str]  # who -> token
    srv: AuthServer

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def client(self, who: str, project: str | None = None) -> yard.Client:
        settings = replace(Settings.from_env(), token=self.tokens[who], project=project)
        return yard.Client(self.url, settings=settings)


def _model_with_a_version(root: yard.Client, name: str) -> None:
    eid = root.create_experiment(f"{name}-exp")
    run = root.create_run(eid)
    root.flush()
    root.log_artifacts(run.info.run_id, saved_model(), "model")
    root.create_registered_model(name)
    root.create_model_version(name, f"runs:/{run.info.run_id}/model")


@pytest.fixture
def world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A server with --auth that may post to loopback; fraud and churn each hold a model with
    one version; carol admin of fraud, bea admin of churn and viewer of fraud, erin editor,
    vic viewer and dan deployer of fraud."""
    monkeypatch.setenv("MODELYARD_ALLOW_PRIVATE_WEBHOOKS", "true")
    srv: AuthServer = request.getfixturevalue("auth_server")
    store = srv.seeded.store
    for name in ("bea", "erin", "vic", "dan"):
        store.create_user(name, password=PASSWORD)
    for name, project, role in (
        ("bea", B, "admin"),
        ("bea", A, "viewer"),
        ("erin", A, "editor"),
        ("vic", A, "viewer"),
        ("dan", A, "deployer"),
    ):
        store.grant(project, name, role)
    tokens = {"root": srv.seeded.admin, "carol": srv.seeded.tokens["carol"]}
    for name in ("bea", "erin", "vic", "dan"):
        tokens[name] = store.create_token("t", expires_s=3600, principal=name).token
    for project, model in ((A, A_MODEL), (B, B_MODEL)):
        settings = replace(Settings.from_env(), token=srv.seeded.admin, project=project)
        root = yard.Client(srv.url, settings=settings)
        _model_with_a_version(root, model)
        root.close()
    backends.forget()
    handler = type("Receiver", (_Receiver,), {"received": []})
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    yield World(srv.url, base, handler.received, tokens, srv)
    receiver.shutdown()
    backends.forget()


def _create(
    http: httpx.Client, w: World, who: str, project: str | None, model: str | None = None
) -> httpx.Response:
    body = {"url": f"{w.receiver}/{who}", "events": ["alias.moved"], "model": model}
    if project is not None:
        body["project"] = project
    return http.post(HOOKS, json=body, headers=w.headers(who))


def _message(got: httpx.Response) -> str:
    return str(got.json()["error"]["message"])


# (who, project asked, model filter, status, project of the webhook made or in the message)
CREATES = [
    ("carol", A, None, 201, A),  # a project's admin, in it
    ("carol", A, A_MODEL, 201, A),  # on a model of it
    ("carol", None, None, 201, A),  # her only admin project
    ("carol", B, None, 404, "project 'churn' does not exist"),  # a project hidden from her
    ("carol", "nope", None, 404, "project 'nope' does not exist"),
    ("carol", "*", None, 403, "needs a global admin"),
    ("carol", A, B_MODEL, 404, f"registered model {B_MODEL!r} does not exist"),  # hidden
    ("carol", A, "no-such-model", 404, "registered model 'no-such-model' does not exist"),
    ("bea", A, None, 403, "webhook.write in project 'fraud' needs the 'admin' role"),  # viewer
    ("bea", B, A_MODEL, 400, "is in project 'fraud'"),  # a model she sees, of another project
    ("bea", B, B_MODEL, 201, B),
    ("erin", A, None, 403, "webhook.write"),  # editor
    ("vic", A, None, 403, "webhook.write"),  # viewer
    ("dan", A, None, 403, "webhook.write"),  # deployer
    ("erin", None, None, 403, "holds it in no project"),
    ("root", "*", None, 201, None),  # a global admin's global webhook
    ("root", B, None, 201, B),
    ("root", None, None, 201, "default"),  # a new object's project: default for him
]


@pytest.mark.parametrize(
    ("who", "project", "model", "status", "expected"),
    CREATES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CREATES],
)
def test_who_may_create_a_webhook_and_where(
    world: World, who: str, project: str | None, model: str | None, status: int, expected: str
) -> None:
    with httpx.Client(base_url=world.url) as http:
        got = _create(http, world, who, project, model)
        assert got.status_code == status, got.text
        if status != 201:
            assert expected in _message(got), got.text
            return
        made = got.json()
        assert made["project"] == expected and len(made["secret"]) == 64
        assert made["model"] == (None if model is None else model.lower())
        listed = http.get(HOOKS, headers=world.headers(who)).json()["webhooks"]
        assert [(h["webhook_id"], h["project"]) for h in listed] == [(made["webhook_id"], expected)]


def test_a_hidden_model_answers_as_a_missing_one(world: World) -> None:
    with httpx.Client(base_url=world.url) as http:
        for _ in range(2):
            hidden = _create(http, world, "carol", A, B_MODEL)
            missing = _create(http, world, "carol", A, "no-such-model")
            assert hidden.status_code == missing.status_code == 404
            assert hidden.text.replace(B_MODEL, "no-such-model") == missing.text


def _delivered(world: World, path: str, n: int) -> list[dict[str, object]]:
    """The bodies the receiver got at ``path``, once it got ``n`` (the server's dispatcher
    sends every second)."""
    deadline = time.monotonic() + 20
    while True:
        got = [body for at, body in list(world.received) if at == path]
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_a_projects_webhook_hears_only_that_projects_models(world: World) -> None:
    carol, bea, root = world.client("carol", A), world.client("bea", B), world.client("root")
    events = ["alias.moved", "model_version.created"]
    mine = carol.create_webhook(f"{world.receiver}/fraud", events)
    one = carol.create_webhook(f"{world.receiver}/fraud-model", events, model=A_MODEL)
    theirs = bea.create_webhook(f"{world.receiver}/churn", events)
    everywhere = root.create_webhook(f"{world.receiver}/every", events, project="*")
    assert (mine.project, one.project, theirs.project, everywhere.project) == (A, A, B, None)
    root.set_alias(B_MODEL, "champion", 1)  # in churn
    root.set_alias(A_MODEL, "champion", 1)  # in fraud
    root.set_alias(A_MODEL, "staging", 1)
    for _ in range(2):
        assert [d.event for d in carol.webhook_deliveries(mine.webhook_id)] == ["alias.moved"] * 2
        assert len(carol.webhook_deliveries(one.webhook_id)) == 2
        assert len(bea.webhook_deliveries(theirs.webhook_id)) == 1
        assert len(root.webhook_deliveries(everywhere.webhook_id)) == 3
    assert {(b["model"], b["project"]) for b in _delivered(world, "/fraud", 2)} == {(A_MODEL, A)}
    assert [b["model"] for b in _delivered(world, "/churn", 1)] == [B_MODEL]
    heard = _delivered(world, "/every", 3)
    assert sorted((str(b["model"]), str(b["project"])) for b in heard) == [
        (B_MODEL, B),
        (A_MODEL, A),
        (A_MODEL, A),
    ]
    time.sleep(1.5)  # a dispatcher pass more: still nothing of churn's at fraud's receiver
    assert all(b["project"] == A for at, b in world.received if at.startswith("/fraud"))
    for c in (carol, bea, root):
        c.close()


def test_each_admin_lists_and_manages_only_their_projects_webhooks(world: World) -> None:
    with httpx.Client(base_url=world.url) as http:
        made = {
            who: _create(http, world, who, project).json()["webhook_id"]
            for who, project in (("carol", A), ("bea", B), ("root", "*"))
        }
        seen = {}
        for who in ("carol", "bea", "root"):
            for _ in range(2):
                listed = http.get(HOOKS, headers=world.headers(who))
                assert listed.status_code == 200, listed.text
                seen[who] = [h["webhook_id"] for h in listed.json()["webhooks"]]
                assert all(h["secret"] is None for h in listed.json()["webhooks"])
        assert seen == {"carol": [made["carol"]], "bea": [made["bea"]], "root": list(made.values())}
        assert http.get(HOOKS, headers=world.headers("vic")).status_code == 403  # admins' only
        # another project's webhook, or a global one, is as missing as a made-up id
        for who, other in (("carol", "bea"), ("carol", "root"), ("bea", "carol")):
            hidden_id = made[other]
            for method, suffix in (("GET", "/deliveries"), ("DELETE", "")):
                for _ in range(2):
                    hidden = http.request(
                        method, f"{HOOKS}/{hidden_id}{suffix}", headers=world.headers(who)
                    )
                    missing = http.request(
                        method, f"{HOOKS}/{MISSING_ID}{suffix}", headers=world.headers(who)
                    )
                    assert hidden.status_code == missing.status_code == 404, hidden.text
                    assert hidden.text.replace(hidden_id, MISSING_ID) == missing.text
        # nothing was deleted by the refusals; each admin deletes their own
        assert len(http.get(HOOKS, headers=world.headers("root")).json()["webhooks"]) == 3
        gone = http.delete(f"{HOOKS}/{made['carol']}", headers=world.headers("carol"))
        assert gone.status_code == 200, gone.text
        again = http.delete(f"{HOOKS}/{made['carol']}", headers=world.headers("carol"))
        assert again.status_code == 404
        assert http.get(HOOKS, headers=world.headers("carol")).json()["webhooks"] == []
        # a global admin manages every project's
        gone = http.delete(f"{HOOKS}/{made['bea']}", headers=world.headers("root"))
        assert gone.status_code == 200, gone.text


def test_the_sdk_answers_the_same(world: World) -> None:
    carol, root = world.client("carol"), world.client("root", B)
    theirs = root.create_webhook(f"{world.receiver}/x", ["alias.moved"])  # MODELYARD_PROJECT
    assert theirs.project == B
    with pytest.raises(PermissionDenied, match="needs a global admin"):
        carol.create_webhook(f"{world.receiver}/x", ["alias.moved"], project="*")
    with pytest.raises(NotFound, match="project 'churn' does not exist"):
        carol.create_webhook(f"{world.receiver}/x", ["alias.moved"], project=B)
    for call in (carol.delete_webhook, carol.webhook_deliveries):
        with pytest.raises(NotFound, match=f"webhook {theirs.webhook_id} does not exist"):
            call(theirs.webhook_id)
    assert carol.list_webhooks() == []
    carol.close()
    root.close()


def test_webhook_audit_entries_carry_their_project(world: World) -> None:
    with httpx.Client(base_url=world.url) as http:
        ids = {
            who: _create(http, world, who, project).json()["webhook_id"]
            for who, project in (("carol", A), ("bea", B), ("root", "*"))
        }
        http.delete(f"{HOOKS}/{ids['carol']}", headers=world.headers("carol"))
        for _ in range(2):
            entries = http.get(
                "/api/v1/audit", params={"object_type": "webhook"}, headers=world.headers("carol")
            ).json()["entries"]
            assert [(e["action"], e["object_id"], e["project"]) for e in entries] == [
                ("webhook.create", ids["carol"], A),
                ("webhook.delete", ids["carol"], A),
            ]
        everything = http.get(
            "/api/v1/audit", params={"object_type": "webhook"}, headers=world.headers("root")
        ).json()["entries"]
    assert {(e["object_id"], e["project"]) for e in everything} == {
        (ids["carol"], A),
        (ids["bea"], B),
        (ids["root"], None),
    }


def test_the_cli_takes_a_project_or_global(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODELYARD_TOKEN", world.tokens["root"])
    add = ["models", "webhooks", "add", f"{world.receiver}/cli", "--event", "alias.moved"]
    assert main([*add, "--project", A, "--json", "-t", world.url]) == 0
    assert json.loads(capsys.readouterr().out)["project"] == A
    assert main([*add, "--global", "--json", "-t", world.url]) == 0
    assert json.loads(capsys.readouterr().out)["project"] is None
    assert main([*add, "--global", "--project", A, "-t", world.url]) != 0
    assert "not both" in capsys.readouterr().err
    assert main(["models", "webhooks", "list", "--json", "-t", world.url]) == 0
    assert [w["project"] for w in json.loads(capsys.readouterr().out)] == [A, None]


def test_without_auth_a_webhook_that_names_no_project_hears_every_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_ROLES", "admin=alice")
    monkeypatch.setenv("MODELYARD_ALLOW_PRIVATE_WEBHOOKS", "true")
    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", (tmp_path / "artifacts").as_uri())
    uri = f"sqlite:///{tmp_path}/yard.db"

    def as_user(user: str, project: str | None = None) -> yard.Client:
        settings = replace(Settings.from_env(), user=user, project=project)
        return yard.Client(uri, settings=settings)

    alice = as_user("alice")
    every = alice.create_webhook("http://127.0.0.1:9/every", ["alias.moved"])
    one = alice.create_webhook("http://127.0.0.1:9/x", ["alias.moved"], project="x")
    assert (every.project, one.project) == (None, "x")
    with pytest.raises(PermissionDenied, match="'admin' role"):
        as_user("bob").create_webhook("http://127.0.0.1:9/b", ["alias.moved"], project="x")
    with pytest.raises(PermissionDenied, match="listing webhooks"):
        as_user("bob").list_webhooks()
    for project in ("x", "y"):
        c = as_user("alice", project)
        _model_with_a_version(c, f"m-{project}")
        c.set_alias(f"m-{project}", "champion", 1)
    assert len(alice.webhook_deliveries(every.webhook_id)) == 2
    assert len(alice.webhook_deliveries(one.webhook_id)) == 1
    assert {w.webhook_id for w in alice.list_webhooks()} == {every.webhook_id, one.webhook_id}
