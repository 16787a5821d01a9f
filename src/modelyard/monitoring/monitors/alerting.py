"""When a breached check notifies: de-duplication and cooldown, as a pure function of the
alert's last state (kept by whoever runs monitors) and the check's outcome now.

One alert per (monitor, check): its fingerprint. A breach with no open alert opens one and
notifies. A breach while it is open counts (``count``, ``last_seen``) and notifies again only
once ``cooldown`` has passed since the last notice, and never while acknowledged. A check
that passes resolves the open alert and notifies once that it resolved. A skipped check (no
data in the window) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

OPEN, ACKED, RESOLVED = "open", "acked", "resolved"


@dataclass(frozen=True)
class AlertState:
    fingerprint: str  # "<monitor>:<check>"
    monitor: str
    check: str
    severity: str
    status: str  # open, acked, resolved
    first_seen: int  # epoch ms
    last_seen: int
    last_notified: int
    count: int
    message: str
    value: Any = None
    acked_by: str | None = None
    acked_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertState:
        """An alert as a client sends it, checked field by field."""
        from modelyard.errors import InvalidArgument

        if not isinstance(data, dict):
            raise InvalidArgument("an alert must be an object", field="alerts")
        texts = ("fingerprint", "monitor", "check", "severity", "status", "message")
        for key in texts:
            if not isinstance(data.get(key), str):
                raise InvalidArgument(f"{key} must be text", field=key)
        for key in ("first_seen", "last_seen", "last_notified", "count"):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
                raise InvalidArgument(f"{key} must be a whole number from 0", field=key)
        if data.get("acked_by") is not None and not isinstance(data["acked_by"], str):
            raise InvalidArgument("acked_by must be text", field="acked_by")
        stamp = data.get("acked_time")
        if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int)):
            raise InvalidArgument("acked_time must be epoch milliseconds", field="acked_time")
        if data["status"] not in (OPEN, ACKED, RESOLVED):
            raise InvalidArgument("status must be open, acked or resolved", field="status")
        if data["fingerprint"] != f"{data['monitor']}:{data['check']}":
            raise InvalidArgument("fingerprint must be monitor:check", field="fingerprint")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidArgument(f"unknown field(s) {unknown}", field=unknown[0])
        return cls(**data)


@dataclass(frozen=True)
class Decision:
    state: AlertState | None
    notify: str | None  # "fired", "repeated", "resolved", or None


def decide(
    previous: AlertState | None,
    *,
    monitor: str,
    check: str,
    severity: str,
    outcome: str,  # "breached", "passed" or "skipped"
    message: str,
    value: Any,
    now: int,
    cooldown_ms: int,
) -> Decision:
    active = previous is not None and previous.status in (OPEN, ACKED)
    if outcome == "skipped":
        return Decision(previous, None)
    if outcome == "passed":
        if not active:
            return Decision(previous, None)
        assert previous is not None
        # the passing check's own message, beside its value: the notice says why it resolved
        resolved = replace(previous, status=RESOLVED, last_seen=now, message=message, value=value)
        return Decision(resolved, "resolved")
    if not active:
        state = AlertState(
            f"{monitor}:{check}", monitor, check, severity, OPEN, now, now, now, 1, message, value
        )
        return Decision(state, "fired")
    assert previous is not None
    state = replace(previous, last_seen=now, count=previous.count + 1, message=message, value=value)
    if previous.status == OPEN and now - previous.last_notified >= cooldown_ms:
        return Decision(replace(state, last_notified=now), "repeated")
    return Decision(state, None)
