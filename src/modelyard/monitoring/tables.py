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
)
