"""Single sign-on against a real OpenID provider (oidc-provider on loopback): the browser
login with authorization code + PKCE, driven here over HTTP as a browser would, the groups it
brings mapped to project roles, and bearer access tokens of programs."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from tests.fixtures.oidc import SsoServer, client_credentials_token

API = "/api/v1"


def _form(page: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action is not None, page[:500]
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    return unescape(action.group(1)), fields


def browser_login(
    srv: SsoServer, user: str, *, return_to: str = "/api/v1/auth/whoami"
) -> tuple[httpx.Client, httpx.Response]:
    """A browser's walk through the login: start, the provider's login form, back to the
    server's callback. Returns the browser and the callback's answer."""
    http = httpx.Client(follow_redirects=False, timeout=30)
    resp = http.get(f"{srv.url}{API}/auth/oidc/start", params={"return_to": return_to})
    assert resp.status_code == 302, resp.text
    for _ in range(20):
        if resp.status_code in (302, 303):
            resp = http.get(urljoin(str(resp.url), resp.headers["location"]))
            continue
        if str(resp.url).startswith(srv.url):
            return http, resp
        action, fields = _form(resp.text)
        if "login" in resp.text and fields.get("prompt") == "login":
            fields.update(login=user, password="any")
        resp = http.post(urljoin(str(resp.url), action), data=fields)
    raise AssertionError("the login did not come back")


def _session_of(http: httpx.Client, srv: SsoServer, resp: httpx.Response) -> dict[str, object]:
    assert resp.status_code == 200, resp.text
    assert 'http-equiv="refresh"' in resp.text
    me = http.get(f"{srv.url}{API}/auth/whoami")
    assert me.status_code == 200, me.text
    return dict(me.json())


def test_a_user_logs_in_through_the_provider_and_groups_give_roles(sso_server: SsoServer) -> None:
    admin = {"Authorization": f"Bearer {sso_server.seeded.admin}"}
    mapping = {"group": "data-science", "project": "churn", "role": "editor"}
    with httpx.Client(base_url=sso_server.url, headers=admin) as http:
        for _ in range(2):
            assert http.put(f"{API}/auth/group-mappings", json=mapping).status_code == 200
        assert http.get(f"{API}/auth/group-mappings").json()["mappings"] == [mapping]
    browser, answer = browser_login(sso_server, "alice")
    me = _session_of(browser, sso_server, answer)
    # alice exists already (a password user); the provider's alice is a new principal
    assert me["kind"] == "user" and str(me["name"]).startswith("alice")
    assert me["roles"] == {"churn": ["viewer", "editor"]}, me  # from the group
    assert me["bindings"] == {}, me  # none of its own
    assert answer.headers["x-csrf-token"]
    # the page's scripts read the CSRF token from a cookie of this site (double submit)
    assert browser.cookies.get("modelyard_csrf") == answer.headers["x-csrf-token"]
    # the session writes with its CSRF token, like a password session
    made = browser.post(
        f"{sso_server.url}{API}/experiments",
        json={"name": "from-sso", "project": "churn"},
        headers={"X-CSRF-Token": answer.headers["x-csrf-token"]},
    )
    assert made.status_code == 201, made.text
    # a single sign-on login's own token carries its groups, for a day at most
    minted = browser.post(
        f"{sso_server.url}{API}/tokens",
        json={"name": "long", "expires": "365d"},
        headers={"X-CSRF-Token": answer.headers["x-csrf-token"]},
    )
    assert minted.status_code == 201, minted.text
    info = minted.json()["info"]
    assert info["groups"] == ["data-science"]
    assert info["expires_time"] - info["created_time"] == 86400_000
    bearer = {"Authorization": f"Bearer {minted.json()['token']}"}
    mine = httpx.get(f"{sso_server.url}{API}/auth/whoami", headers=bearer).json()
    assert mine["roles"] == {"churn": ["viewer", "editor"]}, mine
    # and cannot make another for its user
    longer = httpx.post(
        f"{sso_server.url}{API}/tokens", json={"name": "x", "expires": "1h"}, headers=bearer
    )
    assert longer.status_code == 403 and "log in again" in longer.text, longer.text
    # logging in again reuses the principal
    again, second = browser_login(sso_server, "alice")
    assert _session_of(again, sso_server, second)["name"] == me["name"]
    # a user whose groups are mapped to nothing sees nothing
    other, third = browser_login(sso_server, "mallory")
    assert _session_of(other, sso_server, third)["roles"] == {}
    listed = other.get(f"{sso_server.url}{API}/experiments")
    assert listed.status_code == 403  # holds experiment.read in no project


def test_a_login_is_bound_to_its_browser_its_state_and_this_server(
    sso_server: SsoServer,
) -> None:
    http = httpx.Client(follow_redirects=False)
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil", "javascript:alert(1)"):
        got = http.get(f"{sso_server.url}{API}/auth/oidc/start", params={"return_to": bad})
        assert got.status_code == 400 and "return_to" in got.text, bad
    start = http.get(f"{sso_server.url}{API}/auth/oidc/start")
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert "code_verifier" not in start.headers["location"]
    # a callback without the browser's binding cookie, with a made-up state, or a provider error
    callback = f"{sso_server.url}{API}/auth/oidc/callback"
    for params in (
        {"code": "x", "state": query["state"][0], "iss": sso_server.issuer},
        {"code": "x", "state": "made-up", "iss": sso_server.issuer},
        {"code": "x", "state": query["state"][0], "iss": "http://127.0.0.1:1"},
        {"error": "access_denied", "state": query["state"][0]},
    ):
        got = httpx.get(callback, params=params)
        assert got.status_code == 401, (params, got.text)
        assert (
            "set-cookie" not in got.headers or "modelyard_session" not in got.headers["set-cookie"]
        )
    # a finished login cannot be replayed: its state is used once
    browser, answer = browser_login(sso_server, "erin")
    assert answer.status_code == 200
    replay = browser.get(str(answer.url))
    assert replay.status_code == 401 and "start it again" in replay.text


def test_a_program_uses_the_providers_access_token(sso_server: SsoServer) -> None:
    admin = {"Authorization": f"Bearer {sso_server.seeded.admin}"}
    with httpx.Client(base_url=sso_server.url, headers=admin) as http:
        mapping = {"group": "ci-bots", "project": "churn", "role": "viewer"}
        assert http.put(f"{API}/auth/group-mappings", json=mapping).status_code == 200
    token = client_credentials_token(sso_server)
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=sso_server.url, headers=bearer) as http:
        for _ in range(2):
            me = http.get(f"{API}/auth/whoami")
            assert me.status_code == 200, me.text
            assert me.json()["kind"] == "service"
            assert me.json()["roles"] == {"churn": ["viewer"]}
        assert http.get(f"{API}/experiments").status_code == 200
        refused = http.post(f"{API}/experiments", json={"name": "x", "project": "churn"})
        assert refused.status_code == 403
        minted = http.post(f"{API}/tokens", json={"name": "long", "expires": "365d"})
        assert minted.status_code == 201, minted.text  # its groups on it, for a day at most
        info = minted.json()["info"]
        assert info["groups"] == ["ci-bots"]
        assert info["expires_time"] - info["created_time"] == 86400_000
        # a service account does not vote, whatever its groups say
    # tampered with: one character of the signature changed
    head, body, sig = token.split(".")
    forged = f"{head}.{body}.{sig[:-2]}{'A' if sig[-2] != 'A' else 'B'}{sig[-1]}"
    got = httpx.get(
        f"{sso_server.url}{API}/auth/whoami", headers={"Authorization": f"Bearer {forged}"}
    )
    assert got.status_code == 401, got.text


@pytest.mark.parametrize("path", ["/api/v1/auth/group-mappings"])
def test_only_a_global_admin_maps_groups(sso_server: SsoServer, path: str) -> None:
    carol = {"Authorization": f"Bearer {sso_server.seeded.tokens['carol']}"}  # fraud's admin
    body = {"group": "fraud-analysts", "project": "fraud", "role": "admin"}
    got = httpx.put(sso_server.url + path, json=body, headers=carol)
    assert got.status_code == 403, got.text
