"""Search over model versions and registered models, in the filter language of runs.

The run search parser does the parsing with a registry vocabulary; this module compiles the
tree to SQL over the registry tables. Values reach the database as bound parameters only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from modelyard.errors import InvalidArgument
from modelyard.platform.search.ast import And, Comparison, Expr, Not, OrderKey, Vocabulary
from modelyard.platform.search.sql import value_test
from modelyard.registry.tables import (
    model_version_tags,
    model_versions,
    registered_model_tags,
    registered_models,
)

VERSIONS = Vocabulary(
    "model versions",
    frozenset({"tag", "attribute"}),
    {
        "name": "str",
        "version": "int",
        "run_id": "str",
        "source": "str",
        "status": "str",
        "flavor": "str",
        "created_by": "str",
        "created_time": "int",
        "updated_time": "int",
    },
    {},
)
MODELS = Vocabulary(
    "registered models",
    frozenset({"tag", "attribute"}),
    {"name": "str", "created_by": "str", "created_time": "int", "updated_time": "int"},
    {},
)

_VERSION_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "name": registered_models.c.name,
    "version": model_versions.c.version,
    "run_id": model_versions.c.run_id,
    "source": model_versions.c.source,
    "status": model_versions.c.status,
    "flavor": model_versions.c.flavor,
    "created_by": model_versions.c.created_by,
    "created_time": model_versions.c.created_time,
    "updated_time": model_versions.c.updated_time,
}
_MODEL_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "name": registered_models.c.name,
    "created_by": registered_models.c.created_by,
    "created_time": registered_models.c.created_time,
    "updated_time": registered_models.c.updated_time,
}


class _Compiler:
    def __init__(
        self,
        columns: dict[str, sa.ColumnElement[Any]],
        tag_table: sa.Table,
        owner: sa.ColumnElement[Any],
        tag_owner: sa.ColumnElement[Any],
    ) -> None:
        self.columns = columns
        self.tags = tag_table
        self.owner = owner
        self.tag_owner = tag_owner

    def where(self, expr: Expr) -> sa.ColumnElement[bool]:
        if isinstance(expr, Comparison):
            return self.comparison(expr)
        if isinstance(expr, Not):
            return sa.not_(self.where(expr.operand))
        if isinstance(expr, And):
            return sa.and_(*(self.where(o) for o in expr.operands))
        return sa.or_(*(self.where(o) for o in expr.operands))

    def comparison(self, cmp: Comparison) -> sa.ColumnElement[bool]:
        if cmp.entity == "attribute":
            column = self.columns[cmp.key]
            if cmp.op == "IS NULL":
                return column.is_(None)
            if cmp.op == "IS NOT NULL":
                return column.is_not(None)
            return sa.and_(column.is_not(None), value_test(column, cmp.op, cmp.value))
        has_key = sa.select(self.tag_owner).where(self.tags.c.key == cmp.key)
        if cmp.op == "IS NULL":
            return self.owner.not_in(has_key)
        if cmp.op == "IS NOT NULL":
            return self.owner.in_(has_key)
        return self.owner.in_(has_key.where(value_test(self.tags.c.value, cmp.op, cmp.value)))

    def order(self, keys: Sequence[OrderKey]) -> list[sa.ColumnElement[Any]]:
        out: list[sa.ColumnElement[Any]] = []
        for key in keys:
            if key.entity != "attribute":
                raise InvalidArgument(
                    "order_by takes attributes only (name, version, created_time, ...)",
                    field="order_by",
                )
            column = self.columns[key.key]
            out.append(column.asc() if key.ascending else column.desc())
        return out


VERSION_COMPILER = _Compiler(
    _VERSION_COLUMNS,
    model_version_tags,
    model_versions.c.version_id,
    model_version_tags.c.version_id,
)
MODEL_COMPILER = _Compiler(
    _MODEL_COLUMNS,
    registered_model_tags,
    registered_models.c.model_id,
    registered_model_tags.c.model_id,
)
