"""What one expectation found in one validation: plain data, rendered by ``validation_html``
and gathered into a ``ValidationReport`` by ``validation``; it knows neither."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RuleResult:
    rule: str
    column: str | None
    label: str
    ok: bool
    observed: Any
    expected: Any
    failing: int = 0  # rows that break the rule
    checked: int = 0  # rows the rule looked at (non-null values for column rules)
    message: str = ""
    sample: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "column": self.column,
            "label": self.label,
            "ok": self.ok,
            "observed": self.observed,
            "expected": self.expected,
            "failing": self.failing,
            "checked": self.checked,
            "message": self.message,
            "sample": self.sample,
        }
