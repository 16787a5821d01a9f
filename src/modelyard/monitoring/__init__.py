"""modelyard.monitoring: predictions logged by the inference servers, and late labels.

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
}

__all__ = ["Label", "MonitoringClient", "PredictionFile", "log_labels", "predictions"]


__getattr__ = lazy_exports("modelyard.monitoring", _EXPORTS, globals())


if TYPE_CHECKING:
    from modelyard.monitoring.client import MonitoringClient
    from modelyard.monitoring.entities import Label, PredictionFile
    from modelyard.monitoring.fluent import log_labels, predictions
