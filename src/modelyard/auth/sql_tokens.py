"""API tokens in SQL: made (shown once), listed, revoked, and checked on every request.

Rules for making one. A token names its principal (by default the caller) and either no
scopes (it acts with whatever the principal holds at the time) or some ``project:role``
pairs, each held by the principal. Only the principal itself, the owner of a service account,
a project admin of every scoped project (for a service account) or a global admin may make
one; and a caller with grants cannot make a token wider than what it holds itself, so a
scoped token never mints a wider one. Every token expires (a minute to a year).

Single sign-on. A user logged in through the provider holds the roles its groups are mapped
to beside its own. A token that user makes for itself carries those groups as the provider
said them at that login (the mappings are read at every use, so an unmapped group stops
counting at once) and lives at most ``sso_token_max_s``; a token made that way cannot make
another for its user (that would stretch the provider's word without asking it again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.actors import actor_of
from modelyard.auth.entities import NewToken, TokenInfo, TokenScope
from modelyard.auth.names import check_project_name, check_role, parse_lifetime
from modelyard.auth.sql_projects import no_project, roles_of
from modelyard.auth.sql_rows import PRINCIPAL_COLUMNS, PRINCIPAL_FROM, bump_grants, principal_row
from modelyard.auth.sql_sessions import GroupRoles, with_group_roles
from modelyard.auth.tables import api_tokens, principals, projects
from modelyard.auth.tokens import matches, new_token, parse_token
from modelyard.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from modelyard.identity import Actor, current_actor
from modelyard.platform.access import ROLE_ACTIONS, Grants, allowed
from modelyard.platform.ids import now_ms
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database

INVALID = "the API token is not valid"
LAST_USED_EVERY_MS = 60_000
MAX_SCOPES = 100


def _scopes(text: str) -> tuple[TokenScope, ...] | None:
    if text == "inherit":
        return None
    return tuple(TokenScope(s["project"], s["role"]) for s in orjson.loads(text))


def _groups(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(orjson.loads(text))


def _info(row: Any) -> TokenInfo:
    return TokenInfo(
        token_id=row["token_id"],
        name=row["token_name"],
        principal=row["name"],
        scopes=_scopes(row["grants"]),
        expires_time=int(row["expires_time"]),
        created_by=row["created_by"],
        created_time=int(row["created_time"]),
        last_used_time=row["last_used_time"],
        revoked_time=row["revoked_time"],
        groups=_groups(row["groups"]),
    )


_TOKEN_COLUMNS = [
    api_tokens.c.token_id,
    api_tokens.c.name.label("token_name"),
    api_tokens.c.grants,
    api_tokens.c.groups,
    api_tokens.c.secret_sha256,
    api_tokens.c.expires_time,
    api_tokens.c.created_by.label("created_by"),
    api_tokens.c.created_time.label("created_time"),
    api_tokens.c.last_used_time,
    api_tokens.c.revoked_time,
]


def _check_scopes(scopes: Sequence[Any] | None) -> tuple[TokenScope, ...] | None:
    if scopes is None:
        return None
    if not isinstance(scopes, (list, tuple)) or not scopes or len(scopes) > MAX_SCOPES:
        raise InvalidArgument(
            f"scopes must be a list of 1 to {MAX_SCOPES} project:role pairs, or absent for "
            "whatever the principal holds",
            field="scopes",
        )
    found = []
    for scope in scopes:
        if isinstance(scope, dict):
            scope = TokenScope(scope.get("project"), scope.get("role"))  # type: ignore[arg-type]
        if not isinstance(scope, TokenScope):
            raise InvalidArgument("each scope must be {project, role}", field="scopes")
        found.append(
            TokenScope(
                check_project_name(scope.project, "scopes.project"),
                check_role(scope.role, "scopes.role"),
            )
        )
    return tuple(sorted(set(found), key=lambda s: (s.project, s.role)))


_NOT_YOURS = (
    "{doing} a token of {name!r} is for that principal, the owner of a service account, or a "
    "global admin"
)


class SqlTokens:
    def __init__(self, db: Database, *, sso_max_s: float = 86400.0) -> None:
        self.db = db
        self.sso_max_s = max(60, int(sso_max_s))  # a token lives a minute at least
        # the project roles a provider's groups are mapped to (set with single sign-on)
        self.group_roles: GroupRoles | None = None

    def _held(
        self, conn: Connection, principal_id: str, groups: Sequence[str] | None
    ) -> dict[str, frozenset[str]]:
        """A principal's own roles and, for a single sign-on token, its groups' roles."""
        held = roles_of(conn, principal_id)
        if groups is None or self.group_roles is None:
            return held
        return with_group_roles(held, self.group_roles(conn, list(groups)))

    def _principal(self, conn: Connection, actor: Actor, principal: str | None, doing: str) -> Any:
        """The principal whose tokens ``actor`` is ``doing``, once it may; one it may not
        manage and one that does not exist answer alike (names are not for guessing)."""
        name = principal if principal is not None else actor.name
        try:
            row = principal_row(conn, name)
        except NotFound:
            if actor.grants is None or allowed(actor, "user.read", None):
                raise
            raise PermissionDenied(
                _NOT_YOURS.format(doing=doing, name=name), field="principal"
            ) from None
        self._may_manage(conn, actor, row, doing)
        return row

    def _may_manage(self, conn: Connection, actor: Actor, row: Any, doing: str) -> None:
        """Whether ``actor`` may make, list or revoke tokens of the principal ``row``."""
        if actor.grants is None or actor.id == row["principal_id"]:
            return
        if allowed(actor, "user.write", None):
            return
        if row["kind"] == "service" and row["owner_id"] == actor.id:
            return
        raise PermissionDenied(_NOT_YOURS.format(doing=doing, name=row["name"]), field="principal")

    def _sso_terms(
        self, actor: Actor, row: Any, lifetime: int
    ) -> tuple[tuple[str, ...] | None, int]:
        """``(groups, lifetime)`` of a token ``actor`` makes for ``row``: a single sign-on
        user's own carries its groups, for a bounded time, and is not made from another."""
        if actor.id != row["principal_id"]:
            return None, lifetime
        if actor.credential == "sso-token":
            raise PermissionDenied(
                "a token a single sign-on login made cannot make another for its user: "
                "log in again (modelyard login), or make the token for a service account",
                field="principal",
            )
        if actor.credential == "sso":
            return actor.groups, min(lifetime, self.sso_max_s)
        return actor.groups, lifetime

    def create(
        self,
        name: str,
        *,
        expires_s: Any,
        principal: str | None = None,
        scopes: Sequence[Any] | None = None,
    ) -> NewToken:
        if not isinstance(name, str) or not 1 <= len(name) <= 64 or not name.isprintable():
            raise InvalidArgument("name must be 1 to 64 printable characters", field="name")
        lifetime = parse_lifetime(expires_s, "expires")
        wanted = _check_scopes(scopes)
        actor = current_actor()
        if principal is None and actor.id is None:
            raise InvalidArgument(
                "name the principal the token is for (the caller is not a user of this store)",
                field="principal",
            )
        token, token_id, digest = new_token()
        t = now_ms()

        def write(conn: Connection) -> TokenInfo:
            # a service account's tokens are its owner's to make (or a global admin's): a
            # project admin who could grant it roles must not also act as it
            row = self._principal(conn, actor, principal, "making")
            if row["disabled_time"] is not None:
                raise InvalidArgument(f"{row['name']!r} is disabled", field="principal")
            groups, life = self._sso_terms(actor, row, lifetime)
            held = self._held(conn, row["principal_id"], groups)
            _check_held(conn, row, held, wanted)
            made = actor_of(row, held, wanted)
            _no_wider(actor, made)
            conn.execute(
                api_tokens.insert().values(
                    token_id=token_id,
                    principal_id=row["principal_id"],
                    name=name,
                    secret_sha256=digest,
                    grants="inherit"
                    if wanted is None
                    else orjson.dumps([s.to_dict() for s in wanted]).decode(),
                    groups=None if groups is None else orjson.dumps(list(groups)).decode(),
                    expires_time=t + life * 1000,
                    created_by=actor.name,
                    created_time=t,
                )
            )
            bump_grants(conn)
            after = {
                "principal": row["name"],
                "name": name,
                "scopes": None if wanted is None else [s.to_dict() for s in wanted],
                "expires_time": t + life * 1000,
            }
            if groups is not None:
                after["groups"] = list(groups)
            audit.record(
                conn, [AuditEvent("token.create", "token", token_id, after=after)], time_ms=t
            )
            return TokenInfo(
                token_id,
                name,
                row["name"],
                wanted,
                t + life * 1000,
                actor.name,
                t,
                groups=groups,
            )

        info: TokenInfo = self.db.run_write(write)
        return NewToken(info, token)

    def list_for(self, principal: str | None = None) -> list[TokenInfo]:
        actor = current_actor()
        with self.db.read() as conn:
            query = sa.select(*_TOKEN_COLUMNS, principals.c.name).join(
                principals, principals.c.principal_id == api_tokens.c.principal_id
            )
            if principal is None and actor.id is None:
                pass  # an operator at the database: every token
            else:
                row = self._principal(conn, actor, principal, "listing")
                query = query.where(api_tokens.c.principal_id == row["principal_id"])
            rows = conn.execute(query.order_by(api_tokens.c.created_time)).mappings().all()
        return [_info(r) for r in rows]

    def revoke(self, token_id: str) -> None:
        actor = current_actor()
        shown = token_id if len(token_id) <= 16 else f"{token_id[:8]}..."  # never a secret
        missing = NotFound(f"no API token with id {shown!r}", field="token_id")

        def write(conn: Connection) -> None:
            found = (
                conn.execute(
                    sa.select(api_tokens.c.principal_id, api_tokens.c.revoked_time).where(
                        api_tokens.c.token_id == token_id
                    )
                )
                .mappings()
                .first()
            )
            if found is None:
                raise missing
            row = (
                conn.execute(
                    sa.select(*PRINCIPAL_COLUMNS)
                    .select_from(PRINCIPAL_FROM)
                    .where(principals.c.principal_id == found["principal_id"])
                )
                .mappings()
                .one()
            )
            try:
                self._may_manage(conn, actor, row, "revoking")
            except PermissionDenied:
                raise missing from None  # another's token id is not confirmed
            if found["revoked_time"] is not None:
                return
            t = now_ms()
            conn.execute(
                api_tokens.update()
                .where(api_tokens.c.token_id == token_id)
                .values(revoked_time=t, revoked_by=actor.name)
            )
            bump_grants(conn)
            audit.record(
                conn,
                [AuditEvent("token.revoke", "token", token_id, after={"principal": row["name"]})],
                time_ms=t,
            )

        self.db.run_write(write)

    def authenticate(self, token: str) -> tuple[Actor, int]:
        """The actor a token acts as, and when the token expires (ms); ``Unauthenticated``
        for a malformed, unknown, wrong, revoked or expired token or a disabled principal."""
        token_id, secret = parse_token(token)
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(*_TOKEN_COLUMNS, *PRINCIPAL_COLUMNS)
                    .select_from(
                        PRINCIPAL_FROM.join(
                            api_tokens, api_tokens.c.principal_id == principals.c.principal_id
                        )
                    )
                    .where(api_tokens.c.token_id == token_id)
                )
                .mappings()
                .first()
            )
            if row is None or not matches(secret, row["secret_sha256"]):
                raise Unauthenticated(INVALID)
            now = now_ms()
            if row["revoked_time"] is not None:
                raise Unauthenticated(f"{INVALID}: it was revoked")
            if int(row["expires_time"]) <= now:
                again = "log in again" if row["groups"] is not None else "make a new one"
                raise Unauthenticated(f"{INVALID}: it expired; {again}")
            if row["disabled_time"] is not None:
                raise Unauthenticated(f"{INVALID}: its principal is disabled")
            if row["owner_disabled_time"] is not None:
                raise Unauthenticated(f"{INVALID}: the owner of its service account is disabled")
            groups = _groups(row["groups"])
            held = self._held(conn, row["principal_id"], groups)
        if row["last_used_time"] is None or now - int(row["last_used_time"]) > LAST_USED_EVERY_MS:
            self.db.run_write(
                lambda c: c.execute(
                    api_tokens.update()
                    .where(api_tokens.c.token_id == token_id)
                    .values(last_used_time=now)
                )
            )
        actor = actor_of(row, held, _scopes(row["grants"]))
        if groups is not None:
            actor = replace(actor, credential="sso-token", groups=groups)
        return actor, int(row["expires_time"])


