"""Who sent a request: an API token (``Authorization: Bearer``), a browser session cookie, or
nobody (the anonymous actor). Used by the server's ``webapi.authn.Authenticate``.

A token or session checked a moment ago is answered from memory (``quick``: one dict lookup
and a SHA-256), for at most ``token_cache_s`` and never past its end; a revocation made
through this process clears the memory at once, one made elsewhere is seen within that time.

A session cookie is the browser's, so a state-changing request that carries one must also
carry its CSRF token (``X-CSRF-Token``, handed out at login and unreadable to other sites),
and must not come from another site (``Sec-Fetch-Site``, ``Origin``). A bearer token needs no
such check: browsers never attach one on their own. ``X-Modelyard-User`` is not read.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from modelyard.auth.jwks import looks_like_jwt
from modelyard.auth.sql_sessions import Session, sha256_hex
from modelyard.auth.sql_store import SqlAuthStore
from modelyard.auth.tokens import matches, parse_token
from modelyard.config import Settings
from modelyard.errors import PermissionDenied, Unauthenticated
from modelyard.identity import Actor
from modelyard.platform.access import Grants

SESSION_COOKIE = "modelyard_session"
SECURE_COOKIE = "__Host-modelyard_session"  # when the server is reached over https
CSRF_HEADER = b"x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# where a cookie is not looked at: these authenticate by the password in their body
PASSWORD_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/auth/password"})
ANONYMOUS = Actor("anonymous", roles=frozenset(), kind="anonymous", grants=Grants())
MAX_CACHED = 10_000
_BEARER = "bearer "


class _Memory:
    """What was checked lately, by key, until a deadline (monotonic seconds)."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, object, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[object, str] | None:
        found = self._items.get(key)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1], found[2]

    def put(self, key: str, until: float, value: object, digest: str) -> None:
        with self._lock:
            self._items[key] = (until, value, digest)
            while len(self._items) > MAX_CACHED:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def cookie_name(settings: Settings) -> str:
    https = (settings.public_url or "").lower().startswith("https://")
    return SECURE_COOKIE if https else SESSION_COOKIE


def read_cookie(headers: Mapping[bytes, bytes], name: str) -> str | None:
    """The one cookie called ``name``; two of them (one planted by a sibling site) are refused."""
    raw = headers.get(b"cookie")
    if raw is None:
        return None
    found = [
        value.strip()
        for key, _, value in (p.partition("=") for p in raw.decode("latin-1").split(";"))
        if key.strip() == name
    ]
    if len(found) > 1:
        raise Unauthenticated(f"the {name} cookie was sent more than once; log in again")
    return found[0] if found else None


BearerJwt = Callable[[str], tuple[Actor, int]]


class Authenticator:
    def __init__(
        self, store: SqlAuthStore, settings: Settings, *, jwt: BearerJwt | None = None
    ) -> None:
        self.store = store
        self.jwt = jwt  # single sign-on: a provider's access token -> (actor, expiry ms)
        self.ttl = max(0.0, settings.token_cache_s)
        self.cookie = cookie_name(settings)
        public = urlsplit(settings.public_url) if settings.public_url else None
        self.origin = f"{public.scheme}://{public.netloc}".lower() if public else None
        self._tokens = _Memory()
        self._sessions = _Memory()

    def forget(self) -> None:
        """Drop what is remembered (after a revocation, a grant or a logout)."""
        self._tokens.clear()
        self._sessions.clear()

    def quick(self, method: str, path: str, headers: Mapping[bytes, bytes]) -> Actor | None:
        auth = headers.get(b"authorization")
        if auth is not None:
            bearer = _bearer(auth)
            if looks_like_jwt(bearer):
                jwt_hit = self._tokens.get("jwt:" + sha256_hex(bearer))
                return None if jwt_hit is None else jwt_hit[0]  # type: ignore[return-value]
            token_id, secret = parse_token(bearer)
            hit = self._tokens.get(token_id)
            if hit is None or not matches(secret, hit[1]):
                return None
            actor = hit[0]
            assert isinstance(actor, Actor)
            return actor
        session_id = None if path in PASSWORD_PATHS else read_cookie(headers, self.cookie)
        if session_id is None:
            return ANONYMOUS
        digest = sha256_hex(session_id)
        hit = self._sessions.get(digest)
        if hit is None:
            return None
        session = hit[0]
        assert isinstance(session, Session)
        self._check_csrf(method, headers, session)
        return session.actor

    def identify(self, method: str, path: str, headers: Mapping[bytes, bytes]) -> Actor:
        auth = headers.get(b"authorization")
        if auth is not None:
            token = _bearer(auth)
            if looks_like_jwt(token):
                return self._jwt(token)
            actor, expires_ms = self.store.tokens.authenticate(token)
            token_id, secret = parse_token(token)
            until = min(time.monotonic() + self.ttl, _monotonic_at(expires_ms))
            self._tokens.put(token_id, until, actor, sha256_hex(secret))
            return actor
        session_id = None if path in PASSWORD_PATHS else read_cookie(headers, self.cookie)
        if session_id is None:
            return ANONYMOUS
        try:
            session = self.store.sessions.lookup(session_id)
        except Unauthenticated:
            return ANONYMOUS  # an ended session: public pages still answer, others say 401
        until = min(time.monotonic() + self.ttl, _monotonic_at(session.expires_time))
        self._sessions.put(sha256_hex(session_id), until, session, session.csrf_sha256)
        self._check_csrf(method, headers, session)
        return session.actor

    def _jwt(self, token: str) -> Actor:
        if self.jwt is None:
            raise Unauthenticated(
                "this server takes its own API tokens (myd_...); single sign-on is not set up"
            )
        actor, expires_ms = self.jwt(token)
        until = min(time.monotonic() + self.ttl, _monotonic_at(expires_ms))
        self._tokens.put("jwt:" + sha256_hex(token), until, actor, "")
        return actor

    def _check_csrf(self, method: str, headers: Mapping[bytes, bytes], session: Session) -> None:
        if method in SAFE_METHODS:
            return
        site = headers.get(b"sec-fetch-site", b"same-origin").decode("latin-1").lower()
        if site not in ("same-origin", "none"):
            raise PermissionDenied(f"a cross-site request ({site}) cannot use a session")
        origin = headers.get(b"origin")
        if origin is not None and origin.decode("latin-1").lower() != self._origin(headers):
            raise PermissionDenied("the request's Origin is not this server's")
        given = headers.get(CSRF_HEADER, b"").decode("latin-1")
        if not given or not hmac.compare_digest(
            sha256_hex(given).encode(), session.csrf_sha256.encode()
        ):
            raise PermissionDenied(
                "a state-changing request with a session needs its X-CSRF-Token header "
                "(the csrf_token the login answered)",
                field="X-CSRF-Token",
            )

    def _origin(self, headers: Mapping[bytes, bytes]) -> str:
        if self.origin is not None:
            return self.origin
        host = headers.get(b"host", b"").decode("latin-1").lower()
        return f"http://{host}"


def _bearer(header: bytes) -> str:
    text = header.decode("latin-1")
    if not text[: len(_BEARER)].lower() == _BEARER or "," in text:
        raise Unauthenticated(
            "Authorization must be 'Bearer <API token>' sent once (passwords are sent only "
            "to /api/v1/auth/login)"
        )
    return text[len(_BEARER) :].strip()


def _monotonic_at(epoch_ms: int) -> float:
    return time.monotonic() + (epoch_ms / 1000.0 - time.time())
