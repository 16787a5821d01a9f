"""Authentication and projects: principals, passwords, login failures, OIDC identities and
pending logins, API tokens, sessions, projects, role bindings, group mappings, signing keys
and the grants version; a ``project`` on every root object (all existing ones in
``default``), on alias policies (part of their key), webhooks and audit entries; the person
behind an approval request and a vote.

Revision ID: 0008_auth
Revises: 0007_artifact_seals
Create Date: 2026-12-04
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008_auth"
down_revision = "0007_artifact_seals"
branch_labels = None
depends_on = None

# the roots whose children take their project from them
ROOTS = (
    "experiments",
    "datasets",
    "registered_models",
    "deployments",
    "monitors",
    "prediction_files",
    "prediction_labels",
)


def _principal_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["principal_id"],
        ["principals.principal_id"],
        name=f"fk_{table}_principal_id_principals",
        ondelete="CASCADE",
    )


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project"], ["projects.project"], name=f"fk_{table}_project_projects", ondelete="CASCADE"
    )


def upgrade() -> None:
    _create_principals()
    _create_credentials()
    _create_projects()
    _backfill_default()
    for table in ROOTS:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("project", sa.String(64), nullable=False, server_default="default")
            )
            batch.create_index(f"ix_{table}_project", ["project"])
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("project", sa.String(64), nullable=True))
    with op.batch_alter_table("alias_policies") as batch:
        batch.add_column(
            sa.Column("project", sa.String(64), nullable=False, server_default="default")
        )
        batch.drop_constraint("pk_alias_policies", type_="primary")
        batch.create_primary_key("pk_alias_policies", ["project", "model_key", "alias"])
    with op.batch_alter_table("approval_requests") as batch:
        batch.add_column(sa.Column("requested_by_person", sa.String(256), nullable=True))
    with op.batch_alter_table("approval_votes") as batch:
        batch.add_column(sa.Column("person", sa.String(256), nullable=True))
    op.execute("UPDATE approval_requests SET requested_by_person = requested_by")
    op.execute("UPDATE approval_votes SET person = actor")
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("project", sa.String(64), nullable=True))
        batch.create_index("ix_audit_log_project_seq", ["project", "seq"])
    _create_blob_holders()


def _create_blob_holders() -> None:
    """Which projects hold each blob: every file of every dataset version and every
    prediction file made before, in ``default``."""
    op.create_table(
        "blob_holders",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("sha256", "project", name="pk_blob_holders"),
    )
    conn = op.get_bind()
    digests: set[str] = set()
    for (manifest,) in conn.execute(sa.text("SELECT manifest FROM dataset_versions")):
        digests.update(str(f["sha256"]) for f in json.loads(manifest or "[]"))
    digests.update(conn.execute(sa.text("SELECT sha256 FROM prediction_files")).scalars())
    rows = [{"sha256": d, "project": "default"} for d in sorted(digests)]
    if rows:
        conn.execute(
            sa.text("INSERT INTO blob_holders (sha256, project) VALUES (:sha256, :project)"),
            rows,
        )


def _create_principals() -> None:
    op.create_table(
        "principals",
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("name_key", sa.String(256), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("owner_id", sa.String(32), nullable=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disabled_time", sa.BigInteger, nullable=True),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("principal_id", name="pk_principals"),
        sa.UniqueConstraint("name_key", name="uq_principals_name_key"),
    )
    op.create_table(
        "passwords",
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("hash", sa.String(256), nullable=False),
        sa.Column("must_change", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("changed_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("principal_id", name="pk_passwords"),
        _principal_fk("passwords"),
    )
    op.create_table(
        "login_failures",
        sa.Column("name_key", sa.String(256), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("locked_until", sa.BigInteger, nullable=True),
        sa.Column("lock_count", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("name_key", name="pk_login_failures"),
    )
    op.create_table(
        "oidc_identities",
        sa.Column("issuer", sa.String(512), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("last_login_time", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("issuer", "subject", name="pk_oidc_identities"),
        _principal_fk("oidc_identities"),
    )


def _create_credentials() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(12), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("grants", sa.Text, nullable=False),
        sa.Column("expires_time", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("last_used_time", sa.BigInteger, nullable=True),
        sa.Column("revoked_time", sa.BigInteger, nullable=True),
        sa.Column("revoked_by", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name="pk_api_tokens"),
        _principal_fk("api_tokens"),
    )
    op.create_index("ix_api_tokens_principal_id", "api_tokens", ["principal_id"])
    op.create_table(
        "sessions",
        sa.Column("session_sha256", sa.String(64), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("csrf_sha256", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("groups", sa.Text, nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("last_seen_time", sa.BigInteger, nullable=False),
        sa.Column("expires_time", sa.BigInteger, nullable=False),
        sa.Column("revoked_time", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("session_sha256", name="pk_sessions"),
        _principal_fk("sessions"),
    )
    op.create_index("ix_sessions_principal_id", "sessions", ["principal_id"])
    op.create_table(
        "oidc_logins",
        sa.Column("state", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("browser_sha256", sa.String(64), nullable=False),
        sa.Column("return_to", sa.String(2000), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("state", name="pk_oidc_logins"),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("private_pem", sa.Text, nullable=False),
        sa.Column("public_jwk", sa.Text, nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("retired_time", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_keys"),
    )
    op.create_table(
        "grants_version",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_grants_version"),
    )


def _create_projects() -> None:
    op.create_table(
        "projects",
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("project", name="pk_projects"),
    )
    op.create_table(
        "role_bindings",
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("granted_by", sa.String(256), nullable=False),
        sa.Column("granted_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("project", "principal_id", "role", name="pk_role_bindings"),
        _project_fk("role_bindings"),
        _principal_fk("role_bindings"),
    )
    op.create_index("ix_role_bindings_principal_id", "role_bindings", ["principal_id"])
    op.create_table(
        "group_mappings",
        sa.Column("issuer", sa.String(512), nullable=False),
        sa.Column("group_name", sa.String(256), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint(
            "issuer", "group_name", "project", "role", name="pk_group_mappings"
        ),
        _project_fk("group_mappings"),
    )


def _backfill_default() -> None:
    """Everything made before projects existed is in ``default``."""
    op.execute(
        "INSERT INTO projects (project, description, created_by, created_time) VALUES "
        "('default', 'everything made before projects existed', 'migration', 0)"
    )
    op.execute("INSERT INTO grants_version (id, n) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("blob_holders")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("ix_audit_log_project_seq")
        batch.drop_column("project")
    with op.batch_alter_table("approval_votes") as batch:
        batch.drop_column("person")
    with op.batch_alter_table("approval_requests") as batch:
        batch.drop_column("requested_by_person")
    with op.batch_alter_table("alias_policies") as batch:
        batch.drop_constraint("pk_alias_policies", type_="primary")
        batch.create_primary_key("pk_alias_policies", ["model_key", "alias"])
        batch.drop_column("project")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("project")
    for table in ROOTS:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_project")
            batch.drop_column("project")
    for table in (
        "group_mappings",
        "role_bindings",
        "projects",
        "grants_version",
        "signing_keys",
        "oidc_logins",
        "sessions",
        "api_tokens",
        "oidc_identities",
        "login_failures",
        "passwords",
        "principals",
    ):
        op.drop_table(table)
