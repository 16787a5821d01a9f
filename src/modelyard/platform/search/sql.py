"""A comparison of the search language as SQLAlchemy Core, for any table: every value a user
wrote reaches the database as a bound parameter, never as SQL text."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from modelyard.errors import InvalidArgument
from modelyard.platform.search.ast import Op, Value

_LIKE_ESCAPE = "\\"


def value_test(column: sa.ColumnElement[Any], op: Op, value: Value) -> sa.ColumnElement[bool]:
    if isinstance(value, tuple):
        values = list(value)
        return column.not_in(values) if op == "NOT IN" else column.in_(values)
    if value is None:  # pragma: no cover - the parser gives NULL tests no value
        raise InvalidArgument(f"{op} needs a value", field="filter")
    if op in ("LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"):
        pattern = _close_escape(str(value))
        matched: sa.ColumnElement[bool]
        if op.endswith("ILIKE"):
            matched = column.ilike(pattern, escape=_LIKE_ESCAPE)
        else:
            matched = case_sensitive_like(column, pattern)
        return sa.not_(matched) if op.startswith("NOT") else matched
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    return column >= value


# Case-sensitive LIKE on every backend: SQLite's LIKE ignores ASCII case, so there it becomes
# GLOB with the pattern translated; elsewhere it stays LIKE. Both carry the pattern as a bind.


class _CaseSensitiveLike(FunctionElement[bool]):
    """Holds the LIKE form and the GLOB form; the dialect's compiler renders one of them."""

    type = sa.Boolean()
    name = "case_sensitive_like"
    inherit_cache = True


def case_sensitive_like(column: sa.ColumnElement[Any], pattern: str) -> sa.ColumnElement[bool]:
    """``column LIKE pattern`` (``%``, ``_``, backslash escapes) matching case exactly."""
    like = column.like(pattern, escape=_LIKE_ESCAPE)
    glob = column.op("GLOB", is_comparison=True)(like_to_glob(pattern))
    return _CaseSensitiveLike(like, glob)


@compiles(_CaseSensitiveLike)
def _compile_like(element: _CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    like, _ = element.clauses.clauses
    return f"({compiler.process(like, **kw)})"


@compiles(_CaseSensitiveLike, "sqlite")
def _compile_glob(element: _CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    _, glob = element.clauses.clauses
    return f"({compiler.process(glob, **kw)})"


def like_to_glob(pattern: str) -> str:
    """The GLOB pattern matching what LIKE ``pattern`` (backslash as escape) matches, with case."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == _LIKE_ESCAPE and index + 1 < len(pattern):
            out.append(_glob_literal(pattern[index + 1]))
            index += 2
            continue
        out.append({"%": "*", "_": "?"}.get(char) or _glob_literal(char))
        index += 1
    return "".join(out)


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[" else char


def _close_escape(pattern: str) -> str:
    """``pattern`` with a dangling final escape doubled, so it means a literal backslash."""
    index = 0
    while index < len(pattern):
        index += 2 if pattern[index] == _LIKE_ESCAPE else 1
    return pattern + _LIKE_ESCAPE if index > len(pattern) else pattern
