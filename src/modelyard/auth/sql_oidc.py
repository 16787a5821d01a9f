"""What single sign-on keeps in SQL: logins under way (state, nonce, PKCE verifier, the
browser they belong to; one use, ten minutes), the codes a command-line login takes back
through the browser (one use, two minutes, with the verifier of its PKCE challenge), the
principal behind each provider identity
(``iss``, ``sub``; made at the first login when the server allows it), and the mapping of a
provider's groups to project roles (a global admin's)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.names import RESERVED, check_project_name, check_role, name_key
from modelyard.auth.sql_rows import PRINCIPAL_COLUMNS, PRINCIPAL_FROM, bump_grants
from modelyard.auth.tables import (
    group_mappings,
    login_codes,
    oidc_identities,
    oidc_logins,
    principals,
)
from modelyard.errors import InvalidArgument, NotFound, Unauthenticated
from modelyard.platform.access import require
from modelyard.platform.ids import now_ms
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database

LOGIN_TTL_MS = 10 * 60 * 1000
CODE_TTL_MS = 2 * 60 * 1000
CODE_REFUSED = "this login code is unknown, used, too old, or not for this command line"
MAX_GROUPS = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def _principal_name(claims: dict[str, Any], service: bool) -> str:
    """A principal name from what the provider says (sanitised; the caller makes it unique)."""
    said = claims.get("preferred_username") or claims.get("email") or claims.get("sub") or ""
    base = _UNSAFE.sub("-", str(said)).strip("-._@+")[:48] or "user"
    if not base[0].isalnum():
        base = "u" + base
    return f"sso-{base}" if service or name_key(base) in RESERVED else base


def groups_of(claims: dict[str, Any], claim: str) -> list[str]:
    found = claims.get(claim)
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list):
        return []
    return sorted({g for g in found if isinstance(g, str) and 0 < len(g) <= 256})[:MAX_GROUPS]


class SqlOidc:
    def __init__(self, db: Database, issuer: str, *, auto_create: bool) -> None:
        self.db = db
        self.issuer = issuer
        self.auto_create = auto_create

    # --- logins under way ----------------------------------------------------------------
    def begin(
        self,
        state: str,
        nonce: str,
        verifier: str,
        browser: str,
        return_to: str,
        cli: tuple[int, str] | None = None,
    ) -> None:
        """Keep a login under way; ``cli``: the loopback port and PKCE challenge of a
        command line waiting for it."""
        now = now_ms()

        def write(conn: Connection) -> None:
            conn.execute(
                oidc_logins.delete().where(oidc_logins.c.created_time < now - LOGIN_TTL_MS)
            )
            conn.execute(
                oidc_logins.insert().values(
                    state=state,
                    nonce=nonce,
                    code_verifier=verifier,
                    browser_sha256=browser,
                    return_to=return_to,
                    created_time=now,
                    cli_port=None if cli is None else cli[0],
                    cli_challenge=None if cli is None else cli[1],
                )
            )

        self.db.run_write(write)

    def take(self, state: str, browser_sha256: str) -> Any:
        """The login ``state`` names, removed (a state is used once); None when unknown,
        older than ten minutes, or started in another browser (which leaves it in place:
        who learned a state cannot cancel the login)."""

        def write(conn: Connection) -> Any:
            row = (
                conn.execute(sa.select(oidc_logins).where(oidc_logins.c.state == state))
                .mappings()
                .first()
            )
            if row is None or not hmac.compare_digest(
                str(row["browser_sha256"]).encode(), browser_sha256.encode()
            ):
                return None
            conn.execute(oidc_logins.delete().where(oidc_logins.c.state == state))
            return row

        row = self.db.run_write(write)
        if row is None or int(row["created_time"]) < now_ms() - LOGIN_TTL_MS:
            return None
        return row

    # --- the command line's code --------------------------------------------------------
    def hand_code(self, principal_id: str, groups: list[str], challenge: str) -> str:
        """A one-use code for the command line that sent ``challenge`` (only its SHA-256
        is kept), standing for this login."""
        code = secrets.token_urlsafe(32)
        now = now_ms()

        def write(conn: Connection) -> None:
            conn.execute(login_codes.delete().where(login_codes.c.created_time < now - CODE_TTL_MS))
            conn.execute(
                login_codes.insert().values(
                    code_sha256=hashlib.sha256(code.encode()).hexdigest(),
                    principal_id=principal_id,
                    groups=orjson.dumps(groups).decode(),
                    challenge=challenge,
                    created_time=now,
                )
            )

        self.db.run_write(write)
        return code

    def take_code(self, code: object, verifier: object) -> tuple[Any, list[str]]:
        """``(principal row, groups)`` of the login ``code`` stands for, once: the code is
        gone after any attempt, and counts only within two minutes with the verifier whose
        SHA-256 is the challenge the command line sent."""
        if not isinstance(code, str) or not 0 < len(code) <= 128:
            raise InvalidArgument("code must be the code the login handed back", field="code")
        if not isinstance(verifier, str) or not 43 <= len(verifier) <= 128:
            raise InvalidArgument(
                "code_verifier must be the 43 to 128 character PKCE verifier", field="code_verifier"
            )
        digest = hashlib.sha256(code.encode()).hexdigest()

        def write(conn: Connection) -> Any:
            row = (
                conn.execute(sa.select(login_codes).where(login_codes.c.code_sha256 == digest))
                .mappings()
                .first()
            )
            if row is not None:
                conn.execute(login_codes.delete().where(login_codes.c.code_sha256 == digest))
            return row

        row = self.db.run_write(write)
        if (
            row is None
            or int(row["created_time"]) < now_ms() - CODE_TTL_MS
            or not hmac.compare_digest(pkce_challenge(verifier), str(row["challenge"]))
        ):
            raise Unauthenticated(CODE_REFUSED)
        with self.db.read() as conn:
            principal = (
                conn.execute(
                    sa.select(*PRINCIPAL_COLUMNS)
                    .select_from(PRINCIPAL_FROM)
                    .where(principals.c.principal_id == row["principal_id"])
                )
                .mappings()
                .first()
            )
        if principal is None or principal["disabled_time"] is not None:
            raise Unauthenticated(CODE_REFUSED)
        event = AuditEvent(
            "auth.login", "principal", principal["name"], after={"method": "oidc-cli"}
        )
        self.db.run_write(lambda conn: audit.record(conn, [event], time_ms=now_ms()))
        return principal, list(orjson.loads(row["groups"] or "[]"))

    # --- identities ------------------------------------------------------------------------
    def principal(self, claims: dict[str, Any], *, service: bool = False) -> Any:
        """The principal row (PRINCIPAL_COLUMNS) of the provider identity in ``claims``;
        made at its first login when the server allows it."""
        # a client (client credentials) and a user may share a ``sub``: never one identity
        subject = ("client:" if service else "") + str(claims["sub"])[:240]
        email = claims.get("email") if isinstance(claims.get("email"), str) else None

        def read(conn: Connection) -> Any:
            return (
                conn.execute(
                    sa.select(*PRINCIPAL_COLUMNS)
                    .select_from(
                        PRINCIPAL_FROM.join(
                            oidc_identities,
                            oidc_identities.c.principal_id == principals.c.principal_id,
                        )
                    )
                    .where(
                        oidc_identities.c.issuer == self.issuer,
                        oidc_identities.c.subject == subject,
                    )
                )
                .mappings()
                .first()
            )

        with self.db.read() as conn:
            row = read(conn)
        if row is None:
            if not self.auto_create:
                raise Unauthenticated(
                    "this single sign-on identity has no modelyard user; ask an admin to make "
                    "one (or to allow MODELYARD_OIDC_AUTO_CREATE)"
                )
            row = self.db.run_write(self._make, claims, subject, email, service, read)
        if row["disabled_time"] is not None:
            raise Unauthenticated("this user is disabled")
        return row

    def _make(
        self,
        conn: Connection,
        claims: dict[str, Any],
        subject: str,
        email: str | None,
        service: bool,
        read: Any,
    ) -> Any:
        again = read(conn)
        if again is not None:  # another login made it meanwhile
            return again
        base = _principal_name(claims, service)
        name = base
        for n in range(2, 1000):
            taken = conn.execute(
                sa.select(principals.c.principal_id).where(principals.c.name_key == name_key(name))
            ).first()
            if taken is None:
                break
            name = f"{base[:56]}-{n}"
        principal_id = uuid.uuid4().hex
        t = now_ms()
        conn.execute(
            principals.insert().values(
                principal_id=principal_id,
                kind="service" if service else "user",
                name=name,
                name_key=name_key(name),
                email=email,
                display_name=str(claims.get("name"))[:256] if claims.get("name") else None,
                is_admin=False,
                created_by="sso",
                created_time=t,
            )
        )
        conn.execute(
            oidc_identities.insert().values(
                issuer=self.issuer, subject=subject, principal_id=principal_id, email=email
            )
        )
        bump_grants(conn)
        after = {"kind": "service" if service else "user", "issuer": self.issuer, "sub": subject}
        audit.record(conn, [AuditEvent("user.create", "principal", name, after=after)], time_ms=t)
        return read(conn)

    # --- groups ------------------------------------------------------------------------------
    def mapped_roles(self, conn: Connection, groups: Iterable[str]) -> dict[str, set[str]]:
        """The project roles ``groups`` of this provider are mapped to."""
        wanted = sorted(set(groups))
        if not wanted:
            return {}
        rows = conn.execute(
            sa.select(group_mappings.c.project, group_mappings.c.role).where(
                group_mappings.c.issuer == self.issuer, group_mappings.c.group_name.in_(wanted)
            )
        ).all()
        found: dict[str, set[str]] = {}
        for project, role in rows:
            found.setdefault(project, set()).add(role)
        return found

    def map_group(self, group: str, project: str, role: str) -> None:
        group = _check_group(group)
        check_project_name(project)
        check_role(role)
        require("group_mapping.write", None, "")

        def write(conn: Connection) -> None:
            known = conn.execute(
                sa.text("SELECT 1 FROM projects WHERE project = :p"), {"p": project}
            ).first()
            if known is None:
                raise NotFound(f"project {project!r} does not exist", field="project")
            values = {"issuer": self.issuer, "group_name": group, "project": project, "role": role}
            exists = conn.execute(
                sa.select(group_mappings.c.role).where(
                    *(group_mappings.c[k] == v for k, v in values.items())
                )
            ).first()
            if exists is None:
                conn.execute(group_mappings.insert().values(**values))
                bump_grants(conn)
                event = AuditEvent("group.map", "group", group, after=values, project=project)
                audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    def unmap_group(self, group: str, project: str, role: str) -> None:
        require("group_mapping.write", None, "")

        def write(conn: Connection) -> None:
            gone = conn.execute(
                group_mappings.delete().where(
                    group_mappings.c.issuer == self.issuer,
                    group_mappings.c.group_name == group,
                    group_mappings.c.project == project,
                    group_mappings.c.role == role,
                )
            ).rowcount
            if not gone:
                raise NotFound(
                    f"group {group!r} is not mapped to {role} in {project}", field="group"
                )
            bump_grants(conn)
            after = {"group": group, "project": project, "role": role}
            event = AuditEvent("group.unmap", "group", group, after=after, project=project)
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    def list_mappings(self) -> list[dict[str, str]]:
        require("group_mapping.read", None, "")
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(
                    group_mappings.c.group_name, group_mappings.c.project, group_mappings.c.role
                )
                .where(group_mappings.c.issuer == self.issuer)
                .order_by(group_mappings.c.group_name, group_mappings.c.project)
            ).all()
        return [{"group": g, "project": p, "role": r} for g, p, r in rows]


def pkce_challenge(verifier: str) -> str:
    """The S256 challenge of a PKCE verifier (RFC 7636): base64url of its SHA-256, unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _check_group(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 256 or value != value.strip():
        raise InvalidArgument("group must be a group name of 1 to 256 characters", field="group")
    return value
