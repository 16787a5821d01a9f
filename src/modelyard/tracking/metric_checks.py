"""Checked metrics for the tracking client: each key is checked once and then remembered, and
an exact ``Metric`` with a known key and in-range values takes a fast path (a batch of
100,000 points is checked at the speed the writer takes them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.platform.checks import check_name
from modelyard.tracking.entities import Metric
from modelyard.tracking.validation import MAX_STEP, check_metric_value, check_step, check_timestamp

_REMEMBERED_KEYS = 100_000


class MetricChecks:
    def __init__(self) -> None:
        self.keys_ok: set[str] = set()

    def key(self, key: Any, field: str) -> str:
        if key in self.keys_ok:
            return str(key)
        check_name(key, field)
        if len(self.keys_ok) < _REMEMBERED_KEYS:
            self.keys_ok.add(key)
        return str(key)

    def batch(self, metrics: Sequence[Metric]) -> list[Metric]:
        """Every metric of a batch checked, in order; the first bad one raises."""
        keys_ok = self.keys_ok
        clean: list[Metric] = []
        append = clean.append
        for i, m in enumerate(metrics):
            # fast path: an exact Metric with a known key and exact, in-range types
            if (
                type(m) is Metric
                and m.key in keys_ok
                and type(m.value) is float
                and type(m.step) is int
                and type(m.timestamp) is int
                and -MAX_STEP <= m.step <= MAX_STEP
                and -MAX_STEP <= m.timestamp <= MAX_STEP
            ):
                append(m)
            else:
                append(self._checked(m, i))
        return clean

    def _checked(self, m: Any, i: int) -> Metric:
        if not isinstance(m, Metric):
            raise InvalidArgument(f"metrics[{i}] must be a Metric", field=f"metrics[{i}]")
        return Metric(
            self.key(m.key, f"metrics[{i}] key"),
            check_metric_value(m.value, f"metrics[{i}] value"),
            check_timestamp(m.timestamp, f"metrics[{i}] timestamp"),
            check_step(m.step, f"metrics[{i}] step"),
        )
