"""``Monitor``: a monitor's spec (``monitors.spec.MonitorSpec``) that can save and run itself
on the store a URI names. It sits above ``MonitoringClient`` and only hands the spec to it;
everything below the client (stores, evaluation, alerting) works on the plain spec."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.monitoring.client import MonitoringClient
from modelyard.monitoring.monitors.evaluate import MonitorRun
from modelyard.monitoring.monitors.spec import MonitorSpec
from modelyard.monitoring.monitors.stored import StoredMonitor


@dataclass(frozen=True, eq=False)  # equal by value to a MonitorSpec (its __eq__)
class Monitor(MonitorSpec):
    def run(self, *, now: int | None = None, tracking_uri: str | None = None) -> MonitorRun:
        """Run the checks over the window ending ``now`` (epoch ms; default: now), tell the
        alert channels what changed (alert state is kept in the store, so runs from any
        process de-duplicate), and keep the run in the monitor's history. Returns the
        ``MonitorRun``, with its ``notices``."""
        return MonitoringClient(tracking_uri).run_monitor(self, now=now)

    def save(
        self, *, every: str | None = None, enabled: bool = True, tracking_uri: str | None = None
    ) -> StoredMonitor:
        """Store this monitor; ``modelyard server`` runs it every ``every`` (default: its
        ``every``, else its window), once however many servers share the store."""
        return MonitoringClient(tracking_uri).save_monitor(self, every=every, enabled=enabled)
