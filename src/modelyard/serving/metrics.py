"""Prometheus metrics of the inference server, at ``GET /metrics``.

With several worker processes every process writes its numbers to files in
``PROMETHEUS_MULTIPROC_DIR`` (set by ``modelyard serve`` before the workers start) and a
scrape adds them up, so a scrape that lands on any worker sees the whole server. With one
process the default registry is used.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "modelyard_requests_total",
    "Inference requests answered, by model, version and HTTP status",
    ["model", "version", "status"],
)
LATENCY = Histogram(
    "modelyard_request_seconds",
    "Inference latency in the server (body read to answer), by model",
    ["model"],
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
BATCH = Histogram(
    "modelyard_batch_rows",
    "Rows per model call (adaptive batching), by model",
    ["model"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096),
)
QUEUE = Gauge(
    "modelyard_queue_depth",
    "Requests waiting for the model, by model",
    ["model"],
    multiprocess_mode="livesum",
)
INFLIGHT = Gauge(
    "modelyard_inflight_requests",
    "Inference requests admitted and not yet answered",
    multiprocess_mode="livesum",
)
SHADOWS = Counter(
    "modelyard_shadow_predictions_total",
    "Shadow predictions, by endpoint, shadow version and outcome (agree, differ, failed)",
    ["endpoint", "version", "outcome"],
)
LOADS = Counter(
    "modelyard_model_loads_total",
    "Model loads, by model, version and outcome (ok or failed)",
    ["model", "version", "outcome"],
)
REVISION = Gauge(
    "modelyard_deployment_revision",
    "The revision of each followed deployment being served",
    ["deployment"],
    multiprocess_mode="livemin",
)
PREDLOG_RECORDS = Counter(
    "modelyard_prediction_log_records_total",
    "Records (predictions and label batches) written to the local prediction log",
)
PREDLOG_DROPPED = Counter(
    "modelyard_prediction_log_dropped_total",
    "Records the prediction log dropped (disk full, queue full, unwritable value)",
)
PREDLOG_SHIPPED = Counter(
    "modelyard_prediction_log_shipped_rows_total",
    "Predicted rows shipped to the store as Parquet",
)
PREDLOG_BACKLOG = Gauge(
    "modelyard_prediction_log_backlog_segments",
    "Closed segments waiting to be shipped",
    multiprocess_mode="livemax",
)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    if os.environ.get(MULTIPROC):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def process_gone() -> None:
    """Drop this worker's live gauges from the shared folder when it exits."""
    if os.environ.get(MULTIPROC):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
