"""Dialect-aware statements the SQL stores share: upsert, insert-if-absent, chunked IN lists."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

T = TypeVar("T")

# Safely below SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 900


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def in_ids(
    column: sa.ColumnElement[Any], ids: Sequence[str], dialect: str
) -> sa.ColumnElement[bool]:
    """``column IN ids`` with the whole list as ONE bound parameter (a JSON array read by
    ``json_each`` on SQLite, an array on PostgreSQL): no statement grows with the list, so
    ten thousand ids cost one query and no compile time."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(sa.Text)))
    values = sa.func.json_each(
        sa.bindparam(None, orjson.dumps(list(ids)).decode(), type_=sa.Text)
    ).table_valued("value")
    return column.in_(sa.select(values.c.value))


def _insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows; a row whose primary key exists already is left as it is."""
    if rows:
        conn.execute(_insert(conn, table).on_conflict_do_nothing(), rows)


def bulk_insert_ignore(
    conn: Connection, table: sa.Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert many rows given as tuples, skipping primary-key clashes, straight through the
    driver's ``executemany``: for the hot path (metric points) SQLAlchemy's per-row parameter
    processing would cost more than the database work."""
    if not rows:
        return
    prep = conn.dialect.identifier_preparer
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(prep.quote(c) for c in columns)
    marks = ", ".join([mark] * len(columns))
    conn.exec_driver_sql(
        f"INSERT INTO {prep.format_table(table)} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING",
        list(rows),
    )


WhereFn = Callable[[sa.Table, Any], sa.ColumnElement[bool]]


@functools.lru_cache(maxsize=256)
def _upsert_statement(
    dialect: str, table: sa.Table, update_columns: tuple[str, ...], where: WhereFn | None
) -> Any:
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={name: excluded[name] for name in update_columns},
        where=None if where is None else where(table, excluded),
    )


def upsert(
    conn: Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    update_columns: Sequence[str],
    where: WhereFn | None = None,
) -> None:
    """Insert rows; on a primary-key clash overwrite ``update_columns`` (when ``where`` holds).

    ``where`` is a module-level function ``(table, excluded) -> clause`` comparing the stored
    row with the incoming one. The statement is built once per table and reused.
    """
    if rows:
        stmt = _upsert_statement(conn.dialect.name, table, tuple(update_columns), where)
        conn.execute(stmt, rows)
