"""SQL tables of the data domain: datasets, their immutable versions, and lineage edges.

A version's files are listed in its manifest (path, sha256, size); the bytes live once per
sha256 in the artifact store. Lineage edges are typed (``dataset_version``, ``run``, later
``model_version`` and ``deployment``) so one table carries the whole graph.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelyard.store.metadata import metadata

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("dataset_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("name_key", sa.String(256), nullable=False, unique=True),  # lower-cased name
    sa.Column("kind", sa.String(16), nullable=False),  # table | files
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
    # the project it belongs to (auth.tables.projects; no foreign key: domains never import
    # auth, and the services check that a project exists)
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),
    sa.Index("ix_datasets_project", "project"),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("version_id", sa.String(32), primary_key=True),
    sa.Column(
        "dataset_id",
        sa.String(32),
        sa.ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),  # parquet | csv | files
    sa.Column("num_rows", sa.BigInteger, nullable=True),
    sa.Column("num_bytes", sa.BigInteger, nullable=False),
    sa.Column("num_files", sa.Integer, nullable=False),
    sa.Column("manifest", sa.Text, nullable=False),  # JSON list of {path, sha256, size}
    sa.Column("schema", sa.Text, nullable=True),  # JSON
    sa.Column("profile", sa.Text, nullable=True),  # JSON
    sa.Column("expectations", sa.Text, nullable=True),  # YAML
    sa.Column("tags", sa.Text, nullable=False, server_default="{}"),  # JSON
    sa.Column("source", sa.String(2000), nullable=True),
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("dataset_id", "version"),
    sa.UniqueConstraint("dataset_id", "digest"),
)

# which projects hold a blob (a content-addressed file, shared when two projects store the
# same bytes): a blob is read through a project that holds it, never by its hash alone
blob_holders = sa.Table(
    "blob_holders",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("project", sa.String(64), primary_key=True),
)

lineage_edges = sa.Table(
    "lineage_edges",
    metadata,
    sa.Column("edge_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source_type", sa.String(32), nullable=False),
    sa.Column("source_id", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", sa.String(64), nullable=False),
    sa.Column("relation", sa.String(32), nullable=False),  # input | output | derived
    sa.Column("context", sa.String(64), nullable=True),  # training | evaluation | ...
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.UniqueConstraint(
        "source_type",
        "source_id",
        "target_type",
        "target_id",
        "relation",
        name="uq_lineage_edges_endpoints",
    ),
    sa.Index("ix_lineage_edges_target", "target_type", "target_id"),
)
