"""Choosing the tracking backend from a URI: embedded folder, SQLite, PostgreSQL or a server.

``resolve`` turns what a user typed into a ``Backend`` (metadata store, artifact service, and
whether writes may be spooled). Backends are cached per (URI, artifact root) in the process,
so every ``Client`` on one database shares one connection pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlparse

from modelyard.config import DEFAULT_DATA_DIR, Settings
from modelyard.errors import InvalidArgument
from modelyard.store.database import Database
from modelyard.store.rest import HttpTransport
from modelyard.tracking.rest_store import RestRunArtifacts, RestTrackingStore
from modelyard.tracking.sql_artifacts import SqlRunArtifacts
from modelyard.tracking.sql_store import SqlTrackingStore
from modelyard.tracking.store import RunArtifacts, TrackingStore

T = TypeVar("T")


@dataclass(frozen=True)
class Backend:
    """A tracking store and where it lives; other domains build their stores beside it
    (on ``db`` and ``artifact_root`` when embedded, on ``http`` when remote)."""

    uri: str
    store: TrackingStore
    artifacts: RunArtifacts
    remote: bool
    db: Database | None = None
    artifact_root: str | None = None
    http: HttpTransport | None = None
    settings: Settings | None = None


@dataclass(frozen=True)
class Locations:
    """Where a SQL backend keeps its metadata and its artifacts."""

    db_url: str
    artifact_root: str


class PerBackend(Generic[T]):
    """What another domain builds beside a tracking backend (its stores), built once per
    backend and shared, so every client on one store shares its connections."""

    def __init__(self, build: Callable[[Backend], T]) -> None:
        self._build = build
        self._made: dict[int, tuple[Backend, T]] = {}
        self._lock = threading.Lock()

    def __call__(self, backend: Backend) -> T:
        with self._lock:
            found = self._made.get(id(backend))
            if found is not None and found[0] is backend:
                return found[1]
            made = self._build(backend)
            self._made[id(backend)] = (backend, made)
            return made

    def forget(self) -> None:
        """Drop what was built (the connections belong to the tracking backends)."""
        with self._lock:
            self._made.clear()


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


def open_sql_backend(uri: str | None, settings: Settings) -> Backend:
    loc = sql_locations(uri, settings.artifacts_uri)
    db = Database(loc.db_url)
    store = SqlTrackingStore(db, loc.artifact_root)
    arts = SqlRunArtifacts(
        db,
        max_bytes=settings.max_artifact_bytes,
        s3_endpoint_url=settings.s3_endpoint_url,
        fsync=settings.artifact_fsync,
    )
    return Backend(
        uri or DEFAULT_DATA_DIR,
        store,
        arts,
        remote=False,
        db=db,
        artifact_root=loc.artifact_root,
        settings=settings,
    )


def resolve(uri: str | None, settings: Settings) -> Backend:
    # a server connection carries its user (the acting identity), so each user gets its own
    key = (
        uri or DEFAULT_DATA_DIR,
        settings.artifacts_uri,
        settings.user if is_remote(uri) else None,
    )
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            return found
        if is_remote(uri):
            assert uri is not None
            http = HttpTransport(uri, timeout=settings.http_timeout, user=settings.user)
            backend = Backend(
                uri,
                RestTrackingStore(http),
                RestRunArtifacts(http),
                remote=True,
                http=http,
                settings=settings,
            )
        else:
            backend = open_sql_backend(uri, settings)
        _cache[key] = backend
        return backend


def forget(uri: str | None = None) -> None:
    """Close cached backends (all, or those of one URI)."""
    with _cache_lock:
        for key in list(_cache):
            if uri is None or key[0] == uri:
                _cache.pop(key).store.close()
