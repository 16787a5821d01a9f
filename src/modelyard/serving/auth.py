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
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument, PermissionDenied, Unauthenticated, Unavailable
from modelyard.serving.repository.fleet import NotServed

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


REFETCH_S = 30.0  # the platform's keys are asked for again at most this often


class ServingAuth:
    def __init__(self, issuer: str, keys: dict[str, Any], jwks_url: str | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.keys = keys  # kid -> public key
        self.jwks_url = jwks_url  # where the keys came from (None: a file, never refetched)
        self._asked = time.monotonic()
        self._seen: OrderedDict[bytes, tuple[float, frozenset[str]]] = OrderedDict()
        self._refused: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, issuer: str, jwks: str | None = None) -> ServingAuth:
        """The platform's keys: from ``jwks`` (a file), else ``{issuer}/api/v1/auth/jwks.json``;
        a server that cannot have them does not start."""
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
        return cls(issuer, _keys_of(found), url)

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
        except UnknownKey:
            if not await self.refresh():
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
            exp, scopes = self._check(token)
        except UnknownKey:
            raise  # not remembered: the keys may be asked for again
        except Unauthenticated as exc:
            with self._lock:
                self._refused[token] = exc.message
                while len(self._refused) > 1000:
                    self._refused.popitem(last=False)
            raise
        with self._lock:
            self._seen[token] = (exp, scopes)
            while len(self._seen) > _CACHED:
                self._seen.popitem(last=False)
        return scopes

    def _check(self, token: bytes) -> tuple[float, frozenset[str]]:
        import jwt

        if len(token) > MAX_TOKEN or token.count(b".") != 2:
            raise Unauthenticated("the bearer token is not a serving token")
        text = token.decode("ascii", "replace")
        try:
            header = jwt.get_unverified_header(text)
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a serving token") from None
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
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the serving token is not valid: {type(exc).__name__}") from None
        if int(claims["exp"]) - int(claims["iat"]) > MAX_LIFE_S:
            raise Unauthenticated("a serving token lives at most a day")
        scope = claims.get("scope", "")
        scopes = frozenset(str(scope).split()) if isinstance(scope, str) else frozenset()
        return float(claims["exp"]) + LEEWAY_S, scopes

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


def _fetch(url: str) -> Any:
    import httpx

    try:
        resp = httpx.get(url, timeout=10.0)
        resp.raise_for_status()
        return resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable(
            f"--auth needs the platform's keys, and {url} did not give them: {exc}"
        ) from None


def _keys_of(found: Any) -> dict[str, Any]:
    import jwt

    keys = {}
    for entry in found.get("keys", []) if isinstance(found, dict) else []:
        if isinstance(entry, dict) and entry.get("kty") == "EC" and entry.get("kid"):
            keys[str(entry["kid"])] = jwt.PyJWK.from_dict(entry).key
    if not keys:
        raise InvalidArgument("the platform's JWKS holds no usable key", field="auth_jwks")
    return keys
