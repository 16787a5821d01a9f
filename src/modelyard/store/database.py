"""The metadata database: one engine per URI, SQLite tuned for concurrent writers.

Owns connection set-up and transactions. Write transactions on SQLite take the write lock up
front (``BEGIN IMMEDIATE``) so a reader never has to upgrade mid-transaction, and a write that
still finds the database locked is retried with backoff: no "database is locked" reaches a user.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from modelyard.errors import InvalidArgument, Unavailable
from modelyard.store.checkpoints import BACKSTOP_PAGES, LOG_SIZE_LIMIT, WalCheckpointer
from modelyard.store.space import full, is_full

_WRITE = "modelyard_write"
_LOCK_RETRY_SECONDS = 120.0


# PostgreSQL: deadlock detected, serialization failure, lock not available
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def _is_lock_error(exc: DBAPIError) -> bool:
    """A conflict with other writers that a fresh attempt resolves."""
    if getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    text = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
    return "database is locked" in text or "database table is locked" in text


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy drive transactions; the driver's own implicit BEGIN is switched off.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages per connection, on demand
        cur.execute("PRAGMA mmap_size=268435456")  # read through the OS page cache
        cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")  # see checkpoints.py
        cur.execute(f"PRAGMA journal_size_limit={LOG_SIZE_LIMIT}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # straight to the driver: this runs for every transaction
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def unfit(exc: DataError) -> InvalidArgument:
    """A value the database refuses as data (a NUL character in text on PostgreSQL, a number
    out of its range): the caller's input, answered as such, never a server error."""
    said = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "refused"
    return InvalidArgument(f"a value cannot be stored or searched for: {said[:200]}")


def normalize_url(uri: str) -> str:
    """Accept the spellings users type and return a SQLAlchemy URL."""
    if uri.startswith("postgresql://") or uri.startswith("postgres://"):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    return uri


class Database:
    """An engine plus the transaction helpers every SQL store uses."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        try:
            sa_url = sa.make_url(self.url)
        except sa.exc.ArgumentError as exc:
            raise InvalidArgument(f"not a database URI: {url!r}", field="tracking_uri") from exc
        self.dialect = sa_url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise InvalidArgument(
                f"unsupported database {self.dialect!r} in {url!r}: use sqlite:/// or "
                "postgresql+psycopg://",
                field="tracking_uri",
            )
        kwargs: dict[str, Any] = {"future": True}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
        kwargs.update(engine_kwargs)
        try:
            self.engine = sa.create_engine(self.url, **kwargs)
        except ModuleNotFoundError as exc:
            raise InvalidArgument(
                f"the driver for {self.dialect} is not installed ({exc.name}); "
                "install it with: pip install 'modelyard[postgres]'",
                field="tracking_uri",
            ) from exc
        self.checkpoints: WalCheckpointer | None = None
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
            if sa_url.database not in (None, "", ":memory:"):
                self.checkpoints = WalCheckpointer(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise Unavailable(f"the metadata database is unavailable: {exc.orig}") from exc
        except DataError as exc:
            raise unfit(exc) from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; committed when the block exits without error."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn
        if self.checkpoints is not None:
            self.checkpoints.committed()

    def run_write(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(conn, *args)`` in a write transaction, retrying while the database is locked.

        ``fn`` must be safe to repeat: a retried attempt starts a fresh transaction.
        """
        deadline = time.monotonic() + _LOCK_RETRY_SECONDS
        delay = 0.005
        while True:
            try:
                with self.write() as conn:
                    return fn(conn, *args, **kwargs)
            except DataError as exc:
                raise unfit(exc) from None
            except DBAPIError as exc:
                if is_full(exc):
                    raise full(f"the metadata database ({self.dialect})", exc) from None
                if not _is_lock_error(exc):
                    if isinstance(exc, OperationalError):
                        raise Unavailable(
                            f"the metadata database is unavailable: {exc.orig}"
                        ) from exc
                    raise
                if time.monotonic() > deadline:
                    raise Unavailable(
                        "the metadata database stayed locked by other writers for "
                        f"{_LOCK_RETRY_SECONDS:.0f} s"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)

    def refresh_statistics(self, tables: Sequence[str]) -> None:
        """Let the query planner see what the tables hold now (PostgreSQL: ANALYZE; SQLite:
        PRAGMA optimize). After a bulk load, stale statistics make PostgreSQL pick nested
        loops over 100,000 rows: a search goes from 50 ms to 900 ms."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.exec_driver_sql("PRAGMA optimize")
            else:
                quote = conn.dialect.identifier_preparer.quote
                conn.exec_driver_sql("ANALYZE " + ", ".join(quote(t) for t in tables))
            conn.commit()

    def dispose(self) -> None:
        if self.checkpoints is not None:
            self.checkpoints.stop()
        self.engine.dispose()
