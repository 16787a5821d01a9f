"""What a drift check found: one ``ColumnDrift`` per column and the dataset's verdict, as plain
data. The HTML page (``report_html``) reads it; ``report.DriftReport`` adds the page to it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

MISSING_CHANGE = 0.05  # the smallest move of a missing share that counts


@dataclass(frozen=True)
class ColumnDrift:
    name: str
    kind: str  # "numeric", "categorical", "embedding" or "time"
    test: str | None  # None when the column could not be tested (see ``message``)
    statistic: float | None
    p_value: float | None  # for p-value tests
    score: float | None  # what the threshold is held against: the p-value, or the distance
    threshold: float | None
    drifted: bool
    reference_rows: int  # values present (missing ones are counted apart)
    current_rows: int
    reference_missing: float  # share of rows without a value
    current_missing: float
    message: str | None = None  # why there is no test, or what else happened
    # both samples' shares over common bars: {"edges" or "labels", "reference", "current"}
    chart: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def missing_drifted(self) -> bool:
        """Whether the share of missing values moved: by at least ``MISSING_CHANGE`` (5
        points) and more than chance explains (a two-proportion Z-test, p < 0.05)."""
        a, b = self.reference_missing, self.current_missing
        if abs(a - b) < MISSING_CHANGE:
            return False
        n1 = self.reference_rows / (1 - a) if a < 1 else 0.0
        n2 = self.current_rows / (1 - b) if b < 1 else 0.0
        if n1 == 0 or n2 == 0:  # one side all missing, the other not
            return True
        pooled = (a * n1 + b * n2) / (n1 + n2)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        return spread == 0 or abs(a - b) / spread > 1.959963984540054  # two-sided 5%

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        for name in ("statistic", "score"):
            if found[name] is not None and math.isinf(found[name]):
                found[name] = "inf"  # JSON has no infinity
        found["missing_drifted"] = self.missing_drifted
        return found


@dataclass(frozen=True)
class DriftFindings:
    columns: list[ColumnDrift]
    drift_share: float  # the dataset drifts when at least this share of its columns do
    reference_rows: int
    current_rows: int
    only_in_reference: list[str] = field(default_factory=list)  # schema drift
    only_in_current: list[str] = field(default_factory=list)
    multivariate: Any = None  # a DomainDrift when asked for (``multivariate=True``)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.drifted]

    @property
    def missing_drifted_columns(self) -> list[str]:
        """Columns whose share of missing values moved (see ``ColumnDrift.missing_drifted``);
        reported apart, not counted in ``share_drifted``."""
        return [c.name for c in self.columns if c.missing_drifted]

    @property
    def share_drifted(self) -> float:
        """Drifted columns over compared columns (a column missing from the current data
        counts as drifted)."""
        total = len(self.columns) + len(self.only_in_reference)
        if total == 0:
            return 0.0
        return (len(self.drifted_columns) + len(self.only_in_reference)) / total

    @property
    def drifted(self) -> bool:
        return bool(self.columns or self.only_in_reference) and (
            self.share_drifted >= self.drift_share
        )

    def __getitem__(self, name: str) -> ColumnDrift:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "drifted_columns": self.drifted_columns,
            "missing_drifted_columns": self.missing_drifted_columns,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "only_in_reference": self.only_in_reference,
            "only_in_current": self.only_in_current,
            "multivariate": None if self.multivariate is None else self.multivariate.to_dict(),
            "columns": [c.to_dict() for c in self.columns],
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(drifted={self.drifted}, "
            f"share_drifted={self.share_drifted:.2f}, columns={len(self.columns)}, "
            f"drifted_columns={self.drifted_columns})"
        )
