"""The expression tree of a run search filter and the vocabulary it may use.

Nodes are frozen dataclasses with no positions, so two parses of equivalent text compare equal.
A tree built by the parser already obeys the type rules (metric values are finite floats, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeAlias

Entity: TypeAlias = Literal["metric", "param", "tag", "attribute"]

Op: TypeAlias = Literal[
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "LIKE",
    "ILIKE",
    "NOT LIKE",
    "NOT ILIKE",
    "IN",
    "NOT IN",
    "IS NULL",
    "IS NOT NULL",
]

Scalar: TypeAlias = str | int | float
Value: TypeAlias = Scalar | tuple[Scalar, ...] | None

ORDERING_OPS: frozenset[Op] = frozenset({"=", "!=", "<", "<=", ">", ">="})
LIKE_OPS: frozenset[Op] = frozenset({"LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"})
LIST_OPS: frozenset[Op] = frozenset({"IN", "NOT IN"})
NULL_OPS: frozenset[Op] = frozenset({"IS NULL", "IS NOT NULL"})

# Run attributes a filter may name, and whether their values are integers or strings.
ATTRIBUTE_KINDS: dict[str, Literal["int", "str"]] = {
    "run_id": "str",
    "run_name": "str",
    "status": "str",
    "user_id": "str",
    "start_time": "int",
    "end_time": "int",
    "artifact_uri": "str",
    "experiment_id": "int",
    "parent_run_id": "str",
    "lifecycle_stage": "str",
}

RUN_STATUSES: tuple[str, ...] = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")


@dataclass(frozen=True)
class Vocabulary:
    """What a filter over one kind of object may name: its entities, its attributes and their
    value kinds, and attributes whose values come from a closed set."""

    subject: str
    entities: frozenset[Entity]
    attributes: Mapping[str, Literal["int", "str"]]
    enums: Mapping[str, tuple[str, ...]]


RUNS = Vocabulary(
    "runs",
    frozenset({"metric", "param", "tag", "attribute"}),
    ATTRIBUTE_KINDS,
    {"status": RUN_STATUSES},
)


@dataclass(frozen=True)
class Comparison:
    """``entity.key op value``; ``value`` is None for IS [NOT] NULL and a tuple for [NOT] IN."""

    entity: Entity
    key: str
    op: Op
    value: Value


@dataclass(frozen=True)
class And:
    """All operands hold; at least two operands."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    """At least one operand holds; at least two operands."""

    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    """The operand does not hold (a run lacking a key satisfies ``not metrics.k > 0``)."""

    operand: Expr


Expr: TypeAlias = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    """One ORDER BY item; runs lacking the key sort last in both directions."""

    entity: Entity
    key: str
    ascending: bool = True
