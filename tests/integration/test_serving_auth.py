"""``modelyard serve --auth``: every route but the health probes needs a serving token the
platform signed, checked by the inference server alone with the platform's public keys; a
token for one endpoint answers for another as if that model were not served."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.fixtures.auth import AuthServer
from tests.fixtures.logged import saved_model, sklearn_model
from tests.fixtures.serving import Running, oip_row

import modelyard as yard
from modelyard.auth.rest_store import RestAuthStore
from modelyard.config import Settings
from modelyard.errors import InvalidArgument, NotFound, PermissionDenied
from modelyard.platform import backends
from modelyard.serving.app import ServingApp
from modelyard.serving.auth import NEEDS, PUBLIC
from modelyard.serving.config import ModelSource, ServeConfig
from modelyard.store.rest import HttpTransport


@dataclass
class Served:
    platform: AuthServer
    url: str
    app: ServingApp


def _tokens(srv: AuthServer, who: str) -> RestAuthStore:
    token = srv.seeded.admin if who == "root" else srv.seeded.tokens[who]
    return RestAuthStore(HttpTransport(srv.url, token=token))


def serve_both(platform: str, admin_token: str, **auth: Any) -> Running:
    """Models churn (project churn) and fraudmodel (project fraud) registered on the
    platform, served from folders by an inference server with --auth (and ``auth``)."""
    for project, name in (("churn", "churn"), ("fraud", "fraudmodel")):
        settings = replace(Settings.from_env(), token=admin_token, project=project)
        with yard.Client(platform, settings=settings) as c:
            c.create_registered_model(name)
    backends.forget()
    folder = str(saved_model())
    config = ServeConfig(
        [ModelSource(folder, "churn"), ModelSource(folder, "fraudmodel")],
        auth=True,
        auth_issuer=platform,
        prediction_log=None,
        **auth,
    )
    return Running(ServingApp(config))


@pytest.fixture
def served(auth_server: AuthServer) -> Iterator[Served]:
    """``serve_both`` on a platform with passwords."""
    running = serve_both(auth_server.url, auth_server.seeded.admin)
    try:
        yield Served(auth_server, running.url, running.app)
    finally:
        running.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_for_one_endpoint_serves_it_and_no_other(served: Served) -> None:
    _, frame = sklearn_model()
    body = oip_row(frame)
    bob = _tokens(served.platform, "bob")  # viewer of churn
    made = bob.serving_token("churn", "15m")
    token = made["token"]
    with pytest.raises(NotFound, match="no deployment or model named 'fraudmodel'"):
        bob.serving_token("fraudmodel")  # fraud is not his
    with pytest.raises(InvalidArgument, match="ttl"):
        bob.serving_token("churn", "2d")
    with httpx.Client(base_url=served.url) as http:
        for _ in range(2):
            got = http.post("/v2/models/churn/infer", json=body, headers=_bearer(token))
            assert got.status_code == 200, got.text
        anonymous = http.post("/v2/models/churn/infer", json=body)
        assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
        # another endpoint: as if it were not served, the same answer as a missing model
        other = http.get("/v2/models/fraudmodel", headers=_bearer(token))
        missing = http.get("/v2/models/nosuch", headers=_bearer(token))
        assert other.status_code == missing.status_code == 404
        assert other.json()["error"].replace("fraudmodel", "nosuch") == missing.json()["error"]
        invocations = http.post(
            "/invocations?model=fraudmodel",
            json={"dataframe_records": frame[:1].to_dict("records")},
            headers=_bearer(token),
        )
        assert invocations.status_code == 404, invocations.text
        assert http.post("/v2/repository/index", headers=_bearer(token)).status_code == 403
        assert http.get("/v2/health/live").status_code == 200
        assert http.get("/v2/health/ready").status_code == 200
        assert http.get("/v2").status_code == 401
        assert http.get("/v2", headers=_bearer(token)).status_code == 200
    # a deployment of churn named after fraud's model does not open fraud's model
    import sqlalchemy as sa

    from modelyard.store.database import Database

    db = Database(served.platform.store_uri)
    db.run_write(
        lambda conn: conn.execute(
            sa.text(
                "INSERT INTO deployments (deployment_id, project, name, name_key, spec, "
                "revision, created_by, created_time, updated_by, updated_time) VALUES "
                "('d1', 'churn', 'fraudmodel', 'fraudmodel', '{}', 1, 'bob', 0, 'bob', 0)"
            )
        )
    )
    with pytest.raises(NotFound, match="fraudmodel"):
        _tokens(served.platform, "bob").serving_token("fraudmodel")
    # nor may fraud's own people have one for the shared name: it needs both projects
    with pytest.raises(NotFound, match="fraudmodel"):
        _tokens(served.platform, "carol").serving_token("fraudmodel")
    db.run_write(lambda conn: conn.execute(sa.text("DELETE FROM deployments")))
    db.dispose()
    carol = _tokens(served.platform, "carol").serving_token("fraudmodel")["token"]
    got = httpx.post(f"{served.url}/v2/models/fraudmodel/infer", json=body, headers=_bearer(carol))
    assert got.status_code == 200, got.text


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_serving_tokens_are_refused(served: Served) -> None:
    real = _tokens(served.platform, "bob").serving_token("churn")["token"]
    header = jwt.get_unverified_header(real)
    claims = jwt.decode(real, options={"verify_signature": False})
    keys = httpx.get(f"{served.platform.url}/api/v1/auth/jwks.json").json()["keys"]
    public_pem = jwt.PyJWK.from_dict(keys[0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused = f"{_b64({'alg': 'HS256', 'kid': header['kid']})}.{_b64(claims)}"
    confused += (
        "."
        + base64.urlsafe_b64encode(hmac.new(public_pem, confused.encode(), hashlib.sha256).digest())
        .rstrip(b"=")
        .decode()
    )
    mine = ec.generate_private_key(ec.SECP256R1())
    wider = dict(claims, scope="predict:churn predict:fraudmodel serve:admin")
    forged = {
        "unsigned": f"{_b64({'alg': 'none'})}.{_b64(claims)}.",
        "hmac with the public key": confused,
        "another key, same kid": jwt.encode(wider, mine, algorithm="ES256", headers=header),
        "another issuer": jwt.encode(
            dict(claims, iss="http://evil"), mine, algorithm="ES256", headers=header
        ),
        "a platform API token": served.platform.seeded.tokens["bob"],
        "garbage": "x" * 5000,
    }
    with httpx.Client(base_url=served.url) as http:
        for why, token in forged.items():
            for path in ("/v2/models/churn", "/v2/models/fraudmodel", "/v2/repository/index"):
                method = "POST" if "repository" in path else "GET"
                got = http.request(method, path, headers=_bearer(token))
                assert got.status_code == 401, (why, path, got.text)
                assert token[:40] not in got.text


def test_every_serving_route_declares_what_it_needs(served: Served) -> None:
    routes = served.app.routes()
    assert all(r.needs in NEEDS for r in routes)
    with httpx.Client(base_url=served.url) as http:
        for route in routes:
            path = route.path.replace("{name}", "churn")
            method = route.method or "GET"
            got = http.request(method, path)
            if route.needs == PUBLIC:
                assert got.status_code != 401, (method, path)
            else:
                assert got.status_code == 401, (method, path, got.text)
    with pytest.raises(ValueError, match="needs must be one of"):
        from modelyard.serving.rest.router import Route

        Route("GET", "/v2/new", routes[0].handler, "nothing")


def test_a_server_that_cannot_have_the_platforms_keys_does_not_start(tmp_path: Any) -> None:
    with pytest.raises(InvalidArgument, match="--auth-issuer"):
        ServeConfig([ModelSource(str(saved_model()))], auth=True)
    # --auth covers the gRPC port too (tests/integration/test_serving_grpc_auth.py)
    covered = ServeConfig(
        [ModelSource(str(saved_model()))], auth=True, auth_issuer="http://x", grpc_port=0
    )
    assert covered.grpc_port == 0
    from modelyard.errors import Unavailable
    from modelyard.serving.auth import ServingAuth

    with pytest.raises(Unavailable, match=r"api/v1/auth/jwks\.json"):
        ServingAuth.load("http://127.0.0.1:9")
    (tmp_path / "jwks.json").write_text('{"keys": []}')
    with pytest.raises(InvalidArgument, match="no usable key"):
        ServingAuth.load("http://x", str(tmp_path / "jwks.json"))


def test_a_rotated_key_is_fetched_by_a_running_server(served: Served) -> None:
    _, frame = sklearn_model()
    body = oip_row(frame)
    bob = _tokens(served.platform, "bob")
    old = bob.serving_token("churn")["token"]
    with pytest.raises(PermissionDenied):
        bob.rotate_signing_key()  # a global admin's
    new_kid = _tokens(served.platform, "root").rotate_signing_key()
    new = bob.serving_token("churn")["token"]
    assert jwt.get_unverified_header(new)["kid"] == new_kid != jwt.get_unverified_header(old)["kid"]
    auth = served.app.router.auth
    assert auth is not None
    auth._asked -= 60  # as if the server had started a minute ago (no refetch before 30 s)
    with httpx.Client(base_url=served.url) as http:
        for token in (new, old, new):  # the new key is fetched once; the old one still signs
            got = http.post("/v2/models/churn/infer", json=body, headers=_bearer(token))
            assert got.status_code == 200, got.text
