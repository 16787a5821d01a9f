"""Serving tokens revoked before they expire, and provider tokens at the inference server:
``modelyard serve --auth`` refuses a revoked serving token within seconds (it polls the
platform's list of revoked ids; nothing on the request path waits on it), a disabled user's
serving tokens go with it, and with ``--auth-oidc-issuer`` an OpenID provider's access tokens
carrying ``predict:<endpoint>`` count as serving tokens do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
from tests.fixtures.logged import sklearn_model
from tests.fixtures.oidc import SERVE_AUDIENCE, SsoServer, client_credentials_token
from tests.fixtures.serving import oip_row
from tests.integration import test_serving_auth
from tests.integration.test_serving_auth import Served, _bearer, _tokens, serve_both

from modelyard.errors import NotFound

served = test_serving_auth.served  # the platform with --auth and serve --auth beside it


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(header: dict[str, object], claims: dict[str, object], key: bytes) -> str:
    """A JWT signed with HMAC, keyed with ``key`` (written by hand: PyJWT refuses to)."""
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(hmac.new(key, head.encode(), hashlib.sha256).digest())


def _infer(url: str, token: str) -> httpx.Response:
    _, frame = sklearn_model()
    return httpx.post(f"{url}/v2/models/churn/infer", json=oip_row(frame), headers=_bearer(token))


def _refused_within(url: str, token: str, seconds: float) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        got = _infer(url, token)
        if got.status_code == 401 or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_a_revoked_serving_token_is_refused_within_seconds(served: Served) -> None:
    bob = _tokens(served.platform, "bob")  # viewer of churn
    made = bob.serving_token("churn", "1h")
    token, jti = made["token"], made["jti"]
    assert jwt.decode(token, options={"verify_signature": False})["jti"] == jti
    for _ in range(2):
        assert _infer(served.url, token).status_code == 200
        listed = bob.serving_tokens()
        assert [(t["jti"], t["endpoint"], t["revoked_time"]) for t in listed] == [
            (jti, "churn", None)
        ]
    carol = _tokens(served.platform, "carol")  # not bob, not a global admin
    with pytest.raises(NotFound):
        carol.revoke_serving_token(jti)  # another's token does not exist for her
    with pytest.raises(NotFound):
        carol.serving_tokens("bob")
    assert _infer(served.url, token).status_code == 200  # still good
    for _ in range(2):  # revoking twice is revoking once
        bob.revoke_serving_token(jti)
    feed = httpx.get(f"{served.platform.url}/api/v1/auth/serving-tokens/revoked")
    assert feed.status_code == 200 and feed.json() == {"revoked": [jti]}  # ids only, for anyone
    # the running server's background poll (every 10 s) sees it; the request path never waits
    refused = _refused_within(served.url, token, 15)
    assert refused.status_code == 401 and "revoked" in refused.text, refused.text
    assert token not in refused.text
    fresh = bob.serving_token("churn")["token"]
    assert _infer(served.url, fresh).status_code == 200  # other tokens are untouched
    root = _tokens(served.platform, "root")
    entries = root.http.request(
        "GET", "/api/v1/audit", params={"object_type": "serving_token", "object_id": jti}
    )["entries"]
    assert [e["action"] for e in entries] == ["serving_token.create", "serving_token.revoke"]
    assert entries[1]["actor"] == "bob"


def test_disabling_a_user_revokes_its_serving_tokens(served: Served) -> None:
    bob = _tokens(served.platform, "bob")
    tokens = [bob.serving_token("churn")["token"] for _ in range(2)]
    for token in tokens:
        assert _infer(served.url, token).status_code == 200
    root = _tokens(served.platform, "root")
    root.set_disabled("bob", True)
    assert len(root.serving_tokens("bob")) == 2  # a global admin sees anyone's
    assert all(t["revoked_time"] is not None for t in root.serving_tokens("bob"))
    auth = served.app.router.auth
    assert auth is not None and auth.poll_revoked()  # as the background poll would
    for token in tokens:
        got = _infer(served.url, token)
        assert got.status_code == 401 and "revoked" in got.text, got.text


def test_a_silent_platform_leaves_the_last_list_in_place(served: Served) -> None:
    bob = _tokens(served.platform, "bob")
    made = bob.serving_token("churn")
    bob.revoke_serving_token(made["jti"])
    auth = served.app.router.auth
    assert auth is not None and auth.poll_revoked()
    assert made["jti"] in auth.revoked
    auth.revoked_url = "http://127.0.0.1:9/api/v1/auth/serving-tokens/revoked"  # nobody there
    for _ in range(2):
        assert not auth.poll_revoked()
        assert made["jti"] in auth.revoked
        assert _infer(served.url, made["token"]).status_code == 401


@pytest.fixture
def served_with_provider(sso_server: SsoServer) -> Iterator[tuple[SsoServer, str]]:
    """churn (project churn) and fraudmodel (project fraud) served with --auth and
    --auth-oidc-issuer: the provider's tokens for urn:modelyard-serve count."""
    running = serve_both(
        sso_server.url,
        sso_server.seeded.admin,
        auth_oidc_issuer=sso_server.issuer,
        auth_oidc_audience=SERVE_AUDIENCE,
    )
    try:
        yield sso_server, running.url
    finally:
        running.stop()


