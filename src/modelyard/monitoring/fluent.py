"""``yard.monitoring.*`` on the current tracking URI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.monitoring.client import MonitoringClient
from modelyard.monitoring.sources import is_parquet, resolve_table
from modelyard.platform.backends import Part
from modelyard.platform.current import chosen_uri, current_backend

if TYPE_CHECKING:
    from modelyard.monitoring.quality import PerformanceReport
    from modelyard.monitoring.shift.report import DriftReport

_client = Part(lambda backend: MonitoringClient(settings=backend.settings, backend=backend))


def current_client() -> MonitoringClient:
    return _client(current_backend())


def log_labels(labels: Any) -> int:
    """Record true labels by request id (see ``MonitoringClient.log_labels``)."""
    return current_client().log_labels(labels)


def predictions(model: str | None = None, **kwargs: Any) -> Any:
    """Logged predictions with their late labels (see ``MonitoringClient.predictions``)."""
    return current_client().predictions(model, **kwargs)


def performance(model: str | None = None, **kwargs: Any) -> PerformanceReport:
    """Quality of logged predictions against late labels (see
    ``MonitoringClient.performance``)."""
    return current_client().performance(model, **kwargs)


def drift(reference: Any, current: Any, **options: Any) -> DriftReport:
    """Drift of ``current`` from ``reference`` (see ``monitoring.shift.compute.drift`` for
    the options). Each side is a DataFrame, an Arrow table, a Parquet or CSV path, a
    ``DatasetVersion``, or ``"dataset:NAME[@VERSION]"`` for a logged dataset. A Parquet file
    as ``current`` is read in parts, so it may be larger than memory."""
    from modelyard.monitoring.shift.compute import drift as compute

    uri = chosen_uri()
    if is_parquet(current):  # read in parts; so is a Parquet reference then
        ref = (
            Path(reference) if is_parquet(reference) else resolve_table(reference, "reference", uri)
        )
        return compute(ref, Path(current), **options)
    ref = resolve_table(reference, "reference", uri)
    return compute(ref, resolve_table(current, "current", uri), **options)
