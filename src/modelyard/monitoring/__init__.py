"""modelyard.monitoring: predictions logged by the inference servers, late labels, and drift.

Only re-exports the public API, loaded on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard.lazy import lazy_exports

_EXPORTS = {
    "MonitoringClient": "client",
    "Label": "entities",
    "PredictionFile": "entities",
    "log_labels": "fluent",
    "predictions": "fluent",
    "drift": "fluent",
    "Monitor": "monitor",
    "DriftCheck": "monitors.spec",
    "PerformanceCheck": "monitors.spec",
    "Webhook": "monitors.spec",
    "Email": "monitors.spec",
    "Log": "monitors.spec",
    "performance": "fluent",
    "PerformanceReport": "quality",
    "DriftReport": "shift.report",
    "ColumnDrift": "shift.findings",
}

__all__ = [
    "ColumnDrift",
    "DriftCheck",
    "DriftReport",
    "Email",
    "Label",
    "Log",
    "Monitor",
    "MonitoringClient",
    "PerformanceCheck",
    "PerformanceReport",
    "PredictionFile",
    "Webhook",
    "drift",
    "log_labels",
    "performance",
    "predictions",
]


__getattr__ = lazy_exports("modelyard.monitoring", _EXPORTS, globals())


if TYPE_CHECKING:
    from modelyard.monitoring.client import MonitoringClient
    from modelyard.monitoring.entities import Label, PredictionFile
    from modelyard.monitoring.fluent import drift, log_labels, performance, predictions
    from modelyard.monitoring.monitor import Monitor
    from modelyard.monitoring.monitors.spec import (
        DriftCheck,
        Email,
        Log,
        PerformanceCheck,
        Webhook,
    )
    from modelyard.monitoring.quality import PerformanceReport
    from modelyard.monitoring.shift.findings import ColumnDrift
    from modelyard.monitoring.shift.report import DriftReport
