"""Data: datasets, dataset versions (manifest, schema, profile, expectations), lineage edges.

Revision ID: 0002_data
Revises: 0001_tracking
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_data"
down_revision = "0001_tracking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("name_key", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("dataset_id", name="pk_datasets"),
        sa.UniqueConstraint("name_key", name="uq_datasets_name_key"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("dataset_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("num_rows", sa.BigInteger, nullable=True),
        sa.Column("num_bytes", sa.BigInteger, nullable=False),
        sa.Column("num_files", sa.Integer, nullable=False),
        sa.Column("manifest", sa.Text, nullable=False),
        sa.Column("schema", sa.Text, nullable=True),
        sa.Column("profile", sa.Text, nullable=True),
        sa.Column("expectations", sa.Text, nullable=True),
        sa.Column("tags", sa.Text, nullable=False, server_default="{}"),
        sa.Column("source", sa.String(2000), nullable=True),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("version_id", name="pk_dataset_versions"),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.dataset_id"],
            name="fk_dataset_versions_dataset_id_datasets",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_id_version"),
        sa.UniqueConstraint("dataset_id", "digest", name="uq_dataset_versions_dataset_id_digest"),
    )
    op.create_table(
        "lineage_edges",
        sa.Column("edge_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("source_type", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.Column("context", sa.String(64), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("edge_id", name="pk_lineage_edges"),
        sa.UniqueConstraint(
            "source_type",
            "source_id",
            "target_type",
            "target_id",
            "relation",
            name="uq_lineage_edges_endpoints",
        ),
    )
    op.create_index("ix_lineage_edges_target", "lineage_edges", ["target_type", "target_id"])


def downgrade() -> None:
    op.drop_table("lineage_edges")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
