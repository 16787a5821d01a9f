"""Monitoring: stored monitors (claimed by compare-and-set on next_run), their runs as a
time series, and alerts by fingerprint.

Revision ID: 0006_monitors
Revises: 0005_predictions
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_monitors"
down_revision = "0005_predictions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("every_ms", sa.BigInteger, nullable=False),
        sa.Column("next_run", sa.BigInteger, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_monitors_next_run", "monitors", ["next_run"])
    op.create_table(
        "monitor_runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("monitor", sa.String(128), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("labeled", sa.BigInteger, nullable=False),
        sa.Column("results", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("run_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_monitor_runs_monitor_end", "monitor_runs", ["monitor", "window_end"])
    op.create_table(
        "monitor_alerts",
        sa.Column("fingerprint", sa.String(300), primary_key=True),
        sa.Column("monitor", sa.String(128), nullable=False),
        sa.Column("check_name", sa.String(160), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_seen", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
        sa.Column("last_notified", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("acked_by", sa.String(256), nullable=True),
        sa.Column("acked_time", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_monitor_alerts_status", "monitor_alerts", ["status", "last_seen"])


def downgrade() -> None:
    op.drop_table("monitor_alerts")
    op.drop_table("monitor_runs")
    op.drop_table("monitors")
