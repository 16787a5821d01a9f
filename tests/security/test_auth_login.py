"""A server with --auth, as an attacker tries it: anonymous calls, a spoofed X-Modelyard-User,
malformed and borrowed credentials, CSRF with a session cookie (other origins, text/plain and
form posts, no token), session fixation, login brute force (limited per address, locked per
name, audited) and user enumeration through messages; and as a user uses it: log in, change
a one-time password, act, log out."""

from __future__ import annotations

import httpx
import pytest
from tests.fixtures.auth import PASSWORD, AuthServer

from modelyard.identity import acting_as
from modelyard.store import audit

LOGIN = "/api/v1/auth/login"
NEEDS_AUTH = [
    ("GET", "/api/v1/experiments", None),
    ("POST", "/api/v1/experiments", {"name": "x"}),
    ("POST", "/api/v1/runs/ops", {"ops": []}),
    ("GET", "/api/v1/registry/models", None),
    ("DELETE", "/api/v1/registry/models/m", None),
    ("GET", "/api/v1/audit", None),
    ("GET", "/api/v1/datasets", None),
    ("GET", "/api/v1/users", None),
    ("POST", "/api/v1/tokens", {"name": "t", "expires": "1d"}),
    ("GET", "/api/v1/auth/whoami", None),
    ("GET", "/api/v1/no-such-route", None),
]


