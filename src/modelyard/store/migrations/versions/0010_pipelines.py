"""Pipelines: the pipelines known (schedule, triggers, the next fire claimed by
compare-and-set), their runs (QUEUED rows claimed the same way), the steps of each run and
the step cache, and how far each trigger has read its events.

Revision ID: 0010_pipelines
Revises: 0009_sso_tokens
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_pipelines"
down_revision = "0009_sso_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("project", sa.String(64), nullable=False, server_default="default"),
        sa.Column("entrypoint", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("schedule", sa.String(256), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("triggers", sa.Text, nullable=False),
        sa.Column("catchup", sa.String(16), nullable=False),
        sa.Column("max_active", sa.Integer, nullable=False),
        sa.Column("code_digest", sa.String(64), nullable=False),
        sa.Column("next_fire", sa.BigInteger, nullable=True),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_pipelines_project", "pipelines", ["project"])
    op.create_index("ix_pipelines_next_fire", "pipelines", ["next_fire"])
    _runs_and_steps()
    _cache_and_triggers()


def _runs_and_steps() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("pipeline", sa.String(128), nullable=False),
        sa.Column("project", sa.String(64), nullable=False, server_default="default"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("trigger", sa.String(512), nullable=False),
        sa.Column("executor", sa.String(32), nullable=False),
        sa.Column("tracked_run_id", sa.String(32), nullable=True),
        sa.Column("queued_time", sa.BigInteger, nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=True),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("retry_of", sa.String(32), nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.Column("heartbeat", sa.BigInteger, nullable=True),
        sa.Column("created_by", sa.String(256), nullable=True),
    )
    op.create_index("ix_pipeline_runs_pipeline_time", "pipeline_runs", ["pipeline", "queued_time"])
    op.create_index("ix_pipeline_runs_status", "pipeline_runs", ["status"])
    op.create_index("ix_pipeline_runs_project", "pipeline_runs", ["project"])
    op.create_table(
        "pipeline_steps",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("step_key", sa.String(160), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tracked_run_id", sa.String(32), nullable=True),
        sa.Column("cache_key", sa.String(64), nullable=True),
        sa.Column("cached_from", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=True),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("output", sa.Text, nullable=True),
        sa.Column("logs", sa.Text, nullable=False),
        sa.Column("upstream", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
    )


def _cache_and_triggers() -> None:
    op.create_table(
        "pipeline_cache",
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column("project", sa.String(64), primary_key=True),
        sa.Column("step", sa.String(128), nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("step_key", sa.String(160), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("expires_time", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_pipeline_cache_step", "pipeline_cache", ["step"])
    op.create_table(
        "pipeline_triggers",
        sa.Column("pipeline", sa.String(128), primary_key=True),
        sa.Column("trigger_key", sa.String(400), primary_key=True),
        sa.Column("since", sa.BigInteger, nullable=False),
        sa.Column("cursor", sa.BigInteger, nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pipeline_triggers")
    op.drop_table("pipeline_cache")
    op.drop_table("pipeline_steps")
    op.drop_table("pipeline_runs")
    op.drop_table("pipelines")
