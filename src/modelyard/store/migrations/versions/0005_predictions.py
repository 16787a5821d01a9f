"""Monitoring: the catalog of shipped prediction files and late labels.

Revision ID: 0005_predictions
Revises: 0004_deployments
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_predictions"
down_revision = "0004_deployments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_files",
        sa.Column("file_id", sa.String(32), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("endpoint", sa.String(256), nullable=False),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("first_time", sa.BigInteger, nullable=False),
        sa.Column("last_time", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("sha256", name="uq_prediction_files_sha256"),
    )
    op.create_index("ix_prediction_files_model_time", "prediction_files", ["model", "first_time"])
    op.create_index(
        "ix_prediction_files_endpoint_time", "prediction_files", ["endpoint", "first_time"]
    )
    op.create_table(
        "prediction_labels",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("row_index", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("recorded_by", sa.String(256), nullable=True),
        sa.Column("recorded_time", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_prediction_labels_time", "prediction_labels", ["time"])


def downgrade() -> None:
    op.drop_table("prediction_labels")
    op.drop_table("prediction_files")