def call(
    srv: AuthServer, method: str, path: str, body: object = None, **headers: str
) -> httpx.Response:
    with httpx.Client(base_url=srv.url) as http:
        return http.request(method, path, json=body, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path", "body"), NEEDS_AUTH)
def test_anonymous_calls_are_refused_before_anything_runs(
    auth_server: AuthServer, method: str, path: str, body: object
) -> None:
    for headers in ({}, {"X-Modelyard-User": "root"}, {"X-Modelyard-User": "anonymous"}):
        got = call(auth_server, method, path, body, **headers)
        assert got.status_code == 401, got.text
        assert got.headers["www-authenticate"] == "Bearer"
        assert got.json()["error"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("path", ["/health", "/api/v1/health", "/openapi.json"])
def test_public_paths_answer_anyone(auth_server: AuthServer, path: str) -> None:
    assert call(auth_server, "GET", path).status_code == 200


def test_the_header_names_nobody_once_a_token_says_who(auth_server: AuthServer) -> None:
    bob = auth_server.seeded.tokens["bob"]
    for _ in range(2):
        got = call(
            auth_server, "GET", "/api/v1/auth/whoami", **bearer(bob), **{"X-Modelyard-User": "root"}
        )
        assert got.status_code == 200
        assert got.json()["name"] == "bob" and got.json()["admin"] is False
    assert (
        call(
            auth_server, "GET", "/api/v1/users", **bearer(bob), **{"X-Modelyard-User": "root"}
        ).status_code
        == 403
    )
    alice = auth_server.seeded.tokens["alice"]
    made = call(
        auth_server,
        "POST",
        "/api/v1/experiments",
        {"name": "e1"},
        **bearer(alice),
        **{"X-Modelyard-User": "root"},
    )
    assert made.status_code in (200, 201), made.text
    entries = audit.query(auth_server.seeded.store.db, action="experiment.create", limit=10)
    assert [e.actor for e in entries] == ["alice"]


def _bad_authorizations(token: str) -> list[str]:
    prefix, token_id, secret = token.split("_")
    return [
        f"Basic {'cm9vdDpwYXNzd29yZA=='}",
        "Bearer",
        "Bearer  x",
        f"Bearer {token}x",
        f"Bearer {token[:-1]}",
        f"Bearer {prefix}_{token_id}_{'B' * len(secret)}",
        f"Token {token}",
        f"Bearer {token}, Bearer {token}",
        f"Bearer {token.upper()}",
        f"Bearer myd_{'2' * len(token_id)}_{secret}",
    ]


def test_malformed_and_wrong_tokens_get_401_and_are_not_echoed(auth_server: AuthServer) -> None:
    token = auth_server.seeded.tokens["alice"]
    secret = token.split("_")[2]
    for header in _bad_authorizations(token):
        got = call(auth_server, "GET", "/api/v1/experiments", Authorization=header)
        assert got.status_code == 401, (header, got.text)
        assert secret not in got.text and secret.upper() not in got.text


def test_a_revoked_token_stops_at_once(auth_server: AuthServer) -> None:
    token = auth_server.seeded.tokens["bob"]
    assert call(auth_server, "GET", "/api/v1/experiments", **bearer(token)).status_code == 200
    token_id = token.split("_")[1]
    assert (
        call(auth_server, "DELETE", f"/api/v1/tokens/{token_id}", **bearer(token)).status_code
        == 200
    )
    got = call(auth_server, "GET", "/api/v1/experiments", **bearer(token))
    assert got.status_code == 401 and "revoked" in got.json()["error"]["message"]


def login(http: httpx.Client, name: str, password: str) -> httpx.Response:
    return http.post(LOGIN, json={"name": name, "password": password})


def test_a_browser_session_needs_its_csrf_token_for_every_write(auth_server: AuthServer) -> None:
    with httpx.Client(base_url=auth_server.url) as http:
        got = login(http, "alice", PASSWORD)
        assert got.status_code == 200, got.text
        cookie = got.headers["set-cookie"].lower()
        for part in ("httponly", "samesite=strict", "path=/", "modelyard_session="):
            assert part in cookie
        csrf = got.json()["csrf_token"]
        assert http.get("/api/v1/experiments").status_code == 200  # reads need no token
        body = {"name": "from-browser"}
        for headers in (
            {},
            {"X-CSRF-Token": "wrong"},
            {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
            {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "same-site"},
            {"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
        ):
            refused = http.post("/api/v1/experiments", json=body, headers=headers)
            assert refused.status_code == 403, (headers, refused.text)
        for ctype, content in (
            ("text/plain", b'{"name": "x"}'),
            ("application/x-www-form-urlencoded", b"name=x"),
        ):
            refused = http.post(
                "/api/v1/experiments", content=content, headers={"Content-Type": ctype}
            )
            assert refused.status_code in (403, 415)
        ok = http.post(
            "/api/v1/experiments",
            json=body,
            headers={
                "X-CSRF-Token": csrf,
                "Origin": auth_server.url,
                "Sec-Fetch-Site": "same-origin",
            },
        )
        assert ok.status_code in (200, 201), ok.text
        assert (
            http.post("/api/v1/auth/logout", json={}, headers={"X-CSRF-Token": csrf}).status_code
            == 200
        )
        assert http.get("/api/v1/experiments").status_code == 401


def test_a_cookie_brought_to_login_is_never_the_session(auth_server: AuthServer) -> None:
    planted = "attacker-chosen-session-id"
    with httpx.Client(base_url=auth_server.url, cookies={"modelyard_session": planted}) as http:
        got = login(http, "bob", PASSWORD)
        assert got.status_code == 200
        assert planted not in got.headers["set-cookie"]
    with httpx.Client(base_url=auth_server.url, cookies={"modelyard_session": planted}) as other:
        assert other.get("/api/v1/experiments").status_code == 401


def test_a_one_time_password_must_be_changed_before_anything_else(
    auth_server: AuthServer,
) -> None:
    store = auth_server.seeded.store
    with acting_as(auth_server.seeded.actor("root")):
        made = store.create_user("newbie")
    with httpx.Client(base_url=auth_server.url) as http:
        got = login(http, "newbie", made.password)
        assert got.status_code == 403 and "changed" in got.json()["error"]["message"]
        changed = http.post(
            "/api/v1/auth/password",
            json={"name": "newbie", "password": made.password, "new_password": "newbie's own pw!"},
        )
        assert changed.status_code == 200, changed.text
        assert login(http, "newbie", made.password).status_code == 401
        assert login(http, "newbie", "newbie's own pw!").status_code == 200


def test_wrong_logins_answer_alike_then_lock_then_are_rate_limited(
    auth_server: AuthServer,
) -> None:
    with httpx.Client(base_url=auth_server.url) as http:
        answers = {
            (r.status_code, r.json()["error"]["message"])
            for r in (login(http, "alice", "wrong password"), login(http, "nobody", PASSWORD))
        }
        assert answers == {(401, "invalid username or password")}
        for _ in range(5):
            login(http, "carol", "wrong password")
        locked = login(http, "carol", PASSWORD)  # the fifth failure locked carol
        assert locked.status_code == 401
        statuses = [login(http, "bob", PASSWORD).status_code for _ in range(5)]
        assert statuses[-1] == 429, statuses  # ten attempts a minute from one address
        limited = login(http, "bob", PASSWORD)
        assert int(limited.headers["retry-after"]) >= 1
    logged = [e.action for e in audit.query(auth_server.seeded.store.db, limit=500)]
    assert "auth.lockout" in logged and logged.count("auth.login_failed") >= 6


def test_a_server_without_single_sign_on_says_so_and_login_asks_a_password(
    auth_server: AuthServer, tmp_path: object
) -> None:
    import os
    import subprocess
    import sys

    from modelyard.config import default_user

    for _ in range(2):
        got = httpx.get(f"{auth_server.url}/api/v1/auth/methods")
        assert got.json() == {"password": True, "sso": False, "issuer": None}
    started = httpx.get(
        f"{auth_server.url}/api/v1/auth/oidc/start",
        params={"cli_port": "8080", "cli_challenge": "a" * 43},
    )
    assert started.status_code == 404 and "MODELYARD_OIDC_ISSUER" in started.text
    # a password it is (your OS user's, read from stdin here)
    env = {**os.environ, "MODELYARD_CONFIG_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "modelyard", "login", auth_server.url, "--password-stdin"],
        input=f"{PASSWORD}\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f" as {default_user()} until " in done.stdout, done.stdout
    asked = subprocess.run(
        [sys.executable, "-m", "modelyard", "login", auth_server.url, "--sso", "--no-browser"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert asked.returncode != 0
    assert "MODELYARD_OIDC_ISSUER" in asked.stderr and "Traceback" not in asked.stderr
