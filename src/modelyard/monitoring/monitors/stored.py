"""A monitor as the store keeps it: its spec (``Monitor.to_dict()``), whether it runs, how
often, and when it runs next (``next_run``, which a server claims by compare-and-set so that
one run happens however many servers share the database)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from modelyard.monitoring.monitors.spec import REDACTED, MonitorSpec


@dataclass(frozen=True)
class StoredMonitor:
    name: str
    spec: dict[str, Any]
    enabled: bool
    every_ms: int
    next_run: int  # epoch ms
    revision: int
    created_time: int
    updated_time: int
    project: str = "default"

    @property
    def monitor(self) -> MonitorSpec:
        return MonitorSpec.from_dict(self.spec)

    def to_dict(self, *, redact: bool = False) -> dict[str, Any]:
        """As a dict; ``redact`` hides webhook secrets (what a server answers: a secret is
        written, never read back)."""
        found = asdict(self)
        if redact:
            for channel in found["spec"].get("alerts", []):
                if channel.get("secret"):
                    channel["secret"] = REDACTED
        return found

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredMonitor:
        return cls(**data)
