"""Bearer JWTs are accepted only as the provider signed them for this server: not unsigned
(alg none), not HMAC-signed with the provider's public key, not from another issuer or for
another audience, not expired or without an expiry, not with a key the provider does not list
(and forged key ids do not make the server hammer the provider)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.fixtures.oidc import SsoServer, client_credentials_token

from modelyard.auth.jwks import ProviderKeys
from modelyard.errors import ModelyardError, Unauthenticated

ISSUER = "https://id.example.org"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _whoami(srv: SsoServer, token: str) -> httpx.Response:
    return httpx.get(f"{srv.url}/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"})


def test_forged_tokens_are_refused_by_the_server(sso_server: SsoServer) -> None:
    real = client_credentials_token(sso_server)
    assert _whoami(sso_server, real).status_code == 200
    header = jwt.get_unverified_header(real)
    claims = jwt.decode(real, options={"verify_signature": False})
    # unsigned
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    # HMAC with the provider's public key as the secret (the classic key confusion)
    jwks = httpx.get(f"{sso_server.issuer}/jwks").json()
    public = jwt.PyJWK.from_dict(jwks["keys"][0]).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused = _b64({"alg": "HS256", "typ": "JWT", "kid": header["kid"]}) + "." + _b64(claims)
    import hashlib
    import hmac

    sig = hmac.new(public, confused.encode(), hashlib.sha256).digest()
    confused += "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
    # signed by someone else's key, claiming the provider's key id
    mine = ec.generate_private_key(ec.SECP256R1())
    impostor = jwt.encode(claims, mine, algorithm="ES256", headers={"kid": header["kid"]})
    unknown_kid = jwt.encode(claims, mine, algorithm="ES256", headers={"kid": "not-listed"})
    for forged, why in (
        (unsigned, "not accepted"),
        (confused, "not accepted"),
        (impostor, "not valid"),
        (unknown_kid, "does not list"),
    ):
        got = _whoami(sso_server, forged)
        assert got.status_code == 401, (why, got.text)
        assert why in got.json()["error"]["message"], got.text
        assert forged not in got.text


@pytest.fixture
def keys() -> tuple[ProviderKeys, Any]:
    """A provider whose discovery and keys are already known (no network), and its key."""
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    jwk.update(kid="k1", alg="ES256", use="sig")
    found = ProviderKeys(ISSUER)
    found._discovery = {"issuer": ISSUER, "jwks_uri": ISSUER + "/jwks"}
    found._keys = {"k1": (jwt.PyJWK.from_dict(jwk), "ES256")}
    found._tried = {"jwks": time.monotonic(), "discovery": time.monotonic()}
    return found, private


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"iss": ISSUER, "sub": "u1", "aud": "urn:modelyard", "exp": now + 60}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({}, None),
        ({"iss": "https://other.example.org"}, "another issuer"),
        ({"aud": "urn:someone-else"}, "another audience"),
        ({"aud": ["urn:someone-else", "urn:x"]}, "another audience"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"exp": None}, "not valid"),
        ({"sub": None}, "not valid"),
        ({"nbf": int(time.time()) + 3600}, "not valid"),
    ],
)
def test_each_claim_is_checked(
    keys: tuple[ProviderKeys, Any], changes: dict[str, Any], said: str | None
) -> None:
    provider, private = keys
    token = jwt.encode(_claims(**changes), private, algorithm="ES256", headers={"kid": "k1"})
    for _ in range(2):
        if said is None:
            assert provider.verify(token, audience="urn:modelyard")["sub"] == "u1"
        else:
            with pytest.raises(Unauthenticated, match=said):
                provider.verify(token, audience="urn:modelyard")


def test_the_nonce_and_the_keys_algorithm_are_checked(keys: tuple[ProviderKeys, Any]) -> None:
    provider, private = keys
    token = jwt.encode(_claims(nonce="n1"), private, algorithm="ES256", headers={"kid": "k1"})
    assert provider.verify(token, audience="urn:modelyard", nonce="n1")["nonce"] == "n1"
    with pytest.raises(Unauthenticated, match="nonce"):
        provider.verify(token, audience="urn:modelyard", nonce="n2")
    other = ec.generate_private_key(ec.SECP384R1())
    wrong = jwt.encode(_claims(), other, algorithm="ES384", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated, match="for ES256, not ES384"):
        provider.verify(wrong, audience="urn:modelyard")


def test_forged_key_ids_do_not_hammer_the_provider(keys: tuple[ProviderKeys, Any]) -> None:
    provider, private = keys  # its keys were fetched a moment ago
    for n in range(50):
        token = jwt.encode(_claims(), private, algorithm="ES256", headers={"kid": f"x{n}"})
        with pytest.raises(Unauthenticated, match="does not list"):
            provider.verify(token, audience="urn:modelyard")  # no fetch: ISSUER is not real


def test_a_server_without_single_sign_on_refuses_jwts(auth_server: Any) -> None:
    token = f"{_b64({'alg': 'ES256'})}.{_b64(_claims())}.c2ln"
    got = httpx.get(
        f"{auth_server.url}/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"}
    )
    assert got.status_code == 401 and "single sign-on is not set up" in got.text


def test_a_silent_provider_is_asked_once_and_others_are_not_held_up() -> None:
    """Forged tokens with new key ids, while the provider never answers: the first waits for
    the provider's timeout, the rest are refused at once (no queue behind it)."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # accepts, never answers
    port = listener.getsockname()[1]
    provider = ProviderKeys(f"http://127.0.0.1:{port}", timeout_s=1.0)
    provider._discovery = {"issuer": provider.issuer, "jwks_uri": provider.issuer + "/jwks"}
    private = ec.generate_private_key(ec.SECP256R1())
    times: list[float] = []

    def one(n: int) -> None:
        token = jwt.encode(_claims(), private, algorithm="ES256", headers={"kid": f"k{n}"})
        t0 = time.monotonic()
        with pytest.raises(ModelyardError):
            provider.verify(token, audience="urn:modelyard")
        times.append(time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    listener.close()
    assert len(times) == 20
    assert sum(1 for t in times if t > 0.5) == 1, sorted(times)  # one asked, the rest not
