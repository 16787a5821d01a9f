"""Who may call an inference server started with ``--auth``: the holder of a serving token
the platform signed (``POST /api/v1/auth/serving-tokens``), checked here with the platform's
public keys and nothing else, so no request waits on the platform or its database.

A token is checked once (ES256 signature with a key the platform's JWKS lists, ``iss`` the
platform, ``aud`` ``modelyard-serve``, ``exp`` required and at most a day after ``iat``) and
remembered until it expires: a later request with it costs one dictionary lookup. A route
declares what it needs (``Route.needs``): nothing (health probes), a token (the server's
metadata, metrics, feedback), ``predict:<endpoint>`` for a model's routes (a token for
another endpoint is answered as if the model were not served, so names do not leak), or
``serve:admin`` (loading and unloading models).

Revocation: every ``REVOKED_POLL_S`` a background task asks the platform for the ids of
revoked serving tokens (``/api/v1/auth/serving-tokens/revoked``) and forgets those it
remembered; a platform that does not answer leaves the last list in place (tokens still end
at their expiry). Keys from a file (``--auth-jwks``) mean no platform to ask: no revocation.

Provider tokens: with ``--auth-oidc-issuer``, an access token the OpenID provider signed for
``--auth-oidc-audience`` (default ``modelyard-serve``) is accepted as well, with the same
scopes (``scope`` or ``scp``: ``predict:<endpoint>``, ``serve:admin``), checked against the
provider's JWKS by the rules of ``auth.jwks`` (asymmetric algorithms only, issuer, audience,
expiry).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import InvalidArgument, PermissionDenied, Unauthenticated, Unavailable
from modelyard.serving.repository.fleet import NotServed

if TYPE_CHECKING:
    from modelyard.auth.jwks import ProviderKeys

log = logging.getLogger(__name__)

PUBLIC = "public"
TOKEN = "token"  # noqa: S105 - what a route needs, not a secret
PREDICT = "predict"
ADMIN = "admin"
NEEDS = (PUBLIC, TOKEN, PREDICT, ADMIN)
ADMIN_SCOPE = "serve:admin"
AUDIENCE = "modelyard-serve"
MAX_TOKEN = 4096
MAX_LIFE_S = 86400
LEEWAY_S = 30
_CACHED = 10_000
_ASK_FOR_ONE = (
    "this server needs a serving token: Authorization: Bearer <token> (modelyard tokens "
    "serving ENDPOINT, or POST /api/v1/auth/serving-tokens on the platform)"
)


class UnknownKey(Unauthenticated):
    """Signed with a key this server has not fetched (a rotation since it started?)."""

    def __init__(self, message: str, *, provider: bool = False) -> None:
        super().__init__(message)
        self.provider = provider  # the OpenID provider's key, not the platform's


class NotYet(Unauthenticated):
    """Dated ahead of this server's clock: refused now, and not remembered as refused."""


REFETCH_S = 30.0  # the platform's keys are asked for again at most this often
REVOKED_POLL_S = 10.0  # revoked serving tokens are refused within this (and a request)


