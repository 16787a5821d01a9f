"""Deployments: named serving endpoints with weighted routes and shadows.

Revision ID: 0004_deployments
Revises: 0003_registry
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_deployments"
down_revision = "0003_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("deployment_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("name_key", sa.String(256), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=True),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name_key", name="uq_deployments_name_key"),
    )


def downgrade() -> None:
    op.drop_table("deployments")
