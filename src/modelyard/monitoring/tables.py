"""SQL tables of monitoring: shipped prediction files (a catalog; the Parquet bytes are
dataset blobs) and late labels, one per request id and row."""

from __future__ import annotations

import sqlalchemy as sa

from modelyard.store.metadata import metadata

prediction_files = sa.Table(
    "prediction_files",
    metadata,
    sa.Column("file_id", sa.String(32), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("model", sa.String(256), nullable=False),
    sa.Column("version", sa.String(64), nullable=True),
    sa.Column("endpoint", sa.String(256), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("first_time", sa.BigInteger, nullable=False),
    sa.Column("last_time", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Index("ix_prediction_files_model_time", "model", "first_time"),
    sa.Index("ix_prediction_files_endpoint_time", "endpoint", "first_time"),
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),  # auth's
    sa.Index("ix_prediction_files_project", "project"),
)

prediction_labels = sa.Table(
    "prediction_labels",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("row_index", sa.Integer, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),  # JSON: a number, text or true/false
    sa.Column("time", sa.BigInteger, nullable=False),  # when the truth was known
    sa.Column("recorded_by", sa.String(256), nullable=True),
    sa.Column("recorded_time", sa.BigInteger, nullable=False),
    sa.Index("ix_prediction_labels_time", "time"),
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),
    sa.Index("ix_prediction_labels_project", "project"),
)

monitors = sa.Table(
    "monitors",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),  # JSON: Monitor.to_dict()
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("every_ms", sa.BigInteger, nullable=False),
    sa.Column("next_run", sa.BigInteger, nullable=False),  # epoch ms; claimed by compare-and-set
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("updated_time", sa.BigInteger, nullable=False),
    sa.Index("ix_monitors_next_run", "next_run"),
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),
    sa.Index("ix_monitors_project", "project"),
)

monitor_runs = sa.Table(
    "monitor_runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("monitor", sa.String(128), nullable=False),
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("window_end", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # breached, passed, skipped, error
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("labeled", sa.BigInteger, nullable=False),
    sa.Column("results", sa.Text, nullable=False),  # JSON: the check results
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("run_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Index("ix_monitor_runs_monitor_end", "monitor", "window_end"),
)

monitor_alerts = sa.Table(
    "monitor_alerts",
    metadata,
    sa.Column("fingerprint", sa.String(300), primary_key=True),  # "<monitor>:<check>"
    sa.Column("monitor", sa.String(128), nullable=False),
    sa.Column("check_name", sa.String(160), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open, acked, resolved
    sa.Column("first_seen", sa.BigInteger, nullable=False),
    sa.Column("last_seen", sa.BigInteger, nullable=False),
    sa.Column("last_notified", sa.BigInteger, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=True),  # JSON
    sa.Column("acked_by", sa.String(256), nullable=True),
    sa.Column("acked_time", sa.BigInteger, nullable=True),
    sa.Index("ix_monitor_alerts_status", "status", "last_seen"),
)
