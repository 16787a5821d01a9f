"""API tokens through the SDK and the HTTP API of a server with --auth: the SDK sends
MODELYARD_TOKEN (or the login it saved), a run belongs to the token's principal whatever the
client claims, and a token can neither mint a wider one nor reach what its scopes exclude."""

from __future__ import annotations

import os
import stat

import httpx
import pytest
from tests.fixtures.auth import AuthServer

from modelyard import Client
from modelyard.auth.credentials import forget_token, save_token
from modelyard.config import credentials_file, saved_token
from modelyard.platform import backends


def test_the_sdk_acts_as_its_tokens_principal(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_USER", "root")  # a claim the server no longer believes
    monkeypatch.setenv("MODELYARD_TOKEN", auth_server.seeded.tokens["alice"])
    for _ in range(2):
        with Client(auth_server.url) as c:
            eid = c.create_experiment(f"alice-{os.urandom(3).hex()}")
            run = c.create_run(eid)
            c.set_terminated(run.info.run_id)
            assert c.get_run(run.info.run_id).info.user_id == "alice"
        backends.forget()


def test_without_a_token_the_sdk_is_refused_with_a_clear_error(
    auth_server: AuthServer,
) -> None:
    from modelyard.errors import Unauthenticated

    with Client(auth_server.url) as c, pytest.raises(Unauthenticated, match="MODELYARD_TOKEN"):
        c.search_experiments()


def test_a_saved_login_is_used_and_a_loose_file_is_not(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):
        save_token(auth_server.url + "/", auth_server.seeded.tokens["bob"], "bob", None)
    path = credentials_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert saved_token(auth_server.url) == auth_server.seeded.tokens["bob"]
    with Client(auth_server.url) as c:
        assert c.search_experiments() is not None
    backends.forget()
    path.chmod(0o644)  # readable by others: not trusted
    assert saved_token(auth_server.url) is None
    path.chmod(0o600)
    assert forget_token(auth_server.url) == auth_server.seeded.tokens["bob"]
    assert saved_token(auth_server.url) is None


def _post(srv: AuthServer, token: str, path: str, body: object) -> httpx.Response:
    return httpx.post(srv.url + path, json=body, headers={"Authorization": f"Bearer {token}"})


def test_tokens_never_mint_wider_tokens_over_http(auth_server: AuthServer) -> None:
    alice = auth_server.seeded.tokens["alice"]  # editor in churn
    scoped = _post(
        auth_server,
        alice,
        "/api/v1/tokens",
        {"name": "r", "expires": "1h", "scopes": [{"project": "churn", "role": "viewer"}]},
    )
    assert scoped.status_code == 201, scoped.text
    narrow = scoped.json()["token"]
    for body in (
        {"name": "w", "expires": "1h"},
        {"name": "w", "expires": "1h", "scopes": [{"project": "churn", "role": "editor"}]},
        {"name": "w", "expires": "1h", "scopes": [{"project": "fraud", "role": "viewer"}]},
        {"name": "w", "expires": "1h", "principal": "root"},
        {"name": "w", "expires": "1h", "principal": "bob"},
    ):
        got = _post(auth_server, narrow, "/api/v1/tokens", body)
        assert got.status_code in (400, 403, 404), (body, got.text)
    for body, field in (
        ({"name": "w"}, "expires"),
        ({"name": "w", "expires": "10y"}, "expires"),
        ({"name": "w", "expires": "1h", "scopes": "churn"}, "scopes"),
        (
            {"name": "w", "expires": "1h", "scopes": [{"project": "Churn!", "role": "viewer"}]},
            "scopes.project",
        ),
        ({"name": "", "expires": "1h"}, "name"),
    ):
        got = _post(auth_server, alice, "/api/v1/tokens", body)
        assert got.status_code == 400 and got.json()["error"]["field"] == field, got.text
    whoami = httpx.get(
        auth_server.url + "/api/v1/auth/whoami", headers={"Authorization": f"Bearer {narrow}"}
    ).json()
    assert whoami["roles"] == {"churn": ["viewer"]} and whoami["bindings"] == {"churn": ["editor"]}


def test_a_project_admin_cannot_act_as_someone_elses_service_account(
    auth_server: AuthServer,
) -> None:
    """carol, fraud's admin, may give root's service account a role in fraud, but never
    make a token for it: acting as it would let her file requests that count as root's."""
    store = auth_server.seeded.store
    store.create_service_account("root-bot", owner="root")
    carol = auth_server.seeded.tokens["carol"]
    granted = _post(
        auth_server, carol, "/api/v1/projects/fraud/members", {"principal": "root-bot",
                                                                "role": "editor"},
    )  # fmt: skip
    assert granted.status_code == 200, granted.text
    for scopes in ([{"project": "fraud", "role": "editor"}], None):
        body: dict[str, object] = {"name": "hijack", "expires": "1h", "principal": "root-bot"}
        if scopes is not None:
            body["scopes"] = scopes
        got = _post(auth_server, carol, "/api/v1/tokens", body)
        assert got.status_code == 403, got.text
        assert "owner of a service account" in got.text


def test_a_service_accounts_tokens_stop_with_its_owner(auth_server: AuthServer) -> None:
    store = auth_server.seeded.store
    store.create_service_account("alice-bot", owner="alice")
    store.grant("churn", "alice-bot", "viewer")
    token = store.create_token("ci", expires_s=3600, principal="alice-bot").token
    bearer = {"Authorization": f"Bearer {token}"}
    admin = {"Authorization": f"Bearer {auth_server.seeded.admin}"}
    with httpx.Client(base_url=auth_server.url) as http:
        assert http.get("/api/v1/auth/whoami", headers=bearer).status_code == 200
        assert http.post("/api/v1/users/alice/disable", json={}, headers=admin).status_code == 200
        for _ in range(2):
            got = http.get("/api/v1/auth/whoami", headers=bearer)
            assert got.status_code == 401 and "owner" in got.text, got.text
        assert http.post("/api/v1/users/alice/enable", json={}, headers=admin).status_code == 200
        assert http.get("/api/v1/auth/whoami", headers=bearer).status_code == 200


def test_members_are_for_admins_and_the_last_admins_stay(auth_server: AuthServer) -> None:
    alice = {"Authorization": f"Bearer {auth_server.seeded.tokens['alice']}"}  # churn editor
    carol = {"Authorization": f"Bearer {auth_server.seeded.tokens['carol']}"}  # fraud admin
    admin = {"Authorization": f"Bearer {auth_server.seeded.admin}"}
    with httpx.Client(base_url=auth_server.url) as http:
        assert http.get("/api/v1/projects/churn/members", headers=alice).status_code == 403
        assert http.get("/api/v1/projects/fraud/members", headers=alice).status_code == 404
        assert http.get("/api/v1/projects/fraud/members", headers=carol).status_code == 200
        last = http.delete("/api/v1/projects/fraud/members/carol/admin", headers=carol)
        assert last.status_code == 409 and "last admin" in last.text
        root = http.post("/api/v1/users/root/disable", json={}, headers=admin)
        assert root.status_code == 409 and "last global admin" in root.text
        assert http.get("/api/v1/auth/whoami", headers=admin).status_code == 200


def test_a_dataset_version_is_made_by_the_tokens_principal(
    auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    from modelyard.data.client import DataClient

    monkeypatch.setenv("MODELYARD_USER", "root")  # a claim the server does not believe
    monkeypatch.setenv("MODELYARD_TOKEN", auth_server.seeded.tokens["alice"])
    data = DataClient(auth_server.url)
    made = data.log_dataset(pd.DataFrame({"x": [1, 2]}), "alice-data")
    assert made.created_by == "alice"
    assert data.get("alice-data").created_by == "alice"
    backends.forget()


def test_names_are_not_for_guessing(auth_server: AuthServer) -> None:
    alice = {"Authorization": f"Bearer {auth_server.seeded.tokens['alice']}"}
    admin = {"Authorization": f"Bearer {auth_server.seeded.admin}"}
    with httpx.Client(base_url=auth_server.url) as http:
        known = http.get("/api/v1/tokens", params={"principal": "bob"}, headers=alice)
        unknown = http.get("/api/v1/tokens", params={"principal": "nosuch"}, headers=alice)
        assert known.status_code == unknown.status_code == 403
        assert known.text.replace("bob", "nosuch") == unknown.text
        assert http.get(
            "/api/v1/tokens", params={"principal": "nosuch"}, headers=admin
        ).status_code == 404  # fmt: skip
        made = http.post(
            "/api/v1/experiments", json={"name": "fraud-secret", "project": "fraud"}, headers=admin
        )
        assert made.status_code == 201, made.text
        clash = http.post(
            "/api/v1/experiments", json={"name": "fraud-secret", "project": "churn"}, headers=alice
        )
        assert clash.status_code == 409 and "is taken" in clash.text, clash.text


def test_nobody_but_a_global_admin_grants_themselves_a_role(auth_server: AuthServer) -> None:
    carol = auth_server.seeded.tokens["carol"]  # admin of fraud
    for role in ("approver", "viewer", "admin"):
        got = _post(auth_server, carol, "/api/v1/projects/fraud/members",
                    {"principal": "carol", "role": role})  # fmt: skip
        if role == "admin":  # held already: granting again changes nothing
            assert got.status_code == 200, got.text
            continue
        assert got.status_code == 403 and "yourself" in got.text, got.text
    # a colleague she may grant
    for _ in range(2):
        ok = _post(auth_server, carol, "/api/v1/projects/fraud/members",
                   {"principal": "bob", "role": "viewer"})  # fmt: skip
        assert ok.status_code == 200, ok.text
    root = _post(auth_server, auth_server.seeded.admin, "/api/v1/projects/fraud/members",
                 {"principal": "root", "role": "approver"})  # fmt: skip
    assert root.status_code == 200, root.text
