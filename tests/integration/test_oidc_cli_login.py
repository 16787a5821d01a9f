"""``modelyard login URL`` through a real OpenID provider (oidc-provider on loopback): the
command line listens on 127.0.0.1, the browser (driven here over HTTP) logs in at the
provider and comes back to the command line with a one-use code, which only the command
line's PKCE verifier turns into an API token; that token carries the user's groups."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from tests.fixtures.oidc import SsoServer
from tests.integration.test_oidc_login import _form

from modelyard.auth.sql_oidc import pkce_challenge
from modelyard.store.database import Database

API = "/api/v1"
_START = re.compile(r"(http://127\.0\.0\.1:\d+/start)\b")


def _admin(srv: SsoServer) -> httpx.Client:
    return httpx.Client(
        base_url=srv.url, headers={"Authorization": f"Bearer {srv.seeded.admin}"}, timeout=30
    )


def _map(srv: SsoServer, group: str, project: str, role: str) -> None:
    with _admin(srv) as http:
        body = {"group": group, "project": project, "role": role}
        assert http.put(f"{API}/auth/group-mappings", json=body).status_code == 200


def step(
    http: httpx.Client, resp: httpx.Response, user: str, *, abort: bool = False
) -> httpx.Response:
    """One step of a browser: follow a redirect, or answer the provider's page (its login
    form as ``user``, or, ``abort``, its cancel link)."""
    if resp.status_code in (302, 303):
        return http.get(urljoin(str(resp.url), resp.headers["location"]))
    cancel = re.search(r'href="([^"]*/abort[^"]*)"', resp.text)
    if abort and cancel is not None:
        return http.get(urljoin(str(resp.url), unescape(cancel.group(1))))
    action, fields = _form(resp.text)
    if "login" in resp.text and fields.get("prompt") == "login":
        fields.update(login=user, password="any")
    return http.post(urljoin(str(resp.url), action), data=fields)


def walk(start: str, user: str, until: str, *, abort: bool = False) -> httpx.Response:
    """A browser's walk from ``start`` through the provider until a page whose address
    begins with ``until``; that page's answer."""
    http = httpx.Client(follow_redirects=False, timeout=30)
    resp = http.get(start)
    for _ in range(20):
        if str(resp.url).startswith(until):
            return resp
        resp = step(http, resp, user, abort=abort)
    raise AssertionError("the login did not come back")


