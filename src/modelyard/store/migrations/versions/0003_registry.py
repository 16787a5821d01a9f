"""Registry and audit: models, versions, tags, aliases and their history, policies, approvals,
webhooks and deliveries; the hash-chained audit log and its head.

Revision ID: 0003_registry
Revises: 0002_data
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_registry"
down_revision = "0002_data"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, target_column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.{target_column}"],
        name=f"fk_{table}_{column}_{target}",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    _create_audit_log()
    _create_audit_head()
    _create_registered_models()
    _create_registered_model_tags()
    _create_model_versions()
    _create_model_version_tags()
    _create_model_aliases()
    _create_alias_history()
    _create_alias_policies()
    _create_approval_requests()
    _create_approval_votes()
    _create_webhooks()
    _create_webhook_deliveries()


def _create_audit_log() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(512), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])
    op.create_index("ix_audit_log_time", "audit_log", ["time"])


def _create_audit_head() -> None:
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    # the row appenders lock: it must exist before the first concurrent writers arrive
    op.bulk_insert(head, [{"id": 1, "last_seq": 0, "last_hash": "0" * 64}])


def _create_registered_models() -> None:
    op.create_table(
        "registered_models",
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("name_key", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("card", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
        sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("deleted_time", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("model_id", name="pk_registered_models"),
        sa.UniqueConstraint("name_key", name="uq_registered_models_name_key"),
    )


def _create_registered_model_tags() -> None:
    op.create_table(
        "registered_model_tags",
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.String(5000), nullable=False),
        sa.PrimaryKeyConstraint("model_id", "key", name="pk_registered_model_tags"),
        _fk("registered_model_tags", "model_id", "registered_models", "model_id"),
    )


def _create_model_versions() -> None:
    op.create_table(
        "model_versions",
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("source", sa.String(2000), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("flavor", sa.String(64), nullable=True),
        sa.Column("model_digest", sa.String(64), nullable=True),
        sa.Column("signature", sa.Text, nullable=True),
        sa.Column("card", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
        sa.Column("deleted_time", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("version_id", name="pk_model_versions"),
        _fk("model_versions", "model_id", "registered_models", "model_id"),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_model_id_version"),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])


def _create_model_version_tags() -> None:
    op.create_table(
        "model_version_tags",
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.String(5000), nullable=False),
        sa.PrimaryKeyConstraint("version_id", "key", name="pk_model_version_tags"),
        _fk("model_version_tags", "version_id", "model_versions", "version_id"),
    )
    op.create_index("ix_model_version_tags_key_value", "model_version_tags", ["key", "value"])


def _create_model_aliases() -> None:
    op.create_table(
        "model_aliases",
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("set_by", sa.String(256), nullable=False),
        sa.Column("set_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("model_id", "alias", name="pk_model_aliases"),
        _fk("model_aliases", "model_id", "registered_models", "model_id"),
    )


def _create_alias_history() -> None:
    op.create_table(
        "alias_history",
        sa.Column("event_id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("previous_version", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_alias_history"),
    )
    op.create_index(
        "ix_alias_history_model_alias_time", "alias_history", ["model_id", "alias", "time"]
    )


def _create_alias_policies() -> None:
    op.create_table(
        "alias_policies",
        sa.Column("model_key", sa.String(256), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("require_approval", sa.Boolean, nullable=False),
        sa.Column("approver_role", sa.String(64), nullable=False),
        sa.Column("min_approvals", sa.Integer, nullable=False),
        sa.Column("allow_self_approval", sa.Boolean, nullable=False),
        sa.Column("required_gates", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("model_key", "alias", name="pk_alias_policies"),
    )


def _create_approval_requests() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(32), nullable=False),
        sa.Column("version_id", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("requested_time", sa.BigInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("decided_time", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_approval_requests"),
    )
    op.create_index(
        "ix_approval_requests_model_status", "approval_requests", ["model_id", "status"]
    )


def _create_approval_votes() -> None:
    op.create_table(
        "approval_votes",
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("request_id", "actor", name="pk_approval_votes"),
        _fk("approval_votes", "request_id", "approval_requests", "request_id"),
    )


def _create_webhooks() -> None:
    op.create_table(
        "webhooks",
        sa.Column("webhook_id", sa.String(32), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("model_key", sa.String(256), nullable=True),
        sa.Column("secret", sa.String(256), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_webhooks"),
    )


def _create_webhook_deliveries() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(32), nullable=False),
        sa.Column("webhook_id", sa.String(32), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_time", sa.BigInteger, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("delivered_time", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", name="pk_webhook_deliveries"),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next",
        "webhook_deliveries",
        ["status", "next_attempt_time"],
    )
    op.create_index(
        "ix_webhook_deliveries_webhook", "webhook_deliveries", ["webhook_id", "created_time"]
    )


def downgrade() -> None:
    for table in (
        "webhook_deliveries",
        "webhooks",
        "approval_votes",
        "approval_requests",
        "alias_policies",
        "alias_history",
        "model_aliases",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
        "audit_head",
        "audit_log",
    ):
        op.drop_table(table)
