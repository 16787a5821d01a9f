"""Running a monitor's checks once, over the window of logged predictions that ends at
``now``.

The window's predictions come from the store (``MonitoringClient.predictions`` for the
monitor's endpoint or model version, shadows left out), with the labels known now. A drift
check compares the window's inputs (every logged column but the prediction's own fields)
with the monitor's reference; a performance check scores the window against its labels. A
window with no predictions, or without enough labels, skips the check ("skipped", with the
reason); it is never a pass or a breach by default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from modelyard.monitoring.entities import COLUMNS
from modelyard.monitoring.monitors.spec import DriftCheck, MonitorSpec, PerformanceCheck
from modelyard.monitoring.quality import performance, window_ms
from modelyard.monitoring.sources import resolve_table

BREACHED, PASSED, SKIPPED = "breached", "passed", "skipped"


class Predictions(Protocol):
    """What a run reads: a window's logged predictions with their labels, and the store URI a
    reference such as ``dataset:NAME@V`` is read from. ``MonitoringClient`` is one."""

    @property
    def tracking_uri(self) -> str | None: ...

    def predictions(
        self,
        model: str | None = None,
        *,
        version: str | None = None,
        endpoint: str | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class CheckResult:
    check: str
    kind: str  # "drift" or "performance"
    severity: str
    outcome: str  # breached, passed, skipped
    value: float | None  # the share drifted, or the metric
    threshold: str  # "> 0.3", "< 0.85"
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MonitorRun:
    monitor: str
    window_start: int  # epoch ms, inclusive
    window_end: int  # epoch ms, exclusive
    rows: int
    labeled: int
    results: list[CheckResult]
    notices: list[Any] = field(default_factory=list)  # alerts told (``Monitor.run``)

    @property
    def status(self) -> str:
        """breached if any check is, passed if any passed, else skipped."""
        outcomes = {r.outcome for r in self.results}
        return BREACHED if BREACHED in outcomes else PASSED if PASSED in outcomes else SKIPPED

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["notices"] = [
            {"event": n.event, "alert": n.alert.to_dict(), "errors": n.errors} for n in self.notices
        ]
        return {**found, "status": self.status}


def _inputs(frame: Any) -> Any:
    """The model's inputs in a window of predictions (with the prediction itself, for
    prediction drift, when the reference has such a column)."""
    return frame.drop(columns=[c for c in [*COLUMNS, "label"] if c != "prediction"])


def _drift(
    check: DriftCheck, monitor: MonitorSpec, frame: Any, tracking_uri: str | None
) -> CheckResult:
    from modelyard.monitoring.shift.compute import drift  # brings pyarrow: on the first check

    limit = (
        f"> {check.share_drifted_gt:g}" if check.share_drifted_gt is not None else "dataset drift"
    )
    if len(frame) == 0:
        return CheckResult(
            check.name,
            "drift",
            check.severity,
            SKIPPED,
            None,
            limit,
            "no predictions in the window",
        )
    reference = resolve_table(monitor.reference, "reference", tracking_uri)
    current = _inputs(frame)
    ref_frame = reference.to_pandas() if hasattr(reference, "to_pandas") else reference
    columns = check.columns or [c for c in current.columns if c in ref_frame.columns]
    report = drift(ref_frame, current[columns], columns=columns, tests=check.tests)
    if check.share_drifted_gt is not None:
        breached = report.share_drifted > check.share_drifted_gt
    else:
        breached = report.drifted
    message = (
        f"{len(report.drifted_columns)} of {len(report.columns)} columns drifted "
        f"({report.share_drifted:.0%}): {', '.join(report.drifted_columns) or 'none'}"
    )
    return CheckResult(
        check.name,
        "drift",
        check.severity,
        BREACHED if breached else PASSED,
        report.share_drifted,
        limit,
        message,
        {"drifted_columns": report.drifted_columns, "rows": len(current)},
    )


def _performance(check: PerformanceCheck, monitor: MonitorSpec, frame: Any) -> CheckResult:
    bounds = []
    if check.lt is not None:
        bounds.append(f"< {check.lt:g}")
    if check.gt is not None:
        bounds.append(f"> {check.gt:g}")
    limit = " or ".join(bounds)
    labeled = int(frame["label"].notna().sum()) if len(frame) else 0
    if labeled < check.min_labeled:
        reason = f"{labeled} labelled rows in the window; the check needs {check.min_labeled}"
        return CheckResult(check.name, "performance", check.severity, SKIPPED, None, limit, reason)
    report = performance(frame, window=monitor.window)
    value = report.overall.get(check.key)
    if value is None or not math.isfinite(value):
        known = sorted(k for k, v in report.overall.items() if v is not None)
        reason = f"{check.metric} is not defined for this window ({report.task}; has {known})"
        return CheckResult(check.name, "performance", check.severity, SKIPPED, None, limit, reason)
    breached = (check.lt is not None and value < check.lt) or (
        check.gt is not None and value > check.gt
    )
    message = f"{check.metric} {value:.4g} over {labeled} labelled rows (alert when {limit})"
    return CheckResult(
        check.name,
        "performance",
        check.severity,
        BREACHED if breached else PASSED,
        float(value),
        limit,
        message,
        {"task": report.task, "labeled": labeled},
    )


def evaluate(monitor: MonitorSpec, source: Predictions, now: int) -> MonitorRun:
    """Every check of ``monitor`` over [now - window, now), on the predictions of ``source``."""
    width = window_ms(monitor.window)
    frames: dict[int, Any] = {}

    def window(delay: int) -> Any:  # the predictions of [now - delay - width, now - delay)
        if delay not in frames:
            frames[delay] = source.predictions(
                monitor.model,
                version=monitor.version,
                endpoint=monitor.endpoint,
                since=now - delay - width,
                until=now - delay,
            )
        return frames[delay]

    results = []
    for check in monitor.checks:
        if isinstance(check, DriftCheck):
            results.append(_drift(check, monitor, window(0), source.tracking_uri))
        else:
            delay = window_ms(check.delay) if check.delay else 0
            found = _performance(check, monitor, window(delay))
            if delay:
                found.details["window_end"] = now - delay
            results.append(found)
    frame = window(0)
    labeled = int(frame["label"].notna().sum()) if len(frame) else 0
    return MonitorRun(monitor.name, now - width, now, len(frame), labeled, results)
