"""An OpenID provider's discovery document and signing keys, and the checks of the JWTs it
signs (ID tokens at login, bearer access tokens of programs).

A JWT is accepted only when: its header names an asymmetric algorithm (never ``none``, never
an HMAC one, so a public key can never be used as a shared secret) that the key it names
(``kid``) is for; the signature verifies with that key from the provider's JWKS; ``iss`` is
the configured issuer, ``aud`` holds the expected audience, and ``exp`` (required) has not
passed. A ``kid`` the cached keys do not hold makes one fresh fetch of the JWKS (at most one
every ``REFETCH_S``, so forged kids cannot make the server hammer the provider).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from modelyard.errors import InvalidArgument, Unauthenticated, Unavailable

# the algorithms a provider may sign with; HS* and none are never accepted
ASYMMETRIC = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
REFETCH_S = 30.0
LEEWAY_S = 30  # clock difference tolerated on exp, iat and nbf
_KTY_ALGS = {"RSA": ("RS", "PS"), "EC": ("ES",), "OKP": ("EdDSA",)}


def looks_like_jwt(text: str) -> bool:
    return text.startswith("eyJ") and text.count(".") == 2


class ProviderKeys:
    """The provider at ``issuer``: its discovery document (fetched once) and its keys."""

    def __init__(self, issuer: str, *, timeout_s: float = 5.0) -> None:
        self.issuer = issuer.rstrip("/")
        self.timeout_s = timeout_s
        self._discovery: dict[str, Any] | None = None
        self._keys: dict[str, tuple[Any, str | None]] = {}  # kid -> (PyJWK, its "alg")
        # when the provider was last asked (answered or not): one try every REFETCH_S, so
        # forged tokens cannot queue requests behind a slow or absent provider
        self._tried: dict[str, float] = {}
        self._lock = threading.Lock()

    def _may_try(self, what: str) -> bool:
        """Whether to ask the provider for ``what`` now (and note that it was asked)."""
        now = time.monotonic()
        with self._lock:
            last = self._tried.get(what)
            if last is not None and now - last < REFETCH_S:
                return False
            self._tried[what] = now
            return True

    def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            if not self._may_try("discovery"):
                raise Unavailable(
                    f"the OpenID provider at {self.issuer} did not answer lately; try again soon"
                )
            found = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise Unavailable(
                    f"the OpenID provider at {self.issuer} names another issuer "
                    f"({found.get('issuer')!r}) in its discovery document"
                )
            self._discovery = found
        return self._discovery

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            resp = httpx.get(url, timeout=self.timeout_s, follow_redirects=False)
            resp.raise_for_status()
            found = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unavailable(f"the OpenID provider did not answer {url}: {exc}") from None
        if not isinstance(found, dict):
            raise Unavailable(f"the OpenID provider answered {url} with no JSON object")
        return found

    def knows(self, kid: str) -> bool:
        """Whether the keys fetched so far hold ``kid`` (no request is made)."""
        return kid in self._keys

    def refresh_keys(self) -> bool:
        """Fetch the provider's keys again, unless they were asked for lately; whether it
        did (an unanswering provider counts as not)."""
        if not self._may_try("jwks"):
            return False
        try:
            self._keys = self._fetch_keys()
        except Unavailable:
            return False
        return True

    def _fetch_keys(self) -> dict[str, tuple[Any, str | None]]:
        import jwt

        jwks = self._get_json(str(self.discovery()["jwks_uri"]))  # no lock held meanwhile
        keys: dict[str, tuple[Any, str | None]] = {}
        for entry in jwks.get("keys", []):
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                named = entry.get("alg")
                keys[str(entry.get("kid", ""))] = (
                    jwt.PyJWK.from_dict(entry),
                    str(named) if named else None,
                )
            except jwt.PyJWTError:
                continue  # a key of a kind this server cannot use
        return keys

    def _key(self, kid: str) -> tuple[Any, str | None]:
        key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._may_try("jwks"):  # asked lately: an unknown kid is unknown
            raise Unauthenticated("the token is signed with a key the provider does not list")
        self._keys = self._fetch_keys()
        key = self._keys.get(kid)
        if key is None:
            raise Unauthenticated("the token is signed with a key the provider does not list")
        return key

    def verify(self, token: str, *, audience: str, nonce: str | None = None) -> dict[str, Any]:
        """The claims of ``token``, once every check of the module's rules passed;
        ``Unauthenticated`` (saying which check failed, never the token) otherwise."""
        import jwt

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a JWT") from None
        alg = header.get("alg")
        if alg not in ASYMMETRIC:
            raise Unauthenticated(
                f"the token's algorithm {str(alg)[:20]!r} is not accepted (only asymmetric "
                "signatures from the provider's keys)"
            )
        key, named = self._key(str(header.get("kid", "")))
        kty = str(key.key_type or "")
        if not any(str(alg).startswith(p) for p in _KTY_ALGS.get(kty, ())):
            raise Unauthenticated(f"the token's algorithm {alg} does not fit its {kty} key")
        if named is not None and named != alg:
            raise Unauthenticated(f"the key the token names is for {named}, not {alg}")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token is from another issuer") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token is not valid: {type(exc).__name__}") from None
        if nonce is not None and claims.get("nonce") != nonce:
            raise Unauthenticated("the ID token is not the answer to this login (nonce)")
        return claims


def check_issuer_url(url: str) -> str:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise InvalidArgument(
            "MODELYARD_OIDC_ISSUER must be an https:// URL (http only on loopback)",
            field="MODELYARD_OIDC_ISSUER",
        )
    return url.rstrip("/")
