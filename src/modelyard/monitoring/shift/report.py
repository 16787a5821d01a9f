"""A drift report: the findings (``findings``) and their HTML page (``report_html``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelyard.monitoring.shift.findings import ColumnDrift, DriftFindings
from modelyard.monitoring.shift.report_html import drift_html

__all__ = ["ColumnDrift", "DriftReport"]


@dataclass(frozen=True, repr=False)
class DriftReport(DriftFindings):
    """One ``ColumnDrift`` per column and the dataset's verdict (see ``DriftFindings``)."""

    def to_html(self, path: str | Path | None = None, *, title: str = "Drift report") -> str:
        """A self-contained HTML page (inline SVG charts, no scripts, no raw rows: it stays
        small however large the data); written to ``path`` when given."""
        page = drift_html(self, title)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page
