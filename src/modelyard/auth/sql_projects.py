"""Projects and who holds which role in each, in SQL; and the grants a principal holds.

A project's name is its key (lower case, immutable). Creating one is a global admin's act;
granting and revoking roles in it is its admins' (``project.grant``). A project the caller
holds nothing in answers as a missing one does (404): names do not leak.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.auth.entities import Project, RoleBinding
from modelyard.auth.names import check_principal_name, check_project_name, check_role
from modelyard.auth.sql_rows import bump_grants, person_of, principal_row
from modelyard.auth.tables import principals, projects, role_bindings
from modelyard.errors import AlreadyExists, Conflict, NotFound, PermissionDenied
from modelyard.identity import current_actor
from modelyard.platform.access import Grants, allowed, require, sees, visible_projects
from modelyard.platform.ids import now_ms
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database


def no_project(name: str) -> NotFound:
    return NotFound(f"no project named {name!r}", field="project")


def grants_of(conn: Connection, principal_id: str, is_admin: bool) -> Grants:
    """What a principal holds now: its role bindings, and every action as a global admin."""
    rows = conn.execute(
        sa.select(role_bindings.c.project, role_bindings.c.role).where(
            role_bindings.c.principal_id == principal_id
        )
    ).all()
    by_project: dict[str, list[str]] = {}
    for project, role in rows:
        by_project.setdefault(project, []).append(role)
    return Grants.of(by_project, ["admin"] if is_admin else [])


def roles_of(conn: Connection, principal_id: str) -> dict[str, frozenset[str]]:
    rows = conn.execute(
        sa.select(role_bindings.c.project, role_bindings.c.role).where(
            role_bindings.c.principal_id == principal_id
        )
    ).all()
    found: dict[str, set[str]] = {}
    for project, role in rows:
        found.setdefault(project, set()).add(role)
    return {p: frozenset(r) for p, r in found.items()}


def _project(row: object) -> Project:
    d = dict(row._mapping)  # type: ignore[attr-defined]
    return Project(d["project"], d["description"], d["created_by"], int(d["created_time"]))


class SqlProjects:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _existing(self, conn: Connection, name: str) -> None:
        found = conn.execute(
            sa.select(projects.c.project).where(projects.c.project == name)
        ).scalar()
        if found is None or not sees(current_actor(), name):
            raise no_project(name)

    def create(self, name: str, description: str | None = None) -> Project:
        check_project_name(name, "name")
        require("project.create", None, "")
        t = now_ms()

        def write(conn: Connection) -> None:
            taken = conn.execute(
                sa.select(projects.c.project).where(projects.c.project == name)
            ).scalar()
            if taken is not None:
                raise AlreadyExists(f"a project named {name!r} exists", field="name")
            conn.execute(
                projects.insert().values(
                    project=name,
                    description=description,
                    created_by=current_actor().name,
                    created_time=t,
                )
            )
            audit.record(conn, [AuditEvent("project.create", "project", name)], time_ms=t)

        self.db.run_write(write)
        return Project(name, description, current_actor().name, t)

    def list_visible(self) -> list[Project]:
        seen = visible_projects()
        query = sa.select(projects).order_by(projects.c.project)
        if seen is not None:
            query = query.where(projects.c.project.in_(sorted(seen)))
        with self.db.read() as conn:
            return [_project(r) for r in conn.execute(query)]

    def grant(self, project: str, principal: str, role: str) -> RoleBinding:
        check_project_name(project)
        check_principal_name(principal, "principal")
        check_role(role)
        actor = require("project.grant", project, no_project(project))
        t = now_ms()

        def write(conn: Connection) -> RoleBinding:
            self._existing(conn, project)
            row = principal_row(conn, principal)
            key = (
                role_bindings.c.project == project,
                role_bindings.c.principal_id == row["principal_id"],
                role_bindings.c.role == role,
            )
            held = conn.execute(sa.select(role_bindings).where(*key)).mappings().first()
            if (
                held is None
                and person_of(row) == (actor.person or actor.name)
                and not allowed(actor, "user.write", None)
            ):
                # four eyes: a right held for now (a provider group's, a token's) is never
                # made one's own by oneself, nor by one's service account, nor given to it
                raise PermissionDenied(
                    f"granting yourself (or a service account of yours) a role needs another "
                    f"admin of project {project!r} or a global admin",
                    field="principal",
                )
            if held is not None:  # granting again changes nothing
                return RoleBinding(
                    project, row["name"], role, held["granted_by"], int(held["granted_time"])
                )
            conn.execute(
                role_bindings.insert().values(
                    project=project,
                    principal_id=row["principal_id"],
                    role=role,
                    granted_by=actor.name,
                    granted_time=t,
                )
            )
            bump_grants(conn)
            after = {"principal": row["name"], "role": role}
            audit.record(
                conn,
                [AuditEvent("role.grant", "project", project, after=after, project=project)],
                time_ms=t,
            )
            return RoleBinding(project, row["name"], role, actor.name, t)

        made: RoleBinding = self.db.run_write(write)
        return made

    def revoke(self, project: str, principal: str, role: str) -> None:
        check_project_name(project)
        require("project.grant", project, no_project(project))
        check_role(role)

        def write(conn: Connection) -> None:
            self._existing(conn, project)
            row = principal_row(conn, principal)
            gone = conn.execute(
                role_bindings.delete().where(
                    role_bindings.c.project == project,
                    role_bindings.c.principal_id == row["principal_id"],
                    role_bindings.c.role == role,
                )
            )
            if gone.rowcount == 0:
                raise NotFound(
                    f"{row['name']!r} does not hold {role!r} in project {project!r}", field="role"
                )
            if (
                role == "admin"
                and not conn.execute(
                    sa.select(role_bindings.c.principal_id).where(
                        role_bindings.c.project == project, role_bindings.c.role == "admin"
                    )
                ).first()
            ):
                raise Conflict(
                    f"{row['name']!r} is the last admin of project {project!r}; make someone "
                    "else its admin first",
                    field="role",
                )
            bump_grants(conn)
            before = {"principal": row["name"], "role": role}
            event = AuditEvent("role.revoke", "project", project, before=before, project=project)
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    def members(self, project: str) -> list[RoleBinding]:
        check_project_name(project)
        require("project.grant", project, no_project(project))  # its admins' to see
        with self.db.read() as conn:
            self._existing(conn, project)
            rows = (
                conn.execute(
                    sa.select(role_bindings, principals.c.name)
                    .join(principals, principals.c.principal_id == role_bindings.c.principal_id)
                    .where(role_bindings.c.project == project)
                    .order_by(principals.c.name_key, role_bindings.c.role)
                )
                .mappings()
                .all()
            )
        return [
            RoleBinding(project, r["name"], r["role"], r["granted_by"], int(r["granted_time"]))
            for r in rows
        ]