class ServingAuth:
    def __init__(
        self,
        issuer: str,
        keys: dict[str, Any],
        jwks_url: str | None = None,
        provider: ProviderKeys | None = None,
        provider_audience: str = AUDIENCE,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.keys = keys  # kid -> public key
        self.jwks_url = jwks_url  # where the keys came from (None: a file, never refetched)
        self.provider = provider  # an OpenID provider whose access tokens count too
        self.provider_audience = provider_audience
        self.revoked: frozenset[str] = frozenset()
        self.revoked_url = None if jwks_url is None else f"{self.issuer}{REVOKED_PATH}"
        self._asked = time.monotonic()
        self._seen: OrderedDict[bytes, tuple[float, frozenset[str], str]] = OrderedDict()
        self._refused: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls,
        issuer: str,
        jwks: str | None = None,
        *,
        oidc_issuer: str | None = None,
        oidc_audience: str | None = None,
    ) -> ServingAuth:
        """The platform's keys: from ``jwks`` (a file), else ``{issuer}/api/v1/auth/jwks.json``;
        and the provider's at ``oidc_issuer``, when given. A server that cannot have them
        does not start."""
        url = None
        if jwks is not None:
            try:
                found = json.loads(Path(jwks).read_text())
            except (OSError, ValueError) as exc:
                raise InvalidArgument(
                    f"cannot read the JWKS file {jwks}: {exc}", field="auth_jwks"
                ) from None
        else:
            url = f"{issuer.rstrip('/')}/api/v1/auth/jwks.json"
            found = _fetch(url)
        provider = None
        if oidc_issuer is not None:
            from modelyard.auth.jwks import ProviderKeys, check_issuer_url

            provider = ProviderKeys(check_issuer_url(oidc_issuer))
            if not provider.refresh_keys():
                raise Unavailable(
                    f"--auth-oidc-issuer: the OpenID provider at {oidc_issuer} did not give "
                    "its keys"
                )
        made = cls(issuer, _keys_of(found), url, provider, oidc_audience or AUDIENCE)
        if url is not None:
            made.poll_revoked()
        return made

    # --- revocation ------------------------------------------------------------------------
    def apply_revoked(self, jtis: frozenset[str]) -> None:
        """Refuse these token ids from now on, and forget the tokens remembered with them."""
        with self._lock:
            added = jtis - self.revoked
            self.revoked = jtis
            if added:
                for token in [t for t, (_, _, j) in self._seen.items() if j in added]:
                    del self._seen[token]

    def poll_revoked(self) -> bool:
        """Ask the platform for the revoked ids once; False when it did not answer."""
        if self.revoked_url is None:
            return False
        try:
            found = _fetch(self.revoked_url, "the revoked serving tokens")
            listed = found.get("revoked") if isinstance(found, dict) else None
            if not isinstance(listed, list):
                raise Unavailable("no list of revoked ids")
        except Unavailable as exc:
            log.warning("revoked serving tokens not refreshed: %s", exc.message)
            return False
        self.apply_revoked(frozenset(str(j) for j in listed))
        return True

    async def watch_revoked(self, every_s: float = REVOKED_POLL_S) -> None:
        """``poll_revoked`` every ``every_s`` (off the event loop), until cancelled."""
        while True:
            await asyncio.sleep(every_s)
            await asyncio.to_thread(self.poll_revoked)

    async def refresh(self) -> bool:
        """Ask the platform for its keys again (a key rotated since the start); False when
        they come from a file, or were asked for less than REFETCH_S ago."""
        import asyncio

        now = time.monotonic()
        with self._lock:
            if self.jwks_url is None or now - self._asked < REFETCH_S:
                return False
            self._asked = now
        try:
            found = await asyncio.to_thread(_fetch, self.jwks_url)
            self.keys = _keys_of(found)
        except (Unavailable, InvalidArgument):
            return False
        return True

    async def check(self, headers: dict[bytes, bytes], needs: str, endpoint: str | None) -> None:
        """``require``, asking for the platform's keys again once when a token names a key
        this server does not know yet."""
        try:
            self.require(headers, needs, endpoint)
        except UnknownKey as exc:
            if exc.provider and self.provider is not None:
                if not await asyncio.to_thread(self.provider.refresh_keys):
                    raise
            elif not await self.refresh():
                raise
            self.require(headers, needs, endpoint)

    def scopes(self, headers: dict[bytes, bytes]) -> frozenset[str]:
        """The scopes of the request's token; ``Unauthenticated`` without a valid one."""
        raw = headers.get(b"authorization")
        if raw is None or not raw[:7].lower() == b"bearer ":
            raise Unauthenticated(_ASK_FOR_ONE)
        token = raw[7:].strip()
        now = time.time()
        seen = self._seen.get(token)
        if seen is not None and seen[0] > now:
            return seen[1]
        refused = self._refused.get(token)
        if refused is not None:
            raise Unauthenticated(refused)
        try:
            exp, scopes, jti = self._check(token)
        except (UnknownKey, NotYet):
            raise  # not remembered: the keys may be asked for again, the clock move on
        except Unauthenticated as exc:
            with self._lock:
                self._refused[token] = exc.message
                while len(self._refused) > 1000:
                    self._refused.popitem(last=False)
            raise
        with self._lock:
            if jti and jti in self.revoked:  # revoked while it was being checked
                raise Unauthenticated("the serving token was revoked")
            self._seen[token] = (exp, scopes, jti)
            while len(self._seen) > _CACHED:
                self._seen.popitem(last=False)
        return scopes

    def _check(self, token: bytes) -> tuple[float, frozenset[str], str]:
        """``(when to forget it, its scopes, its id)`` of a token checked now."""
        import jwt

        if len(token) > MAX_TOKEN or token.count(b".") != 2:
            raise Unauthenticated("the bearer token is not a serving token")
        text = token.decode("ascii", "replace")
        try:
            header = jwt.get_unverified_header(text)
            said = jwt.decode(text, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a serving token") from None
        if self.provider is not None and str(said or "").rstrip("/") == self.provider.issuer:
            return self._check_provider(text, str(header.get("kid", "")))
        if header.get("alg") != "ES256":
            raise Unauthenticated("a serving token is signed with ES256 by the platform")
        key = self.keys.get(str(header.get("kid", "")))
        if key is None:
            raise UnknownKey("the token is signed with a key this server does not know")
        try:
            claims = jwt.decode(
                text,
                key,
                algorithms=["ES256"],
                audience=AUDIENCE,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the serving token has expired") from None
        except jwt.ImmatureSignatureError:  # clocks apart: it may be good in a moment
            raise NotYet("the serving token is not valid yet (its iat or nbf is ahead)") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the serving token is not valid: {type(exc).__name__}") from None
        if int(claims["exp"]) - int(claims["iat"]) > MAX_LIFE_S:
            raise Unauthenticated("a serving token lives at most a day")
        jti = str(claims.get("jti") or "")
        if jti and jti in self.revoked:
            raise Unauthenticated("the serving token was revoked")
        return float(claims["exp"]) + LEEWAY_S, _scopes_of(claims), jti

    def _check_provider(self, text: str, kid: str) -> tuple[float, frozenset[str], str]:
        """A provider's access token, by ``auth.jwks``' rules, for this server's audience."""
        assert self.provider is not None
        if not self.provider.knows(kid):
            raise UnknownKey(
                "the token is signed with a key the provider does not list", provider=True
            )
        claims = self.provider.verify(text, audience=self.provider_audience)
        return float(claims["exp"]) + LEEWAY_S, _scopes_of(claims), ""

    def require(self, headers: dict[bytes, bytes], needs: str, endpoint: str | None = None) -> None:
        """Raise unless the request may do what a route ``needs`` (for ``endpoint``)."""
        if needs == PUBLIC:
            return
        scopes = self.scopes(headers)
        if needs == TOKEN:
            return
        if needs == ADMIN:
            if ADMIN_SCOPE not in scopes:
                raise PermissionDenied("this needs a token with the serve:admin scope")
            return
        if f"predict:{endpoint}" not in scopes:
            raise NotServed(f"model {endpoint!r} is not served here")


REVOKED_PATH = "/api/v1/auth/serving-tokens/revoked"


def _scopes_of(claims: dict[str, Any]) -> frozenset[str]:
    """A token's scopes: ``scope`` (space-separated, RFC 8693/9068) or ``scp`` (a list, as
    some providers write it)."""
    found: set[str] = set()
    scope = claims.get("scope")
    if isinstance(scope, str):
        found.update(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, str):
        found.update(scp.split())
    elif isinstance(scp, list):
        found.update(s for s in scp if isinstance(s, str))
    return frozenset(found)


def _fetch(url: str, what: str = "the platform's keys (--auth needs them)") -> Any:
    import httpx

    try:
        resp = httpx.get(url, timeout=10.0)
        resp.raise_for_status()
        return resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable(f"{url} did not give {what}: {exc}") from None


def _keys_of(found: Any) -> dict[str, Any]:
    import jwt

    keys = {}
    for entry in found.get("keys", []) if isinstance(found, dict) else []:
        if isinstance(entry, dict) and entry.get("kty") == "EC" and entry.get("kid"):
            keys[str(entry["kid"])] = jwt.PyJWK.from_dict(entry).key
    if not keys:
        raise InvalidArgument("the platform's JWKS holds no usable key", field="auth_jwks")
    return keys
