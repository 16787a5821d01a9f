"""Compiles a search tree and ORDER BY keys into SQLAlchemy Core over the ``runs`` table.

Every value a user wrote reaches the database as a bound parameter, never as SQL text. A test on
a metric, param or tag means "the run has that key and its latest value passes the test".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import sqlalchemy as sa

from modelyard.errors import InvalidArgument
from modelyard.platform.search.ast import (
    And,
    Comparison,
    Entity,
    Expr,
    Not,
    OrderKey,
)
from modelyard.platform.search.sql import value_test
from modelyard.tracking.tables import latest_metrics, params, runs, tags

View = Literal["active", "deleted", "all"]

ATTRIBUTE_COLUMNS: dict[str, sa.Column[Any]] = {
    "run_id": runs.c.run_uuid,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "user_id": runs.c.user_id,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
    "artifact_uri": runs.c.artifact_uri,
    "experiment_id": runs.c.experiment_id,
    "parent_run_id": runs.c.parent_run_id,
    "lifecycle_stage": runs.c.lifecycle_stage,
}
_KEYED_TABLES: dict[Entity, sa.Table] = {"metric": latest_metrics, "param": params, "tag": tags}


def compile_filter(expr: Expr) -> sa.ColumnElement[bool]:
    """A WHERE condition on ``runs`` that holds exactly for the runs ``expr`` selects."""
    if isinstance(expr, Comparison):
        return _comparison(expr)
    if isinstance(expr, Not):
        return sa.not_(compile_filter(expr.operand))
    if isinstance(expr, And):
        return sa.and_(*(compile_filter(operand) for operand in expr.operands))
    return sa.or_(*(compile_filter(operand) for operand in expr.operands))


def order_by_clauses(
    keys: Sequence[OrderKey],
) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
    """The FROM clause (``runs`` outer-joined to one row per keyed sort) and the ORDER BY list.

    Runs lacking a key sort last in both directions, NaN metrics just before them; ties end
    with ``start_time DESC, run_uuid ASC`` so every page boundary is stable.
    """
    source: sa.FromClause = runs
    ordering: list[sa.ColumnElement[Any]] = []
    for index, key in enumerate(keys):
        if key.entity == "attribute":
            column: sa.ColumnElement[Any] = ATTRIBUTE_COLUMNS[key.key]
            if ATTRIBUTE_COLUMNS[key.key].nullable:
                ordering.append(sa.case((column.is_(None), 1), else_=0))
        else:
            table = _KEYED_TABLES[key.entity].alias(f"order_{index}")
            source = source.outerjoin(
                table, sa.and_(table.c.run_uuid == runs.c.run_uuid, table.c.key == key.key)
            )
            if key.entity == "metric":
                rank = sa.case(
                    (table.c.run_uuid.is_(None), 2), (table.c.is_nan.is_(True), 1), else_=0
                )
            else:
                rank = sa.case((table.c.run_uuid.is_(None), 1), else_=0)
            ordering.append(rank)
            column = table.c.value
        ordering.append(column.asc() if key.ascending else column.desc())
    ordering += [runs.c.start_time.desc(), runs.c.run_uuid.asc()]
    return source, ordering


def search_query(
    experiment_ids: Sequence[int],
    expr: Expr | None,
    order: list[OrderKey],
    *,
    view: View,
    limit: int,
    offset: int,
) -> sa.Select[Any]:
    """``SELECT runs.run_uuid`` for one page of the runs of ``experiment_ids`` ``expr`` selects."""
    if view not in ("active", "deleted", "all"):
        raise InvalidArgument(
            f"view must be 'active', 'deleted' or 'all', not {view!r}", field="view"
        )
    if limit < 0:
        raise InvalidArgument(f"limit must not be negative, got {limit}", field="limit")
    if offset < 0:
        raise InvalidArgument(f"offset must not be negative, got {offset}", field="offset")
    source, ordering = order_by_clauses(order)
    query = (
        sa.select(runs.c.run_uuid)
        .select_from(source)
        .where(runs.c.experiment_id.in_(list(experiment_ids)))
    )
    if view != "all":
        query = query.where(runs.c.lifecycle_stage == view)
    if expr is not None:
        query = query.where(compile_filter(expr))
    return query.order_by(*ordering).limit(limit).offset(offset)


def _comparison(cmp: Comparison) -> sa.ColumnElement[bool]:
    if cmp.entity == "attribute":
        column = ATTRIBUTE_COLUMNS[cmp.key]
        if cmp.op == "IS NULL":
            return column.is_(None)
        if cmp.op == "IS NOT NULL":
            return column.is_not(None)
        condition = value_test(column, cmp.op, cmp.value)
        # Two-valued logic, so NOT gives the complement: a NULL never passes a test.
        return sa.and_(column.is_not(None), condition) if column.nullable else condition
    table = _KEYED_TABLES[cmp.entity]
    has_key = sa.select(table.c.run_uuid).where(table.c.key == cmp.key)
    if cmp.op == "IS NULL":
        return runs.c.run_uuid.not_in(has_key)
    if cmp.op == "IS NOT NULL":
        return runs.c.run_uuid.in_(has_key)
    if cmp.entity == "metric":
        has_key = has_key.where(table.c.is_nan == sa.false())
    return runs.c.run_uuid.in_(has_key.where(value_test(table.c.value, cmp.op, cmp.value)))