def _cli(srv: SsoServer, config: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MODELYARD_CONFIG_DIR": str(config), "COLUMNS": "80"}
    env.pop("MODELYARD_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "modelyard", "login", srv.url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _start_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for _ in range(20):
        line = proc.stdout.readline()
        found = _START.search(line)
        if found:
            return found.group(1)
    proc.kill()
    raise AssertionError("modelyard login printed no login address")


def _saved(config: Path, srv: SsoServer) -> dict[str, object]:
    data = json.loads((config / "credentials.json").read_text())
    return dict(data[srv.url])


def test_the_command_line_logs_in_through_the_browser_and_its_token_carries_groups(
    sso_server: SsoServer, tmp_path: Path
) -> None:
    _map(sso_server, "data-science", "churn", "editor")
    config = tmp_path / "config"
    names = []
    for _ in range(2):  # each login makes a new token for the same principal
        proc = _cli(sso_server, config, "--no-browser", "--timeout", "60")
        start = _start_url(proc)
        port = int(urlsplit(start).port or 0)
        back = walk(start, "alice", f"http://127.0.0.1:{port}/callback")
        assert back.status_code == 200 and "You can close this tab" in back.text, back.text
        out, errs = proc.communicate(timeout=60)
        assert proc.returncode == 0, errs
        assert "logged in to" in out and "token saved" in out
        saved = _saved(config, sso_server)
        token = str(saved["token"])
        expires = int(str(saved["expires_time"]))
        # a day at most (MODELYARD_SSO_TOKEN_MAX_SECONDS): it carries the groups of this login
        assert expires <= time.time() * 1000 + 86400_000 + 5000
        bearer = {"Authorization": f"Bearer {token}"}
        me = httpx.get(f"{sso_server.url}{API}/auth/whoami", headers=bearer).json()
        assert me["roles"] == {"churn": ["viewer", "editor"]}, me
        assert me["bindings"] == {}
        names.append(me["name"])
        made = httpx.post(
            f"{sso_server.url}{API}/experiments",
            json={"name": f"cli-sso-{len(names)}", "project": "churn"},
            headers=bearer,
        )
        assert made.status_code == 201, made.text
        # that token cannot stretch the provider's word by making another for its user
        again = httpx.post(
            f"{sso_server.url}{API}/tokens",
            json={"name": "longer", "expires": "90d"},
            headers=bearer,
        )
        assert again.status_code == 403 and "log in again" in again.text, again.text
    assert names[0] == names[1] and names[0].startswith("alice")
    with _admin(sso_server) as http:
        listed = http.get(f"{API}/tokens", params={"principal": names[0]}).json()["tokens"]
        assert [t["groups"] for t in listed] == [["data-science"], ["data-science"]]
        # the mapping is read at every use: unmapped, the group gives nothing at once
        gone = http.delete(
            f"{API}/auth/group-mappings",
            params={"group": "data-science", "project": "churn", "role": "editor"},
        )
        assert gone.status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 10
    while True:
        me = httpx.get(f"{sso_server.url}{API}/auth/whoami", headers=bearer).json()
        if me["roles"] == {} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert me["roles"] == {}, me
    audit = httpx.get(
        f"{sso_server.url}{API}/audit",
        params={"action": "auth.login"},
        headers={"Authorization": f"Bearer {sso_server.seeded.admin}"},
    ).json()
    methods = [e["after"]["method"] for e in audit["entries"]]
    assert methods.count("oidc-cli") == 2, methods


def test_a_code_planted_on_the_port_is_refused_and_the_login_goes_on(
    sso_server: SsoServer, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    proc = _cli(sso_server, config, "--sso", "--no-browser", "--timeout", "60")
    start = _start_url(proc)
    port = int(urlsplit(start).port or 0)
    # another page pokes the port: a made-up code, one with a made-up state, another path;
    # none is the answer to this login, so none reaches the server (or its login limit)
    for params in ({"code": "made-up"}, {"code": "made-up", "state": "x" * 43}):
        for _ in range(12):
            planted = httpx.get(f"http://127.0.0.1:{port}/callback", params=params)
            assert planted.status_code == 400 and "not for the login" in planted.text
    assert httpx.get(f"http://127.0.0.1:{port}/other").status_code == 404
    # a connection that sends half a request and waits stalls nobody else
    silent = socket.create_connection(("127.0.0.1", port))
    silent.sendall(b"GET /callback?code=x HTTP/1.1\r\n")
    # mallory's own login, started with her own challenge, lands on the port too: its state
    # is her challenge, so the command line leaves it alone (no login as mallory)
    hers = f"{sso_server.url}{API}/auth/oidc/start?" + urlencode(
        {"cli_port": str(port), "cli_challenge": pkce_challenge("m" * 50)}
    )
    landed = walk(hers, "mallory", f"http://127.0.0.1:{port}/callback")
    assert landed.status_code == 400 and "not for the login" in landed.text, landed.text
    back = walk(start, "erin", f"http://127.0.0.1:{port}/callback")
    assert back.status_code == 200, back.text
    _, errs = proc.communicate(timeout=60)
    assert proc.returncode == 0, errs
    silent.close()  # the planted code was reported, and the wait went on
    assert _saved(config, sso_server)["principal"] == "erin@example.org"


def _code_for(srv: SsoServer, user: str, verifier: str) -> str:
    port = 50000 + os.getpid() % 10000  # nobody listens: the walk stops at the redirect
    start = httpx.get(
        f"{srv.url}{API}/auth/oidc/start",
        params={"cli_port": str(port), "cli_challenge": pkce_challenge(verifier)},
        follow_redirects=False,
    )
    assert start.status_code == 302
    http = httpx.Client(follow_redirects=False, timeout=30)
    http.cookies.update(start.cookies)
    resp = http.get(start.headers["location"])
    for _ in range(20):
        target = urljoin(str(resp.url), resp.headers.get("location", ""))
        if resp.status_code in (302, 303) and target.startswith(
            f"http://127.0.0.1:{port}/callback"
        ):
            assert target.startswith(f"http://127.0.0.1:{port}/callback?")
            said = parse_qs(urlsplit(target).query)
            assert said["state"] == [pkce_challenge(verifier)]
            assert resp.headers["cache-control"] == "no-store"
            assert "modelyard_session" not in resp.headers.get("set-cookie", "")
            return said["code"][0]
        resp = step(http, resp, user)
    raise AssertionError("no code came back")


def _exchange(srv: SsoServer, code: object, verifier: object) -> httpx.Response:
    return httpx.post(
        f"{srv.url}{API}/auth/oidc/token", json={"code": code, "code_verifier": verifier}
    )


def test_a_code_counts_once_with_its_verifier_within_minutes(sso_server: SsoServer) -> None:
    verifier = "v" * 60
    code = _code_for(sso_server, "erin", verifier)
    assert _exchange(sso_server, code, "w" * 60).status_code == 401  # another's verifier
    assert _exchange(sso_server, code, verifier).status_code == 401  # spent by that try
    code = _code_for(sso_server, "erin", verifier)
    first = _exchange(sso_server, code, verifier)
    assert first.status_code == 200, first.text
    assert first.json()["principal"] == "erin@example.org"
    assert first.json()["token"].startswith("myd_")
    assert first.headers["cache-control"] == "no-store"
    replay = _exchange(sso_server, code, verifier)
    assert replay.status_code == 401 and "used" in replay.text
    # too old: two minutes (the clock of the row is moved, as time would)
    code = _code_for(sso_server, "erin", verifier)
    db = Database(sso_server.store_uri)
    try:
        db.run_write(
            lambda c: c.execute(
                sa.text("UPDATE login_codes SET created_time = created_time - 121000")
            )
        )
    finally:
        db.dispose()
    assert _exchange(sso_server, code, verifier).status_code == 401
    # a user disabled between the browser and the exchange gets nothing
    code = _code_for(sso_server, "erin", verifier)
    with _admin(sso_server) as http:
        disabled = http.post(f"{API}/users/erin@example.org/disable", json={})
        assert disabled.status_code == 200, disabled.text
    assert _exchange(sso_server, code, verifier).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "code"),
        ({"code": 5, "code_verifier": "v" * 60}, "code"),
        ({"code": "x" * 200, "code_verifier": "v" * 60}, "code"),
        ({"code": "abc"}, "code_verifier"),
        ({"code": "abc", "code_verifier": "short"}, "code_verifier"),
        ({"code": "abc", "code_verifier": ["v" * 60]}, "code_verifier"),
    ],
)
def test_a_malformed_exchange_names_its_field(
    sso_server: SsoServer, body: dict[str, object], field: str
) -> None:
    got = httpx.post(f"{sso_server.url}{API}/auth/oidc/token", json=body)
    assert got.status_code == 400, got.text
    assert got.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cli_port": "80", "cli_challenge": "a" * 43}, "cli_port"),
        ({"cli_port": "0", "cli_challenge": "a" * 43}, "cli_port"),
        ({"cli_port": "65536", "cli_challenge": "a" * 43}, "cli_port"),
        ({"cli_port": "8080.5", "cli_challenge": "a" * 43}, "cli_port"),
        ({"cli_port": "08080", "cli_challenge": "a" * 43}, "cli_port"),
        ({"cli_port": "evil.example:8080", "cli_challenge": "a" * 43}, "cli_port"),
        ({"cli_port": "8080"}, "cli_challenge"),
        ({"cli_port": "8080", "cli_challenge": "a" * 42}, "cli_challenge"),
        ({"cli_port": "8080", "cli_challenge": "a" * 42 + "="}, "cli_challenge"),
        ({"cli_challenge": "a" * 43}, "cli_port"),
    ],
)
def test_a_command_line_login_goes_back_to_loopback_only(
    sso_server: SsoServer, params: dict[str, str], field: str
) -> None:
    got = httpx.get(f"{sso_server.url}{API}/auth/oidc/start", params=params)
    assert got.status_code == 400, got.text
    assert got.json()["error"]["field"] == field


