"""What a column profile holds: counts, moments, quantiles, histograms, distinct counts and
top values, how two profiles merge and how one is stored (``to_dict``/``from_dict``).

Counts, missing, min/max, mean and std merge exactly (Chan's parallel moments); quantiles and
histograms come from ``ValueSketch`` (~1% relative error), distinct counts from
``HyperLogLog`` (~1.6%) unless every value fits in the exact value counts, which are kept up to
``TOP_EXACT`` distinct values per column. Building one from Arrow data is ``profiling``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelyard.data.sketches import HyperLogLog, ValueSketch
from modelyard.errors import InvalidArgument

TOP_EXACT = 1_000  # exact value counts are kept while a column has at most this many values
TOP_SHOWN = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20


@dataclass
class ColumnProfile:
    name: str
    type: str
    count: int = 0  # rows seen, missing included
    missing: int = 0  # nulls, and NaN in float columns
    infinite: int = 0
    min: float | None = None
    max: float | None = None
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean (finite values)
    n_finite: int = 0
    min_length: int | None = None
    max_length: int | None = None
    values: dict[str, int] | None = field(default_factory=dict)  # exact counts, or None
    unit: str | None = None  # timestamps and dates: min/max are counts of this unit since 1970
    zoned: bool | None = None  # timestamps: whether they carry a time zone (None: not known)
    sketch: ValueSketch | None = None
    hll: HyperLogLog = field(default_factory=HyperLogLog)

    # --- derived -------------------------------------------------------------------------
    @property
    def present(self) -> int:
        return self.count - self.missing

    @property
    def missing_rate(self) -> float:
        return self.missing / self.count if self.count else 0.0

    @property
    def std(self) -> float | None:
        return math.sqrt(self.m2 / self.n_finite) if self.n_finite else None

    @property
    def distinct(self) -> int:
        if self.values is not None:
            return len(self.values)
        return self.hll.estimate()

    @property
    def distinct_exact(self) -> bool:
        return self.values is not None

    def quantiles(self) -> dict[str, float]:
        if self.sketch is None or self.min is None or self.max is None:
            return {}
        got = self.sketch.quantiles(list(QUANTILES), self.min, self.max)
        return {f"p{round(q * 100)}": v for q, v in zip(QUANTILES, got, strict=True)}

    def histogram(self, bins: int = HISTOGRAM_BINS) -> tuple[list[float], list[int]]:
        if self.sketch is None or self.min is None or self.max is None:
            return [], []
        return self.sketch.histogram(bins, self.min, self.max)

    def top(self, n: int = TOP_SHOWN) -> list[tuple[str, int]]:
        if not self.values:
            return []
        return sorted(self.values.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    # --- merge -------------------------------------------------------------------------
    def merge(self, other: ColumnProfile) -> ColumnProfile:
        if other.type != self.type:
            raise InvalidArgument(
                f"column {self.name!r}: cannot merge a {self.type} profile with a {other.type} one",
                field=self.name,
            )
        out = ColumnProfile(self.name, self.type)
        out.count = self.count + other.count
        out.missing = self.missing + other.missing
        out.infinite = self.infinite + other.infinite
        out.min = pick_defined(min, self.min, other.min)
        out.max = pick_defined(max, self.max, other.max)
        out.unit = self.unit or other.unit
        out.zoned = self.zoned if self.zoned is not None else other.zoned
        out.min_length = pick_defined(min, self.min_length, other.min_length)
        out.max_length = pick_defined(max, self.max_length, other.max_length)
        out.n_finite, out.mean, out.m2 = combine_moments(
            (self.n_finite, self.mean, self.m2), (other.n_finite, other.mean, other.m2)
        )
        out.values = _merge_values(self.values, other.values)
        if self.sketch is not None or other.sketch is not None:
            out.sketch = (self.sketch or ValueSketch()).merge(other.sketch or ValueSketch())
        out.hll = self.hll.merge(other.hll)
        return out

    # --- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        edges, counts = self.histogram()
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "count": self.count,
            "missing": self.missing,
            "missing_rate": self.missing_rate,
            "distinct": self.distinct,
            "distinct_exact": self.distinct_exact,
            "min": self.min,
            "max": self.max,
            "mean": self.mean if self.n_finite else None,
            "std": self.std,
            "infinite": self.infinite,
            "quantiles": self.quantiles(),
            "histogram": {"edges": edges, "counts": counts},
            "min_length": self.min_length,
            "max_length": self.max_length,
            "unit": self.unit,
            "zoned": self.zoned,
            "min_text": _as_time(self.min, self.unit),
            "max_text": _as_time(self.max, self.unit),
            "top": [[k, v] for k, v in self.top()],
            "state": {
                "m2": self.m2,
                "n_finite": self.n_finite,
                "values": self.values,
                "sketch": self.sketch.to_dict() if self.sketch is not None else None,
                "hll": self.hll.to_dict(),
            },
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        state = data["state"]
        col = cls(data["name"], data["type"])
        col.count, col.missing, col.infinite = data["count"], data["missing"], data["infinite"]
        col.min, col.max = data["min"], data["max"]
        col.mean = data["mean"] or 0.0
        col.min_length, col.max_length = data["min_length"], data["max_length"]
        col.unit = data.get("unit")
        col.zoned = data.get("zoned")  # profiles stored before it was kept: None
        col.m2, col.n_finite = state["m2"], state["n_finite"]
        col.values = state["values"]
        col.sketch = ValueSketch.from_dict(state["sketch"]) if state["sketch"] else None
        col.hll = HyperLogLog.from_dict(state["hll"])
        return col


def _as_time(value: float | None, unit: str | None) -> str | None:
    """An epoch count in ``unit`` as ISO 8601 text (what a person reads for a date column)."""
    if value is None or unit is None:
        return None
    stamp = np.array([int(value)], dtype="int64").view(f"datetime64[{unit}]")[0]
    whole = stamp.astype("datetime64[s]")
    return str(whole if unit not in ("D", "s") and whole == stamp else stamp)


def pick_defined(fn: Any, a: Any, b: Any) -> Any:
    """``fn(a, b)``, or the one of them that is not None."""
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)


def combine_moments(
    a: tuple[int, float, float], b: tuple[int, float, float]
) -> tuple[int, float, float]:
    """Combine (n, mean, M2) of two parts exactly (Chan et al.)."""
    na, ma, m2a = a
    nb, mb, m2b = b
    n = na + nb
    if n == 0:
        return 0, 0.0, 0.0
    delta = mb - ma
    mean = ma + delta * nb / n
    return n, mean, m2a + m2b + delta * delta * na * nb / n


def _merge_values(a: dict[str, int] | None, b: dict[str, int] | None) -> dict[str, int] | None:
    if a is None or b is None:
        return None
    out = dict(a)
    for key, count in b.items():
        out[key] = out.get(key, 0) + count
    return out if len(out) <= TOP_EXACT else None


@dataclass
class Profile:
    num_rows: int
    columns: dict[str, ColumnProfile]

    def merge(self, other: Profile) -> Profile:
        if list(self.columns) != list(other.columns):
            raise InvalidArgument(
                f"profiles have different columns: {list(self.columns)} vs {list(other.columns)}",
                field="columns",
            )
        return Profile(
            self.num_rows + other.num_rows,
            {name: col.merge(other.columns[name]) for name, col in self.columns.items()},
        )

    def __getitem__(self, column: str) -> ColumnProfile:
        return self.columns[column]

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_rows": self.num_rows,
            "columns": [c.to_dict() for c in self.columns.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        cols = [ColumnProfile.from_dict(c) for c in data["columns"]]
        return cls(int(data["num_rows"]), {c.name: c for c in cols})

    def summary(self) -> list[dict[str, Any]]:
        """One row per column for tables: the numbers a person reads first."""
        rows = []
        for col in self.columns.values():
            d = col.to_dict()
            rows.append({k: d[k] for k in ("name", "type", "missing", "distinct", "min", "max")})
        return rows
