"""Auth in SQL: the admin's store (principals, projects, tokens) and what only the server
does with it (checking passwords and tokens, browser sessions)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from modelyard.auth.entities import (
    NewToken,
    NewUser,
    Principal,
    PrincipalKind,
    Project,
    RoleBinding,
    TokenInfo,
    TokenScope,
)
from modelyard.auth.passwords import PasswordCost
from modelyard.auth.sql_logins import SqlLogins
from modelyard.auth.sql_principals import SqlPrincipals
from modelyard.auth.sql_projects import SqlProjects
from modelyard.auth.sql_serving_tokens import SqlServingTokens
from modelyard.auth.sql_sessions import SqlSessions
from modelyard.auth.sql_tokens import SqlTokens
from modelyard.auth.store import AuthStore
from modelyard.auth.tables import principals
from modelyard.config import Settings
from modelyard.store.database import Database
from modelyard.store.migrate import upgrade


def password_cost(settings: Settings) -> PasswordCost:
    return PasswordCost(
        memory_kib=settings.argon2_memory_kib,
        time_cost=settings.argon2_time,
        parallelism=settings.argon2_parallelism,
    )


class SqlAuthStore(AuthStore):
    def __init__(self, db: Database, settings: Settings) -> None:
        upgrade(db)
        self.db = db
        cost = password_cost(settings)
        self.principals = SqlPrincipals(db, cost)
        self.logins = SqlLogins(db, cost)
        self.projects = SqlProjects(db)
        self.tokens = SqlTokens(db, sso_max_s=settings.sso_token_max_s)
        self.serving_tokens = SqlServingTokens(db)
        self.sessions = SqlSessions(
            db, idle_s=settings.session_idle_s, max_s=settings.session_max_s
        )

    def create_user(
        self,
        name: str,
        *,
        admin: bool = False,
        password: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
    ) -> NewUser:
        return self.principals.create_user(
            name, admin=admin, password=password, email=email, display_name=display_name
        )

    def create_service_account(self, name: str, *, owner: str | None = None) -> Principal:
        return self.principals.create_service_account(name, owner=owner)

    def get_principal(self, name: str) -> Principal:
        return self.principals.get(name)

    def list_principals(self, kind: PrincipalKind | None = None) -> list[Principal]:
        return self.principals.list_all(kind)

    def set_disabled(self, name: str, disabled: bool) -> Principal:
        return self.principals.set_disabled(name, disabled)

    def reset_password(self, name: str, password: str | None = None) -> NewUser:
        return self.principals.reset_password(name, password)

    def unlock(self, name: str) -> None:
        self.principals.unlock(name)

    def create_project(self, name: str, description: str | None = None) -> Project:
        return self.projects.create(name, description)

    def list_projects(self) -> list[Project]:
        return self.projects.list_visible()

    def grant(self, project: str, principal: str, role: str) -> RoleBinding:
        return self.projects.grant(project, principal, role)

    def revoke(self, project: str, principal: str, role: str) -> None:
        self.projects.revoke(project, principal, role)

    def members(self, project: str) -> list[RoleBinding]:
        return self.projects.members(project)

    def create_token(
        self,
        name: str,
        *,
        expires_s: int,
        principal: str | None = None,
        scopes: Sequence[TokenScope] | None = None,
    ) -> NewToken:
        return self.tokens.create(name, expires_s=expires_s, principal=principal, scopes=scopes)

    def list_tokens(self, principal: str | None = None) -> list[TokenInfo]:
        return self.tokens.list_for(principal)

    def revoke_token(self, token_id: str) -> None:
        self.tokens.revoke(token_id)

    def has_admin(self) -> bool:
        """Whether some enabled global admin exists (a server with auth needs one)."""
        with self.db.read() as conn:
            found = conn.execute(
                sa.select(principals.c.principal_id)
                .where(principals.c.is_admin.is_(True), principals.c.disabled_time.is_(None))
                .limit(1)
            ).first()
        return found is not None
