"""From a monitor run to alerts: each check's outcome goes through ``alerting.decide`` with
the alert's last state, and what must be told goes to every channel of the monitor (the log
when it names none)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from modelyard.monitoring.monitors.alerting import AlertState, decide
from modelyard.monitoring.monitors.channels import deliver
from modelyard.monitoring.monitors.evaluate import MonitorRun, Predictions, evaluate
from modelyard.monitoring.monitors.spec import Log, MonitorSpec
from modelyard.monitoring.quality import window_ms
from modelyard.monitoring.store import MonitoringStore


@dataclass(frozen=True)
class Notice:
    event: str  # fired, repeated, resolved
    alert: AlertState
    errors: list[str] = field(default_factory=list)  # channels that failed


def notify(
    monitor: MonitorSpec,
    run: MonitorRun,
    states: dict[str, AlertState],
    now: int,
    *,
    allow_private: bool = True,
) -> list[Notice]:
    """Update ``states`` (by fingerprint) from ``run`` and deliver what must be told."""
    cooldown = window_ms(monitor.cooldown)
    notices = []
    for result in run.results:
        fingerprint = f"{monitor.name}:{result.check}"
        decision = decide(
            states.get(fingerprint),
            monitor=monitor.name,
            check=result.check,
            severity=result.severity,
            outcome=result.outcome,
            message=result.message,
            value=result.value,
            now=now,
            cooldown_ms=cooldown,
        )
        if decision.state is not None:
            states[fingerprint] = decision.state
        if decision.notify is None or decision.state is None:
            continue
        payload: dict[str, Any] = {
            **decision.state.to_dict(),
            "event": decision.notify,
            "threshold": result.threshold,
            "window_start": run.window_start,
            "window_end": run.window_end,
        }
        channels = monitor.alerts or [Log()]
        sent = (deliver(c, payload, allow_private=allow_private) for c in channels)
        errors = [e for e in sent if e is not None]
        notices.append(Notice(decision.notify, decision.state, errors))
    return notices


def run_stored(
    monitor: MonitorSpec,
    source: Predictions,
    store: MonitoringStore,
    now: int,
    *,
    allow_private: bool = True,
) -> MonitorRun:
    """Evaluate ``monitor`` on ``source`` over the window ending ``now``, tell what changed
    using the alert state kept in ``store``, write that state back, and keep the run as
    history."""
    run = evaluate(monitor, source, now)
    fingerprints = [f"{monitor.name}:{c.name}" for c in monitor.checks]
    states = {a.fingerprint: a for a in store.get_alerts(fingerprints)}
    before = dict(states)
    notices = notify(monitor, run, states, now, allow_private=allow_private)
    changed = [s for fp, s in states.items() if before.get(fp) != s]
    store.put_alerts(changed)
    run = replace(run, notices=notices)
    store.add_monitor_run({**run.to_dict(), "error": None})
    return run
