"""Alert de-duplication and cooldown: one alert per monitor and check, told when it fires,
again only after the cooldown (never while acknowledged), and once when it resolves."""

from __future__ import annotations

from dataclasses import replace

from modelyard.monitoring.monitors.alerting import ACKED, OPEN, RESOLVED, AlertState, decide

HOUR = 3_600_000


def _step(
    previous: AlertState | None, outcome: str, now: int
) -> tuple[AlertState | None, str | None]:
    d = decide(
        previous,
        monitor="churn",
        check="drift",
        severity="warning",
        outcome=outcome,
        message=f"{outcome} at {now}",
        value=0.5,
        now=now,
        cooldown_ms=HOUR,
    )
    return d.state, d.notify


def test_fire_deduplicate_repeat_after_cooldown_and_resolve() -> None:
    state, told = _step(None, "skipped", 0)
    assert state is None and told is None  # no data: nothing happens
    state, told = _step(None, "passed", 0)
    assert state is None and told is None
    state, told = _step(None, "breached", 1_000)
    assert told == "fired" and state is not None and state.status == OPEN and state.count == 1
    assert state.fingerprint == "churn:drift"
    state, told = _step(state, "breached", 1_000 + HOUR // 2)  # within the cooldown
    assert told is None and state is not None and state.count == 2
    state, told = _step(state, "skipped", 1_000 + HOUR // 2 + 1)
    assert told is None and state is not None and state.count == 2  # unchanged
    state, told = _step(state, "breached", 1_000 + HOUR)  # the cooldown has passed
    assert told == "repeated" and state is not None and state.count == 3
    assert state.last_notified == 1_000 + HOUR and state.first_seen == 1_000
    state, told = _step(state, "passed", 2 * HOUR)
    assert told == "resolved" and state is not None and state.status == RESOLVED
    state, told = _step(state, "passed", 3 * HOUR)
    assert told is None  # resolved once
    state, told = _step(state, "breached", 4 * HOUR)
    assert told == "fired" and state is not None and state.count == 1  # a new alert


def test_an_acknowledged_alert_counts_but_is_not_told_again() -> None:
    state, _ = _step(None, "breached", 0)
    assert state is not None
    acked = replace(state, status=ACKED)
    state, told = _step(acked, "breached", 5 * HOUR)
    assert told is None and state is not None and state.status == ACKED and state.count == 2
    state, told = _step(state, "passed", 6 * HOUR)
    assert told == "resolved"


def test_a_resolved_alert_says_what_the_passing_check_found() -> None:
    """The notice of a resolution carries the passing check's message with its value, not
    the breach's message beside the new value."""
    state, _ = _step(None, "breached", 0)
    found = decide(
        state,
        monitor="churn",
        check="drift",
        severity="warning",
        outcome="passed",
        message="auc 0.91 over 575 labelled rows (alert when < 0.75)",
        value=0.91,
        now=HOUR,
        cooldown_ms=HOUR,
    )
    assert found.notify == "resolved" and found.state is not None
    assert (found.state.message, found.state.value) == (
        "auc 0.91 over 575 labelled rows (alert when < 0.75)",
        0.91,
    )