def _check_held(
    conn: Connection,
    row: Any,
    held: dict[str, frozenset[str]],
    wanted: tuple[TokenScope, ...] | None,
) -> None:
    for scope in wanted or ():
        exists = conn.execute(
            sa.select(projects.c.project).where(projects.c.project == scope.project)
        ).scalar()
        if exists is None:
            raise no_project(scope.project)
        holds = Grants.of({scope.project: held.get(scope.project, frozenset())})
        if not row["is_admin"] and not ROLE_ACTIONS[scope.role] <= holds.actions(scope.project):
            raise InvalidArgument(
                f"{row['name']!r} does not hold what {scope.role!r} holds in project "
                f"{scope.project!r}; "
                "a token holds only what its principal holds",
                field="scopes",
            )


def _no_wider(actor: Actor, made: Actor) -> None:
    """A caller bound by grants cannot make a token that could do more than it can."""
    mine, theirs = actor.grants, made.grants
    if mine is None or theirs is None:
        return
    wider = not theirs.everywhere <= mine.everywhere or any(
        not theirs.actions(p) <= mine.actions(p) for p in theirs.projects()
    )
    if wider:
        raise PermissionDenied(
            "a token cannot hold more than its maker holds now (a scoped token makes only "
            "tokens within its scopes)",
            field="scopes",
        )