def test_the_server_says_how_one_logs_in(sso_server: SsoServer) -> None:
    for _ in range(2):
        got = httpx.get(f"{sso_server.url}{API}/auth/methods")
        assert got.status_code == 200
        assert got.json() == {"password": True, "sso": True, "issuer": sso_server.issuer}


def test_an_admin_by_group_cannot_make_the_role_its_own(sso_server: SsoServer) -> None:
    _map(sso_server, "fraud-analysts", "fraud", "admin")
    verifier = "k" * 60
    got = _exchange(sso_server, _code_for(sso_server, "erin", verifier), verifier)
    assert got.status_code == 200, got.text
    bearer = {"Authorization": f"Bearer {got.json()['token']}"}
    members = f"{sso_server.url}{API}/projects/fraud/members"
    for role in ("admin", "approver"):
        kept = httpx.post(members, json={"principal": "erin@example.org", "role": role},
                          headers=bearer)  # fmt: skip
        assert kept.status_code == 403 and "yourself" in kept.text, kept.text
    # the group's admin may still grant others, as any project admin
    other = httpx.post(members, json={"principal": "bob", "role": "viewer"}, headers=bearer)
    assert other.status_code == 200, other.text
    # but not a service account of its own, nor through one: the person behind both is erin
    with _admin(sso_server) as http:
        made = http.post(f"{API}/service-accounts",
                         json={"name": "erin-bot", "owner": "erin@example.org"})  # fmt: skip
        assert made.status_code in (200, 201), made.text
        given = {"principal": "erin-bot", "role": "admin"}
        assert http.post(f"{API}/projects/fraud/members", json=given).status_code == 200
    bot = httpx.post(f"{sso_server.url}{API}/tokens",
                     json={"name": "bot", "expires": "1h", "principal": "erin-bot"},
                     headers=bearer)  # fmt: skip
    assert bot.status_code == 201, bot.text
    as_bot = {"Authorization": f"Bearer {bot.json()['token']}"}
    for principal, headers in (("erin-bot", bearer), ("erin@example.org", as_bot)):
        for role in ("approver", "editor"):
            kept = httpx.post(members, json={"principal": principal, "role": role},
                              headers=headers)  # fmt: skip
            assert kept.status_code == 403 and "yourself" in kept.text, kept.text
    with _admin(sso_server) as http:
        params = {"group": "fraud-analysts", "project": "fraud", "role": "admin"}
        assert http.delete(f"{API}/auth/group-mappings", params=params).status_code == 200
    deadline = time.monotonic() + 10
    while True:
        me = httpx.get(f"{sso_server.url}{API}/auth/whoami", headers=bearer).json()
        if me["roles"] == {} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert me["roles"] == {} and me["bindings"] == {}, me


