"""The one check spec that every side of the data benchmark runs, as plain data.

Each check is a dict with a ``check`` kind and, except ``row_count``, a ``column``:

============  ======================================  ================================
kind          keys                                    passes when
============  ======================================  ================================
row_count     min, max                                min <= rows <= max
type          type ("float" | "integer" | "string")   float64 / int64 / a string dtype
missing_rate  max                                     share of nulls <= max
not_null      (none)                                  no nulls
between       min, max                                every non-null value in range
in_set        values                                  every non-null value in values
regex         pattern                                 every non-null value matches
str_length    min, max                                min <= len(value) <= max
============  ======================================  ================================

Bounds are inclusive; nulls are left to ``missing_rate`` / ``not_null``, as every tool does.
Types are the dtypes pandas gives the file written by ``dataset.py``: float64, int64 and a
string dtype (pandas 3's ``str``, or ``object`` holding strings under pandas 2).
Uniqueness of ``i0`` is left out on purpose: too costly for all the peers.

    python bench/data/checks.py [OUT.json]   # writes the spec (or prints it)

The workers run in the peers' venvs and only read the JSON (see :func:`load`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

Check = dict[str, Any]

MAX_ROWS = 20_000_000
FLOAT_RANGE = (-1000.0, 1000.0)
FLOAT_MAX_MISSING = 0.02
INT_RANGE = (0, 5000)
REGEX_COLUMN = "c0"
REGEX = r"^cat-[0-9]{2}$"
STR_LENGTH = (5, 8)
KINDS = (
    "row_count",
    "type",
    "missing_rate",
    "not_null",
    "between",
    "in_set",
    "regex",
    "str_length",
)


def build() -> list[Check]:
    """The checks, in a fixed order: table first, then column by column."""
    # imported here so that the workers (peer venvs) can use load() with the stdlib only
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from dataset import CATEGORIES, CATS, FLOATS, INTS

    checks: list[Check] = [{"check": "row_count", "min": 1, "max": MAX_ROWS}]
    for col in FLOATS:
        checks += [
            {"column": col, "check": "type", "type": "float"},
            {"column": col, "check": "missing_rate", "max": FLOAT_MAX_MISSING},
            {"column": col, "check": "between", "min": FLOAT_RANGE[0], "max": FLOAT_RANGE[1]},
        ]
    for col in INTS:
        checks += [
            {"column": col, "check": "type", "type": "integer"},
            {"column": col, "check": "not_null"},
            {"column": col, "check": "between", "min": INT_RANGE[0], "max": INT_RANGE[1]},
        ]
    for col in CATS:
        checks += [
            {"column": col, "check": "type", "type": "string"},
            {"column": col, "check": "not_null"},
            {"column": col, "check": "in_set", "values": list(CATEGORIES)},
        ]
        if col == REGEX_COLUMN:
            checks += [
                {"column": col, "check": "regex", "pattern": REGEX},
                {"column": col, "check": "str_length", "min": STR_LENGTH[0], "max": STR_LENGTH[1]},
            ]
    return checks


def to_json(checks: list[Check] | None = None) -> str:
    return json.dumps(build() if checks is None else checks, indent=1)


def load(path: str | Path) -> list[Check]:
    """Read a spec written by :func:`to_json` and check its shape (standard library only)."""
    checks = json.loads(Path(path).read_text())
    if not isinstance(checks, list):
        raise ValueError(f"{path}: expected a list of checks")
    for c in checks:
        if c.get("check") not in KINDS:
            raise ValueError(f"{path}: unknown check {c!r}")
        if c["check"] != "row_count" and "column" not in c:
            raise ValueError(f"{path}: check without a column {c!r}")
    return checks


def columns(checks: list[Check]) -> dict[str, str]:
    """Column name -> declared type ("float" | "integer" | "string"), in spec order."""
    return {c["column"]: c["type"] for c in checks if c["check"] == "type"}


def write(path: str | Path) -> Path:
    out = Path(path)
    out.write_text(to_json())
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(write(sys.argv[1]))
    else:
        print(to_json())
