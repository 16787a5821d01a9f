"""Single sign-on for programs and serving-token revocation: the provider's groups on an API
token made by a single sign-on login, the command-line login's loopback port and PKCE
challenge on a login under way, the one-use codes that login hands the command line, and
the serving tokens the platform signed (so that one can be revoked).

Revision ID: 0009_sso_tokens
Revises: 0008_auth
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_sso_tokens"
down_revision = "0008_auth"
branch_labels = None
depends_on = None


def _principal_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["principal_id"],
        ["principals.principal_id"],
        name=f"fk_{table}_principal_id_principals",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("groups", sa.Text, nullable=True))
    with op.batch_alter_table("oidc_logins") as batch:
        batch.add_column(sa.Column("cli_port", sa.Integer, nullable=True))
        batch.add_column(sa.Column("cli_challenge", sa.String(64), nullable=True))
    op.create_table(
        "login_codes",
        sa.Column("code_sha256", sa.String(64), nullable=False),
        sa.Column("principal_id", sa.String(32), nullable=False),
        sa.Column("groups", sa.Text, nullable=True),
        sa.Column("challenge", sa.String(64), nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("code_sha256", name="pk_login_codes"),
        _principal_fk("login_codes"),
    )
    op.create_table(
        "serving_tokens",
        sa.Column("jti", sa.String(32), nullable=False),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.Column("endpoint", sa.String(256), nullable=False),
        sa.Column("issued_time", sa.BigInteger, nullable=False),
        sa.Column("expires_time", sa.BigInteger, nullable=False),
        sa.Column("revoked_time", sa.BigInteger, nullable=True),
        sa.Column("revoked_by", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("jti", name="pk_serving_tokens"),
        sa.Index("ix_serving_tokens_principal", "principal"),
        sa.Index("ix_serving_tokens_expires_time", "expires_time"),
    )


def downgrade() -> None:
    op.drop_table("serving_tokens")
    op.drop_table("login_codes")
    with op.batch_alter_table("oidc_logins") as batch:
        batch.drop_column("cli_challenge")
        batch.drop_column("cli_port")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("groups")