def test_a_refusal_at_the_provider_ends_the_command_lines_wait(
    sso_server: SsoServer, tmp_path: Path
) -> None:
    proc = _cli(sso_server, tmp_path / "config", "--sso", "--no-browser", "--timeout", "60")
    start = _start_url(proc)
    port = int(urlsplit(start).port or 0)
    back = walk(start, "erin", f"http://127.0.0.1:{port}/callback", abort=True)
    assert back.status_code == 401 and "refused" in back.text, back.text
    _, errs = proc.communicate(timeout=30)  # at once, not after the 60 s
    assert proc.returncode != 0 and "refused the login" in errs, errs
    assert "Traceback" not in errs and not (tmp_path / "config" / "credentials.json").exists()


@pytest.fixture
def short_sso(monkeypatch: pytest.MonkeyPatch) -> int:
    """The server below lets a single sign-on login's tokens live two minutes."""
    monkeypatch.setenv("MODELYARD_SSO_TOKEN_MAX_SECONDS", "120")
    return 120


def test_tokens_of_a_login_never_outlive_the_setting(short_sso: int, sso_server: SsoServer) -> None:
    _map(sso_server, "fraud-analysts", "fraud", "viewer")
    with _admin(sso_server) as http:
        settings = {"name": "fraudmodel", "project": "fraud"}
        assert http.post(f"{API}/registry/models", json=settings).status_code in (200, 201)
    verifier = "s" * 60
    got = _exchange(sso_server, _code_for(sso_server, "erin", verifier), verifier).json()
    now = time.time() * 1000
    assert got["expires_time"] <= now + short_sso * 1000 + 5000
    bearer = {"Authorization": f"Bearer {got['token']}"}
    serving = httpx.post(
        f"{sso_server.url}{API}/auth/serving-tokens",
        json={"endpoint": "fraudmodel", "ttl": "1h"},
        headers=bearer,
    )
    assert serving.status_code == 201, serving.text
    assert serving.json()["expires_time"] <= now + short_sso * 1000 + 5000


def test_sso_and_a_password_are_not_asked_for_together(
    sso_server: SsoServer, tmp_path: Path
) -> None:
    for extra in (("--user", "alice"), ("--password-stdin",)):
        proc = _cli(sso_server, tmp_path, "--sso", *extra)
        _, errs = proc.communicate(timeout=60)
        assert proc.returncode != 0 and "--sso" in errs and "Traceback" not in errs, errs


def test_logins_begun_from_one_address_are_limited(sso_server: SsoServer) -> None:
    answers = [httpx.get(f"{sso_server.url}{API}/auth/oidc/start").status_code for _ in range(31)]
    assert answers[:30] == [302] * 30 and answers[30] == 429, answers


def test_a_login_address_another_user_opens_first_ends_the_login(
    sso_server: SsoServer, tmp_path: Path
) -> None:
    """Another user of this machine who reads the address (ps, history) and opens it first
    gets nothing: the victim's opening ends the login, and nobody is logged in."""
    proc = _cli(sso_server, tmp_path / "config", "--sso", "--no-browser", "--timeout", "60")
    start = _start_url(proc)
    port = int(urlsplit(start).port or 0)
    attacker = httpx.Client(follow_redirects=False)
    first = attacker.get(start)
    assert first.status_code == 302 and "cli_challenge" in first.headers["location"]
    victim = httpx.get(start, follow_redirects=False)
    assert victim.status_code == 409
    # the attacker's login, with the victim's challenge and its cookie, comes to nothing
    hijack = httpx.Client(follow_redirects=False, timeout=30, cookies=attacker.cookies)
    resp = hijack.get(first.headers["location"])
    for _ in range(20):
        if str(resp.url).startswith(f"http://127.0.0.1:{port}/callback") or resp.status_code >= 400:
            break
        try:
            resp = step(hijack, resp, "mallory")
        except httpx.TransportError:  # the command line stopped listening
            break
    _, errs = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "opened twice" in errs, errs
    assert not (tmp_path / "config" / "credentials.json").exists()
