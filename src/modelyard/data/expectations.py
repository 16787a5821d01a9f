"""Expectations: the rules a dataset must satisfy, as plain data that round-trips through YAML.

A suite is a list of rules. Each rule has a ``rule`` name, usually a ``column``, its own
parameters and, for row-level rules, ``mostly`` (the share of non-null rows that must pass,
1.0 by default). Rules are checked when they are built, so a typo in a YAML file is an error
naming the rule and the field, not a silent pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modelyard.data.inference import infer_rules
from modelyard.data.profiling import Profile
from modelyard.data.types import LOGICAL_TYPES
from modelyard.errors import InvalidArgument

SUITE_VERSION = 1

# rule name -> (needs a column, allowed parameters, required parameters)
RULES: dict[str, tuple[bool, set[str], set[str]]] = {
    "column_present": (True, set(), set()),
    "column_absent": (True, set(), set()),
    "type": (True, {"type", "zoned"}, {"type"}),
    "not_null": (True, set(), set()),
    "max_missing_rate": (True, {"max"}, {"max"}),
    "unique": (True, set(), set()),
    "range": (True, {"min", "max", "mostly"}, set()),
    "allowed_values": (True, {"values", "mostly"}, {"values"}),
    "regex": (True, {"pattern", "mostly"}, {"pattern"}),
    "string_length": (True, {"min", "max", "mostly"}, set()),
    "row_count": (False, {"min", "max"}, set()),
    "sql": (False, {"predicate", "name", "mostly"}, {"predicate"}),
}
ROW_RULES = ("range", "allowed_values", "regex", "string_length", "sql")


@dataclass(frozen=True)
class Expectation:
    rule: str
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def mostly(self) -> float:
        return float(self.params.get("mostly", 1.0))

    @property
    def label(self) -> str:
        """How a report names this rule: ``range(age)``, ``sql(positive balance)``; a row
        rule that lets some rows fail says so: ``range(age, mostly 0.98)``."""
        if self.rule == "sql":
            return f"sql({self.params.get('name') or self.params['predicate']})"
        if not self.column:
            return self.rule
        if self.rule in ROW_RULES and self.mostly < 1.0:
            return f"{self.rule}({self.column}, mostly {self.mostly:g})"
        return f"{self.rule}({self.column})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule}
        if self.column is not None:
            out["column"] = self.column
        out.update(self.params)
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "expectation") -> Expectation:
        if not isinstance(data, dict):
            raise InvalidArgument(f"{where} must be a mapping, got {data!r}", field=where)
        rule = data.get("rule")
        if not isinstance(rule, str) or rule not in RULES:
            raise InvalidArgument(
                f"{where}: unknown rule {rule!r}; expected one of {', '.join(RULES)}",
                field=f"{where}.rule",
            )
        needs_column, allowed, required = RULES[rule]
        column = data.get("column")
        if needs_column and (not isinstance(column, str) or not column):
            raise InvalidArgument(f"{where}: rule {rule!r} needs a column", field=f"{where}.column")
        params = {k: v for k, v in data.items() if k not in ("rule", "column")}
        unknown = set(params) - allowed
        if unknown:
            raise InvalidArgument(
                f"{where}: rule {rule!r} does not take {', '.join(sorted(unknown))}; "
                f"it takes {', '.join(sorted(allowed)) or 'no parameters'}",
                field=f"{where}.{sorted(unknown)[0]}",
            )
        for name in required - set(params):
            raise InvalidArgument(f"{where}: rule {rule!r} needs {name!r}", field=f"{where}.{name}")
        expectation = cls(rule, column if needs_column else None, params)
        _check_params(expectation, where)
        return expectation


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        number = math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(number):
        shown = value if len(repr(value)) < 40 else f"{repr(value)[:40]}…"
        raise InvalidArgument(f"{where} must be a number, got {shown}", field=where)
    return number


def _check_params(e: Expectation, where: str) -> None:
    p = e.params
    if "mostly" in p:
        mostly = _number(p["mostly"], f"{where}.mostly")
        if not 0.0 <= mostly <= 1.0:
            raise InvalidArgument(f"{where}.mostly must be in [0, 1], got {mostly}", field=where)
    if e.rule in ("range", "string_length", "row_count"):
        lo = _number(p["min"], f"{where}.min") if p.get("min") is not None else None
        hi = _number(p["max"], f"{where}.max") if p.get("max") is not None else None
        if lo is None and hi is None:
            raise InvalidArgument(f"{where}: rule {e.rule!r} needs min or max", field=where)
        if lo is not None and hi is not None and lo > hi:
            raise InvalidArgument(f"{where}: min {lo} is above max {hi}", field=f"{where}.min")
    if e.rule == "max_missing_rate":
        rate = _number(p["max"], f"{where}.max")
        if not 0.0 <= rate <= 1.0:
            raise InvalidArgument(f"{where}.max must be in [0, 1], got {rate}", field=where)
    if e.rule == "type" and p["type"] not in LOGICAL_TYPES:
        raise InvalidArgument(
            f"{where}.type must be one of {', '.join(LOGICAL_TYPES)}, got {p['type']!r}",
            field=f"{where}.type",
        )
    if (
        e.rule == "type"
        and "zoned" in p
        and (p["type"] != "timestamp" or not isinstance(p["zoned"], bool))
    ):
        raise InvalidArgument(
            f"{where}.zoned is true or false, for a timestamp type", field=f"{where}.zoned"
        )
    if e.rule == "allowed_values" and (not isinstance(p["values"], list) or not p["values"]):
        raise InvalidArgument(f"{where}.values must be a non-empty list", field=f"{where}.values")
    if e.rule == "regex":
        try:
            re.compile(p["pattern"])
        except (re.error, TypeError) as exc:
            raise InvalidArgument(
                f"{where}.pattern is not a valid regular expression: {exc}",
                field=f"{where}.pattern",
            ) from exc
    if e.rule == "sql":
        predicate = p["predicate"]
        if not isinstance(predicate, str) or not predicate.strip() or ";" in predicate:
            raise InvalidArgument(
                f"{where}.predicate must be one SQL boolean expression (no ';')",
                field=f"{where}.predicate",
            )


class Expectations:
    """An editable suite of expectations; ``to_yaml``/``from_yaml`` round-trip it exactly."""

    def __init__(self, rules: list[Expectation] | None = None, *, name: str | None = None) -> None:
        self.rules: list[Expectation] = list(rules or [])
        self.name = name

    def __len__(self) -> int:
        return len(self.rules)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rules)

    def add(self, rule: str, column: str | None = None, **params: Any) -> Expectations:
        data = {"rule": rule, **({"column": column} if column is not None else {}), **params}
        self.rules.append(Expectation.from_dict(data, f"expectations[{len(self.rules)}]"))
        return self

    def remove(self, rule: str, column: str | None = None) -> Expectations:
        self.rules = [e for e in self.rules if not (e.rule == rule and e.column == column)]
        return self

    def for_column(self, column: str) -> list[Expectation]:
        return [e for e in self.rules if e.column == column]

    # --- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": SUITE_VERSION}
        if self.name:
            out["name"] = self.name
        out["expectations"] = [e.to_dict() for e in self.rules]
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Expectations:
        if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
            raise InvalidArgument(
                "an expectation suite is a mapping with an 'expectations' list",
                field="expectations",
            )
        if data.get("version", SUITE_VERSION) != SUITE_VERSION:
            raise InvalidArgument(
                f"unsupported suite version {data.get('version')!r}", field="version"
            )
        rules = [
            Expectation.from_dict(item, f"expectations[{i}]")
            for i, item in enumerate(data["expectations"])
        ]
        return cls(rules, name=data.get("name"))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str) -> Expectations:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidArgument(f"the suite is not valid YAML: {exc}", field="yaml") from exc
        return cls.from_dict(data)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.to_yaml(), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Expectations:
        source = Path(path)
        if not source.is_file():
            raise InvalidArgument(f"no suite file at {str(source)!r}", field="suite")
        return cls.from_yaml(source.read_text(encoding="utf-8"))

    # --- inference ---------------------------------------------------------------------
    @classmethod
    def from_profile(cls, profile: Profile, *, max_categories: int = 50) -> Expectations:
        """A starting suite that fresh data from the same source passes and a defect fails
        (the rules: ``modelyard.data.inference``): edit it, then save it."""
        suite = cls()
        for rule, column, params in infer_rules(profile, max_categories=max_categories):
            suite.add(rule, column, **params)
        return suite
