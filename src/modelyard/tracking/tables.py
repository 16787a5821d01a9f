"""SQL tables of the tracking domain (SQLAlchemy Core).

The shape follows MLflow's data model (run ids of 32 hex, immutable params, metric histories
with step and timestamp, mutable tags, soft delete) so an MLflow-compatible API can be served
from it without a migration. Timestamps are milliseconds since the epoch. On SQLite the run
tables are clustered by their primary key (WITHOUT ROWID): loading a run's values or sorting
by a metric is one B-tree search per run instead of two.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelyard.store.metadata import metadata

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(500), nullable=False, unique=True),
    sa.Column("artifact_location", sa.String(2000), nullable=False),
    sa.Column("lifecycle_stage", sa.String(32), nullable=False, server_default="active"),
    sa.Column("creation_time", sa.BigInteger, nullable=False),
    sa.Column("last_update_time", sa.BigInteger, nullable=False),
    # the project it belongs to (auth.tables.projects; no foreign key: domains never import
    # auth, and the services check that a project exists)
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),
    sa.Index("ix_experiments_project", "project"),
)

experiment_tags = sa.Table(
    "experiment_tags",
    metadata,
    sa.Column(
        "experiment_id",
        sa.Integer,
        sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.String(8000), nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_uuid", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(250), nullable=False),
    sa.Column(
        "experiment_id",
        sa.Integer,
        sa.ForeignKey("experiments.experiment_id"),
        nullable=False,
    ),
    sa.Column("parent_run_id", sa.String(32), nullable=True),
    sa.Column("user_id", sa.String(256), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=False),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("lifecycle_stage", sa.String(20), nullable=False),
    sa.Column("deleted_time", sa.BigInteger, nullable=True),
    sa.Column("artifact_uri", sa.String(2000), nullable=False),
    sa.Index("ix_runs_experiment_stage_start", "experiment_id", "lifecycle_stage", "start_time"),
    sa.Index("ix_runs_parent_run_id", "parent_run_id"),
    sqlite_with_rowid=False,
)

params = sa.Table(
    "params",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.String(6000), nullable=False),
    sa.Index("ix_params_key_run", "key", "run_uuid"),
    sqlite_with_rowid=False,
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.String(8000), nullable=False),
    sa.Index("ix_tags_key_run", "key", "run_uuid"),
    sqlite_with_rowid=False,
)

# Every logged point. NaN is stored as value 0 with is_nan true (SQLite cannot hold NaN);
# +-inf are stored as they are. The primary key makes re-delivery of a batch idempotent.
metrics = sa.Table(
    "metrics",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("timestamp", sa.BigInteger, primary_key=True),
    sa.Column("value", sa.Double, primary_key=True),
    sa.Column("is_nan", sa.Boolean, primary_key=True),
    sqlite_with_rowid=False,
)

# The latest point of each metric of each run (largest step, then timestamp, then value):
# what search filters and sorts on.
latest_metrics = sa.Table(
    "latest_metrics",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.Double, nullable=False),
    sa.Column("timestamp", sa.BigInteger, nullable=False),
    sa.Column("step", sa.BigInteger, nullable=False),
    sa.Column("is_nan", sa.Boolean, nullable=False),
    sa.Index("ix_latest_metrics_key_value", "key", "value"),
    sqlite_with_rowid=False,
)

# Catalog of stored artifacts: size and sha256 recorded at upload.
run_artifacts = sa.Table(
    "run_artifacts",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("path", sa.String(1024), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("created_time", sa.BigInteger, nullable=False),
)

# A run's artifact folder that a registered version was made from: nothing under it changes.
run_artifact_seals = sa.Table(
    "run_artifact_seals",
    metadata,
    sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("prefix", sa.String(1024), primary_key=True),
    sa.Column("sealed_by", sa.String(256), nullable=False),
    sa.Column("created_time", sa.BigInteger, nullable=False),
)