def test_the_providers_access_tokens_call_the_endpoints_their_scopes_name(
    served_with_provider: tuple[SsoServer, str],
) -> None:
    srv, url = served_with_provider
    _, frame = sklearn_model()
    body = oip_row(frame)
    token = client_credentials_token(srv, resource=SERVE_AUDIENCE, scope="predict:churn")
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == SERVE_AUDIENCE
    with httpx.Client(base_url=url, headers=_bearer(token)) as http:
        for _ in range(2):
            got = http.post("/v2/models/churn/infer", json=body)
            assert got.status_code == 200, got.text
        assert http.get("/v2/models/fraudmodel").status_code == 404  # not in its scopes
        assert http.post("/v2/repository/index").status_code == 403  # no serve:admin
    admin = client_credentials_token(srv, resource=SERVE_AUDIENCE, scope="serve:admin")
    got = httpx.post(f"{url}/v2/repository/index", headers=_bearer(admin))
    assert got.status_code == 200, got.text
    # the provider's token for the platform's audience is not one for the inference server
    platform_token = client_credentials_token(srv)
    wrong = httpx.post(f"{url}/v2/models/churn/infer", json=body, headers=_bearer(platform_token))
    assert wrong.status_code == 401 and "audience" in wrong.text, wrong.text
    # forged: alg none, and HS256 keyed with the provider's public key material
    claims = jwt.decode(token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    header = jwt.get_unverified_header(token)
    public = httpx.get(f"{srv.issuer}/jwks").text.encode()  # what an attacker can read
    hs = _hs256({"alg": "HS256", "kid": header["kid"], "typ": "JWT"}, claims, public)
    for forged in (unsigned, hs, token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")):
        got = httpx.post(f"{url}/v2/models/churn/infer", json=body, headers=_bearer(forged))
        assert got.status_code == 401, got.text
    # the platform's own serving tokens still count beside the provider's
    platform = httpx.post(
        f"{srv.url}/api/v1/auth/serving-tokens",
        json={"endpoint": "churn"},
        headers=_bearer(srv.seeded.admin),
    )
    assert platform.status_code == 201, platform.text
    ok = httpx.post(
        f"{url}/v2/models/churn/infer", json=body, headers=_bearer(platform.json()["token"])
    )
    assert ok.status_code == 200, ok.text


def test_a_global_admin_has_a_serve_admin_token_and_nobody_else(served: Served) -> None:
    from modelyard.errors import InvalidArgument, PermissionDenied

    with pytest.raises(PermissionDenied, match="global admin"):
        _tokens(served.platform, "carol").serving_token(None, admin=True)  # fraud's admin only
    root = _tokens(served.platform, "root")
    with pytest.raises(InvalidArgument, match="not both"):
        root.http.request(
            "POST", "/api/v1/auth/serving-tokens", json={"endpoint": "churn", "admin": True}
        )
    with pytest.raises(InvalidArgument, match="admin"):
        root.http.request("POST", "/api/v1/auth/serving-tokens", json={"admin": "yes"})
    made = root.serving_token(None, "10m", admin=True)
    assert made["scope"] == "serve:admin" and made["endpoint"] is None
    assert jwt.decode(made["token"], options={"verify_signature": False})["scope"] == "serve:admin"
    with httpx.Client(base_url=served.url, headers=_bearer(made["token"])) as http:
        for _ in range(2):
            assert http.post("/v2/repository/index").status_code == 200
            assert http.get("/metrics").status_code == 200
            assert http.get("/v2/models/stats").status_code == 200
        # it opens the admin routes, not the models
        assert http.post("/v2/models/churn/infer", json={}).status_code == 404
    listed = root.serving_tokens()
    assert [t["endpoint"] for t in listed] == ["serve:admin"]


def test_labels_need_the_predict_scope_of_the_model_they_name(served: Served) -> None:
    churn = _tokens(served.platform, "bob").serving_token("churn")["token"]
    fraud = _tokens(served.platform, "carol").serving_token("fraudmodel")["token"]
    label = {"request_id": "order-0001", "label": 0}
    with httpx.Client(base_url=served.url) as http:
        for _ in range(2):
            unnamed = http.post("/v2/feedback", json=label, headers=_bearer(churn))
            assert unnamed.status_code == 400 and "model" in unnamed.text, unnamed.text
            for token, model in ((fraud, "churn"), (churn, "fraudmodel"), (churn, "nosuch")):
                got = http.post(
                    "/v2/feedback", json={**label, "model": model}, headers=_bearer(token)
                )
                assert got.status_code == 404, (model, got.text)
            ahead = {**label, "model": "churn", "time": int(time.time() * 1000) + 86_400_000}
            future = http.post("/v2/feedback", json=ahead, headers=_bearer(churn))
            assert future.status_code == 400 and "future" in future.text, future.text
            assert http.post("/v2/feedback", json=label).status_code == 401


def test_serving_tokens_signed_for_one_principal_are_limited(served: Served) -> None:
    bob = _tokens(served.platform, "bob")
    from modelyard.errors import TooManyRequests

    for _ in range(60):
        bob.serving_token("churn")
    with pytest.raises(TooManyRequests, match="serving tokens"):
        bob.serving_token("churn")
    assert _tokens(served.platform, "alice").serving_token("churn")["token"]  # others go on
