"""Tracking: experiments, runs, params, tags, metrics, latest metrics, artifact catalog.

Revision ID: 0001_tracking
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_tracking"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_experiments()
    _create_experiment_tags()
    _create_runs()
    _create_params_and_tags()
    _create_metrics()
    _create_latest_metrics()
    _create_run_artifacts()


def _create_experiments() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.String(2000), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False, server_default="active"),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )


def _create_experiment_tags() -> None:
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.String(8000), nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", "key", name="pk_experiment_tags"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            ondelete="CASCADE",
            name="fk_experiment_tags_experiment_id_experiments",
        ),
    )


def _create_runs() -> None:
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("parent_run_id", sa.String(32), nullable=True),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("deleted_time", sa.BigInteger, nullable=True),
        sa.Column("artifact_uri", sa.String(2000), nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_runs_experiment_id_experiments",
        ),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_runs_experiment_stage_start", "runs", ["experiment_id", "lifecycle_stage", "start_time"]
    )
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])


def _create_params_and_tags() -> None:
    for table, width in (("params", 6000), ("tags", 8000)):
        op.create_table(
            table,
            sa.Column("run_uuid", sa.String(32), nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.String(width), nullable=False),
            sa.PrimaryKeyConstraint("run_uuid", "key", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["run_uuid"],
                ["runs.run_uuid"],
                ondelete="CASCADE",
                name=f"fk_{table}_run_uuid_runs",
            ),
            sqlite_with_rowid=False,
        )
        op.create_index(f"ix_{table}_key_run", table, ["key", "run_uuid"])


def _create_metrics() -> None:
    op.create_table(
        "metrics",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint(
            "run_uuid", "key", "step", "timestamp", "value", "is_nan", name="pk_metrics"
        ),
        sa.ForeignKeyConstraint(
            ["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE", name="fk_metrics_run_uuid_runs"
        ),
        sqlite_with_rowid=False,
    )


def _create_latest_metrics() -> None:
    op.create_table(
        "latest_metrics",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", "key", name="pk_latest_metrics"),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            ondelete="CASCADE",
            name="fk_latest_metrics_run_uuid_runs",
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])


def _create_run_artifacts() -> None:
    op.create_table(
        "run_artifacts",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", "path", name="pk_run_artifacts"),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            ondelete="CASCADE",
            name="fk_run_artifacts_run_uuid_runs",
        ),
    )


def downgrade() -> None:
    for table in (
        "run_artifacts",
        "latest_metrics",
        "metrics",
        "tags",
        "params",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(table)
