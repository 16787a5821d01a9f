"""SQL tables of the registry: models, versions, tags, aliases and their history, policies,
approval requests, webhooks and their deliveries.

Models and versions are never removed, only marked deleted (``deleted_time``), so lineage,
alias history and the audit trail keep pointing at something; a deleted model keeps its name
until it is restored.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelyard.store.metadata import metadata

registered_models = sa.Table(
    "registered_models",
    metadata,
    sa.Column("model_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("name_key", sa.String(256), nullable=False, unique=True),  # lower-cased name
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("card", sa.Text, nullable=True),  # JSON: editable model-card sections
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("updated_time", sa.BigInteger, nullable=False),
    sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("deleted_time", sa.BigInteger, nullable=True),
    # the project it belongs to (auth.tables.projects; no foreign key: domains never import
    # auth, and the services check that a project exists)
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),
    sa.Index("ix_registered_models_project", "project"),
)

registered_model_tags = sa.Table(
    "registered_model_tags",
    metadata,
    sa.Column(
        "model_id",
        sa.String(32),
        sa.ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.String(5000), nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("version_id", sa.String(32), primary_key=True),
    sa.Column(
        "model_id",
        sa.String(32),
        sa.ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("source", sa.String(2000), nullable=False),
    sa.Column("run_id", sa.String(32), nullable=True),
    sa.Column("status", sa.String(32), nullable=False),  # READY
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("flavor", sa.String(64), nullable=True),
    sa.Column("model_digest", sa.String(64), nullable=True),  # sha256 of model.yaml
    sa.Column("signature", sa.Text, nullable=True),  # JSON
    sa.Column("card", sa.Text, nullable=True),  # JSON: editable model-card sections
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("updated_time", sa.BigInteger, nullable=False),
    sa.Column("deleted_time", sa.BigInteger, nullable=True),
    sa.UniqueConstraint("model_id", "version"),
    sa.Index("ix_model_versions_run_id", "run_id"),
)

model_version_tags = sa.Table(
    "model_version_tags",
    metadata,
    sa.Column(
        "version_id",
        sa.String(32),
        sa.ForeignKey("model_versions.version_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", sa.String(250), primary_key=True),
    sa.Column("value", sa.String(5000), nullable=False),
    sa.Index("ix_model_version_tags_key_value", "key", "value"),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column(
        "model_id",
        sa.String(32),
        sa.ForeignKey("registered_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("version_id", sa.String(32), nullable=False),
    sa.Column("set_by", sa.String(256), nullable=False),
    sa.Column("set_time", sa.BigInteger, nullable=False),
)

alias_history = sa.Table(
    "alias_history",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model_id", sa.String(32), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=True),  # None: the alias was removed
    sa.Column("previous_version", sa.Integer, nullable=True),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("time", sa.BigInteger, nullable=False),
    sa.Column("request_id", sa.String(32), nullable=True),  # the approval that moved it
    sa.Index("ix_alias_history_model_alias_time", "model_id", "alias", "time"),
)

alias_policies = sa.Table(
    "alias_policies",
    metadata,
    # a policy is a project's: '*' means every model of that project
    sa.Column("project", sa.String(64), primary_key=True, server_default="default"),
    sa.Column("model_key", sa.String(256), primary_key=True),  # lower-cased name, or '*'
    sa.Column("alias", sa.String(64), primary_key=True),
    sa.Column("require_approval", sa.Boolean, nullable=False),
    sa.Column("approver_role", sa.String(64), nullable=False),
    sa.Column("min_approvals", sa.Integer, nullable=False),
    sa.Column("allow_self_approval", sa.Boolean, nullable=False),
    sa.Column("required_gates", sa.Text, nullable=False),  # JSON list of gate names
    sa.Column("updated_by", sa.String(256), nullable=False),
    sa.Column("updated_time", sa.BigInteger, nullable=False),
)

approval_requests = sa.Table(
    "approval_requests",
    metadata,
    sa.Column("request_id", sa.String(32), primary_key=True),
    sa.Column("model_id", sa.String(32), nullable=False),
    sa.Column("version_id", sa.String(32), nullable=False),
    sa.Column("alias", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # PENDING APPROVED REJECTED CANCELLED
    sa.Column("requested_by", sa.String(256), nullable=False),
    # the person behind the requester (a service account's owner): self-approval is by person
    sa.Column("requested_by_person", sa.String(256), nullable=True),
    sa.Column("requested_time", sa.BigInteger, nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("decided_time", sa.BigInteger, nullable=True),
    sa.Index("ix_approval_requests_model_status", "model_id", "status"),
)

approval_votes = sa.Table(
    "approval_votes",
    metadata,
    sa.Column(
        "request_id",
        sa.String(32),
        sa.ForeignKey("approval_requests.request_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("actor", sa.String(256), primary_key=True),
    sa.Column("person", sa.String(256), nullable=True),  # the human behind the actor
    sa.Column("decision", sa.String(16), nullable=False),  # APPROVE | REJECT
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("time", sa.BigInteger, nullable=False),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("webhook_id", sa.String(32), primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("events", sa.Text, nullable=False),  # JSON list of event types
    sa.Column("model_key", sa.String(256), nullable=True),  # None: every model
    sa.Column("project", sa.String(64), nullable=True),  # None: a global webhook (admins')
    sa.Column("secret", sa.String(256), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_time", sa.BigInteger, nullable=False),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(32), primary_key=True),
    sa.Column("webhook_id", sa.String(32), nullable=False),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the JSON body, as signed
    sa.Column("status", sa.String(16), nullable=False),  # PENDING DELIVERED FAILED
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_time", sa.BigInteger, nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(1000), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("delivered_time", sa.BigInteger, nullable=True),
    sa.Index("ix_webhook_deliveries_status_next", "status", "next_attempt_time"),
    sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "created_time"),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column("deployment_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("name_key", sa.String(256), nullable=False, unique=True),  # lower-cased name
    sa.Column("spec", sa.Text, nullable=False),  # JSON: routes, shadows, sticky_header
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("revision", sa.Integer, nullable=False),  # raised by every change
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(256), nullable=True),
    sa.Column("updated_time", sa.BigInteger, nullable=False),
    # the project it belongs to (auth.tables.projects; no foreign key: domains never import
    # auth, and the services check that a project exists)
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),
    sa.Index("ix_deployments_project", "project"),
)
