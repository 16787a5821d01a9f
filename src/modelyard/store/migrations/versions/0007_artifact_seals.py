"""Sealed artifact folders: a run's folder that a registered version was made from.

Revision ID: 0007_artifact_seals
Revises: 0006_monitors
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_artifact_seals"
down_revision = "0006_monitors"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_artifact_seals",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("prefix", sa.String(1024), nullable=False),
        sa.Column("sealed_by", sa.String(256), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("run_uuid", "prefix", name="pk_run_artifact_seals"),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            name="fk_run_artifact_seals_run_uuid_runs",
            ondelete="CASCADE",
        ),
    )
    # versions registered before seals existed: seal their folders now
    op.execute(
        "INSERT INTO run_artifact_seals (run_uuid, prefix, sealed_by, created_time) "
        "SELECT DISTINCT v.run_id, substr(v.source, length('runs:/') + length(v.run_id) + 2), "
        "'migration', 0 FROM model_versions v JOIN runs r ON r.run_uuid = v.run_id "
        "WHERE v.source LIKE 'runs:/%' AND v.run_id IS NOT NULL "
        "AND substr(v.source, 1, length('runs:/') + length(v.run_id) + 1) = "
        "'runs:/' || v.run_id || '/'"
    )


def downgrade() -> None:
    op.drop_table("run_artifact_seals")
