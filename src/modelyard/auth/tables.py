"""SQL tables of authentication and authorization: principals (users and service accounts),
their passwords, API tokens, browser sessions, OIDC identities and pending logins, projects,
role bindings, group mappings, the platform's signing keys and the grants version.

No secret is stored: passwords as argon2id strings, token secrets, session ids and CSRF tokens
as SHA-256. A project is named by its key (lower case, immutable), which every domain's root
table holds in its ``project`` column; domains never import these tables, so that column has no
foreign key and the services check that a project exists. Names of principals never change,
so the actor strings already written in audit entries, runs and versions keep their meaning.
"""

from __future__ import annotations

import sqlalchemy as sa

from modelyard.store.metadata import metadata

PROJECT_CHARS = 64

principals = sa.Table(
    "principals",
    metadata,
    sa.Column("principal_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # user | service
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("name_key", sa.String(256), nullable=False, unique=True),  # NFC, lower case
    sa.Column("display_name", sa.String(256), nullable=True),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("owner_id", sa.String(32), nullable=True),  # a service account's user
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("disabled_time", sa.BigInteger, nullable=True),
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
)

passwords = sa.Table(
    "passwords",
    metadata,
    sa.Column(
        "principal_id",
        sa.String(32),
        sa.ForeignKey("principals.principal_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("hash", sa.String(256), nullable=False),  # argon2id, parameters included
    sa.Column("must_change", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("changed_time", sa.BigInteger, nullable=False),
)

# keyed by the name as submitted, whether or not a principal has it: no enumeration oracle
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("name_key", sa.String(256), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("locked_until", sa.BigInteger, nullable=True),
    sa.Column("lock_count", sa.Integer, nullable=False, server_default="0"),
)

oidc_identities = sa.Table(
    "oidc_identities",
    metadata,
    sa.Column("issuer", sa.String(512), primary_key=True),
    sa.Column("subject", sa.String(256), primary_key=True),
    sa.Column(
        "principal_id",
        sa.String(32),
        sa.ForeignKey("principals.principal_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("last_login_time", sa.BigInteger, nullable=True),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(12), primary_key=True),
    sa.Column(
        "principal_id",
        sa.String(32),
        sa.ForeignKey("principals.principal_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("grants", sa.Text, nullable=False),  # JSON [{"project", "role"}] or "inherit"
    # JSON: the provider's groups, on a token a single sign-on login made (their roles count)
    sa.Column("groups", sa.Text, nullable=True),
    sa.Column("expires_time", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.String(256), nullable=False),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("last_used_time", sa.BigInteger, nullable=True),
    sa.Column("revoked_time", sa.BigInteger, nullable=True),
    sa.Column("revoked_by", sa.String(256), nullable=True),
    sa.Index("ix_api_tokens_principal_id", "principal_id"),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_sha256", sa.String(64), primary_key=True),
    sa.Column(
        "principal_id",
        sa.String(32),
        sa.ForeignKey("principals.principal_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("csrf_sha256", sa.String(64), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),  # password | oidc
    sa.Column("groups", sa.Text, nullable=True),  # JSON: the provider's groups at login
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("last_seen_time", sa.BigInteger, nullable=False),
    sa.Column("expires_time", sa.BigInteger, nullable=False),
    sa.Column("revoked_time", sa.BigInteger, nullable=True),
    sa.Index("ix_sessions_principal_id", "principal_id"),
)

# one row per browser login under way; used once, then deleted
oidc_logins = sa.Table(
    "oidc_logins",
    metadata,
    sa.Column("state", sa.String(128), primary_key=True),
    sa.Column("nonce", sa.String(128), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    sa.Column("browser_sha256", sa.String(64), nullable=False),
    sa.Column("return_to", sa.String(2000), nullable=False),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    # a command-line login: where it listens on loopback, and its PKCE challenge
    sa.Column("cli_port", sa.Integer, nullable=True),
    sa.Column("cli_challenge", sa.String(64), nullable=True),
)

# what a command-line single sign-on hands back through the browser: used once, in minutes,
# with the verifier of the challenge the command line sent
login_codes = sa.Table(
    "login_codes",
    metadata,
    sa.Column("code_sha256", sa.String(64), primary_key=True),
    sa.Column(
        "principal_id",
        sa.String(32),
        sa.ForeignKey("principals.principal_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("groups", sa.Text, nullable=True),
    sa.Column("challenge", sa.String(64), nullable=False),
    sa.Column("created_time", sa.BigInteger, nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("project", sa.String(PROJECT_CHARS), primary_key=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
)

role_bindings = sa.Table(
    "role_bindings",
    metadata,
    sa.Column(
        "project",
        sa.String(PROJECT_CHARS),
        sa.ForeignKey("projects.project", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "principal_id",
        sa.String(32),
        sa.ForeignKey("principals.principal_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.Column("granted_by", sa.String(256), nullable=False),
    sa.Column("granted_time", sa.BigInteger, nullable=False),
    sa.Index("ix_role_bindings_principal_id", "principal_id"),
)

# evaluated at every authentication from the provider's claims, never copied into bindings
group_mappings = sa.Table(
    "group_mappings",
    metadata,
    sa.Column("issuer", sa.String(512), primary_key=True),
    sa.Column("group_name", sa.String(256), primary_key=True),
    sa.Column(
        "project",
        sa.String(PROJECT_CHARS),
        sa.ForeignKey("projects.project", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("role", sa.String(64), primary_key=True),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("alg", sa.String(16), nullable=False),  # ES256
    sa.Column("private_pem", sa.Text, nullable=False),
    sa.Column("public_jwk", sa.Text, nullable=False),  # JSON
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("retired_time", sa.BigInteger, nullable=True),
)

# the serving tokens the platform signed, kept until they expire so that one can be revoked
serving_tokens = sa.Table(
    "serving_tokens",
    metadata,
    sa.Column("jti", sa.String(32), primary_key=True),
    sa.Column("principal", sa.String(256), nullable=False, index=True),
    sa.Column("endpoint", sa.String(256), nullable=False),
    sa.Column("issued_time", sa.BigInteger, nullable=False),
    sa.Column("expires_time", sa.BigInteger, nullable=False, index=True),
    sa.Column("revoked_time", sa.BigInteger, nullable=True),
    sa.Column("revoked_by", sa.String(256), nullable=True),
)

# one row; every grant, revoke and token change moves it, and caches re-read when it moved
grants_version = sa.Table(
    "grants_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("n", sa.BigInteger, nullable=False),
)
