"""Which store a URI names, and one context per store: ``Backend``.

``resolve`` turns what a user typed (a folder, ``sqlite:///file.db``, ``postgresql+psycopg://``
or a server's ``http(s)://``) into a ``Backend``: the database and artifact root of an
embedded store, or the HTTP transport of a server, with the settings it was opened with. It
is cached per (URI, artifact root, and the acting user for a server), so every client on one
store shares one connection pool.

Each domain builds what it needs beside a backend (its stores) through a ``Part``: built once
per backend on first use and held by the backend itself, so ``forget`` lets go of every
domain's stores of a URI at once, and nothing is kept in a domain's own globals.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlparse

from modelyard.config import DEFAULT_DATA_DIR, Settings, saved_token
from modelyard.errors import InvalidArgument
from modelyard.store.database import Database
from modelyard.store.rest import HttpTransport

T = TypeVar("T")


@dataclass(eq=False)
class Backend:
    """One store: where it lives (``db`` and ``artifact_root`` when embedded, ``http`` when
    a server) and the parts each domain built on it."""

    uri: str
    remote: bool
    settings: Settings
    db: Database | None = None
    artifact_root: str | None = None
    http: HttpTransport | None = None
    parts: dict[Part[Any], Any] = field(default_factory=dict, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    closed: bool = False

    def close(self) -> None:
        """Close every part that can be closed, the last built first (a client's writer
        delivers what it holds while its store is still open), then the connections."""
        with self.lock:
            self.closed = True
            made = list(self.parts.values())
            self.parts.clear()
        for part in reversed(made):
            close = getattr(part, "close", None)
            if callable(close):
                close()
        if self.db is not None:
            self.db.dispose()
        if self.http is not None:
            self.http.close()


class Part(Generic[T]):
    """What a domain builds beside a backend (its stores): ``part(backend)`` builds it once
    per backend, on first use, and the backend holds it."""

    def __init__(self, build: Callable[[Backend], T]) -> None:
        self._build = build

    def __call__(self, backend: Backend) -> T:
        with backend.lock:  # re-entrant: one part may be built from another
            if self in backend.parts:
                made: T = backend.parts[self]
                return made
            made = self._build(backend)
            backend.parts[self] = made
            return made

    def built(self, backend: Backend) -> T | None:
        """What was built on ``backend``, without building it."""
        with backend.lock:
            found: T | None = backend.parts.get(self)
            return found


@dataclass(frozen=True)
class Locations:
    """Where a SQL backend keeps its metadata and its artifacts."""

    db_url: str
    artifact_root: str


def _file_uri(path: Path) -> str:
    return path.resolve().as_uri()


def absolute_artifact_root(uri: str | None) -> str | None:
    """A relative folder is made absolute once, here: stored relative, it would move with the
    working directory of whichever process reads it later."""
    if uri is None or "://" in uri:
        return uri
    return _file_uri(Path(uri))


def sql_locations(uri: str | None, artifacts_uri: str | None) -> Locations:
    """Map a tracking URI (or None for the default folder) to a database URL and artifact root."""
    if uri is None or uri == "":
        uri = DEFAULT_DATA_DIR
    artifacts_uri = absolute_artifact_root(artifacts_uri)
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme.startswith("sqlite"):
        path_part = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not path_part or path_part == ":memory:":
            raise InvalidArgument(
                "an in-memory SQLite database cannot be shared between connections; "
                "give a file, e.g. sqlite:///yard.db",
                field="tracking_uri",
            )
        db_path = Path(path_part)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        root = artifacts_uri or _file_uri(db_path.parent / "modelyard-artifacts")
        return Locations(f"sqlite:///{db_path.resolve()}", root)
    if scheme.startswith("postgres"):
        root = artifacts_uri or _file_uri(Path(DEFAULT_DATA_DIR) / "artifacts")
        return Locations(uri, root)
    if scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
        folder = Path(parsed.path if scheme == "file" else uri)
        folder.mkdir(parents=True, exist_ok=True)
        root = artifacts_uri or _file_uri(folder / "artifacts")
        return Locations(f"sqlite:///{(folder / 'modelyard.db').resolve()}", root)
    raise InvalidArgument(
        f"unsupported tracking URI {uri!r}: use a folder, sqlite:///file.db, "
        "postgresql+psycopg://..., or http(s)://host:port of a modelyard server",
        field="tracking_uri",
    )


def is_remote(uri: str | None) -> bool:
    return bool(uri) and urlparse(uri).scheme.lower() in ("http", "https")


_cache: dict[tuple[str, str | None, str | None], Backend] = {}
_cache_lock = threading.Lock()


def open_sql(uri: str | None, settings: Settings) -> Backend:
    """An embedded store's backend, not cached (a server holds its own)."""
    loc = sql_locations(uri, settings.artifacts_uri)
    return Backend(
        uri or DEFAULT_DATA_DIR,
        remote=False,
        settings=settings,
        db=Database(loc.db_url),
        artifact_root=loc.artifact_root,
    )


def _credential(uri: str | None, settings: Settings) -> tuple[str | None, str | None]:
    """``(token, cache key part)`` of a server connection: the API token (MODELYARD_TOKEN,
    else the one ``modelyard login`` saved for that URL), keyed by its hash; else the user."""
    if not is_remote(uri):
        return None, None
    assert uri is not None
    token = settings.token or saved_token(uri)
    if token is not None:
        return token, "token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
    return None, settings.user


def resolve(uri: str | None, settings: Settings) -> Backend:
    # a server connection carries its credential, so each identity gets its own
    token, who = _credential(uri, settings)
    key = (uri or DEFAULT_DATA_DIR, settings.artifacts_uri, who)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            return found
        if is_remote(uri):
            assert uri is not None
            http = HttpTransport(
                uri, timeout=settings.http_timeout, user=settings.user, token=token
            )
            backend = Backend(uri, remote=True, settings=settings, http=http)
        else:
            backend = open_sql(uri, settings)
        _cache[key] = backend
        return backend


def open_backends() -> list[Backend]:
    """The backends this process has open."""
    with _cache_lock:
        return list(_cache.values())


def forget(uri: str | None = None) -> None:
    """Close cached backends (all, or those of one URI), every domain's parts with them."""
    with _cache_lock:
        gone = [_cache.pop(key) for key in list(_cache) if uri is None or key[0] == uri]
    for backend in gone:  # outside the lock: a part being built may be resolving a URI
        backend.close()
