"""Deployments in SQL: one row per deployment, its spec as JSON, a revision raised by every
change, and an audit entry (before and after) for each create, update and delete.

Every route and shadow must resolve in the registry when it is written (a typo in a model
name or alias is refused then, not found by the servers later). Changing or deleting a
deployment needs the ``deployer`` role (or ``admin``).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from modelyard.identity import current_actor
from modelyard.platform.access import sees
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    require_in,
    require_role_in,
    where_visible,
)
from modelyard.registry.deployments import (
    UNSET,
    Deployment,
    DeploymentRoute,
    check_routes,
    check_shadows,
    check_sticky_header,
)
from modelyard.registry.names import check_model_name, check_text, parse_model_uri
from modelyard.registry.store import LIST_DEFAULT, LIST_MAX, DeploymentStore, VersionStore
from modelyard.registry.tables import deployments
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database

DEPLOYER_ROLE = "deployer"


def _deployment(row: Any) -> Deployment:
    spec = orjson.loads(row["spec"])
    return Deployment(
        name=row["name"],
        routes=[DeploymentRoute(r["model_uri"], int(r["weight"])) for r in spec["routes"]],
        shadows=list(spec.get("shadows") or []),
        sticky_header=spec.get("sticky_header"),
        description=row["description"],
        revision=int(row["revision"]),
        created_by=row["created_by"],
        created_time=int(row["created_time"]),
        updated_by=row["updated_by"],
        updated_time=int(row["updated_time"]),
        project=row["project"],
    )


class SqlDeployments(DeploymentStore):
    def __init__(self, db: Database, versions: VersionStore) -> None:
        self.db = db
        self.versions = versions  # every route and shadow must resolve in it

    def _resolvable(self, routes: list[DeploymentRoute], shadows: list[str]) -> None:
        where = [(f"routes[{i}].model_uri", r.model_uri) for i, r in enumerate(routes)]
        where += [(f"shadows[{i}]", s) for i, s in enumerate(shadows)]
        for field, uri in where:
            ref = parse_model_uri(uri)
            try:
                self.versions.get(ref.name, ref.version, alias=ref.alias)
            except NotFound as exc:
                raise NotFound(f"{field}: {exc.message}", field=field) from None

    def create(
        self,
        name: str,
        routes: Any,
        shadows: Any = None,
        sticky_header: str | None = None,
        description: str | None = None,
        project: str | None = None,
    ) -> Deployment:
        name = check_model_name(name)
        clean_routes = check_routes(routes)
        clean_shadows = check_shadows(shadows)
        header = check_sticky_header(sticky_header)
        description = check_text(description, "description")
        where = new_object_project(project, "deployment.write")
        actor = require_role_in(DEPLOYER_ROLE, where, "creating a deployment", or_admin=True).name
        self._resolvable(clean_routes, clean_shadows)
        made = Deployment(name, clean_routes, clean_shadows, header, description)

        def write(conn: Connection) -> None:
            check_project_exists(conn, where)
            taken = conn.execute(
                sa.select(deployments.c.name, deployments.c.project).where(
                    deployments.c.name_key == name.lower()
                )
            ).first()
            if taken is not None and not sees(current_actor(), taken[1]):
                raise AlreadyExists(f"the deployment name {name!r} is taken", field="name")
            if taken is not None:
                raise AlreadyExists(f"deployment {taken[0]!r} already exists", field="name")
            t = now_ms()
            conn.execute(
                deployments.insert().values(
                    deployment_id=uuid.uuid4().hex,
                    name=name,
                    name_key=name.lower(),
                    project=where,
                    spec=orjson.dumps(made.spec()).decode(),
                    description=description,
                    revision=1,
                    created_by=actor,
                    created_time=t,
                    updated_by=actor,
                    updated_time=t,
                )
            )
            event = AuditEvent(
                "deployment.create", "deployment", name, after=made.spec(), project=where
            )
            audit.record(conn, [event], time_ms=t)

        try:
            self.db.run_write(write)
        except sa.exc.IntegrityError:  # a concurrent creator took the name first
            raise AlreadyExists(f"deployment {name!r} already exists", field="name") from None
        return self.get(name)

    def get(self, name: str) -> Deployment:
        name = check_model_name(name)
        with self.db.read() as conn:
            return _deployment(self._row(conn, name, "deployment.read"))

    def list_all(self, *, limit: int = LIST_DEFAULT) -> list[Deployment]:
        check_count(limit, "limit", LIST_MAX)
        query = where_visible(sa.select(deployments), deployments.c.project)
        query = query.order_by(deployments.c.name_key).limit(limit)
        with self.db.read() as conn:
            return [_deployment(r) for r in conn.execute(query).mappings()]

    def update(
        self,
        name: str,
        *,
        routes: Any = UNSET,
        shadows: Any = UNSET,
        sticky_header: Any = UNSET,
        description: Any = UNSET,
        expected_revision: int | None = None,
    ) -> Deployment:
        """Change what is given (``UNSET`` leaves a part as it is); with
        ``expected_revision`` the change is refused (409) if someone else changed it first."""
        name = check_model_name(name)
        new_routes = None if routes is UNSET else check_routes(routes)
        new_shadows = None if shadows is UNSET else check_shadows(shadows)
        new_header = UNSET if sticky_header is UNSET else check_sticky_header(sticky_header)
        new_text = UNSET if description is UNSET else check_text(description, "description")
        if expected_revision is not None and (
            isinstance(expected_revision, bool) or not isinstance(expected_revision, int)
        ):
            raise InvalidArgument("expected_revision must be a number", field="expected_revision")
        self._resolvable(new_routes or [], new_shadows or [])

        def write(conn: Connection) -> None:
            row = self._row(conn, name, "deployment.read", lock=True)
            actor = require_role_in(
                DEPLOYER_ROLE, row["project"], "changing a deployment", or_admin=True
            ).name
            old = _deployment(row)
            if expected_revision is not None and old.revision != expected_revision:
                raise Conflict(
                    f"deployment {name!r} is at revision {old.revision}, not "
                    f"{expected_revision}: someone changed it; look again and retry",
                    field="expected_revision",
                )
            new = Deployment(
                old.name,
                old.routes if new_routes is None else new_routes,
                old.shadows if new_shadows is None else new_shadows,
                old.sticky_header if new_header is UNSET else new_header,
                old.description if new_text is UNSET else new_text,
            )
            if new.spec() == old.spec() and new.description == old.description:
                return  # nothing changes: no new revision, no audit entry
            t = now_ms()
            conn.execute(
                deployments.update()
                .where(deployments.c.deployment_id == row["deployment_id"])
                .values(
                    spec=orjson.dumps(new.spec()).decode(),
                    description=new.description,
                    revision=old.revision + 1,
                    updated_by=actor,
                    updated_time=t,
                )
            )
            event = AuditEvent(
                "deployment.update",
                "deployment",
                old.name,
                before={**old.spec(), "revision": old.revision},
                after={**new.spec(), "revision": old.revision + 1},
                project=row["project"],
            )
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)
        return self.get(name)

    def delete(self, name: str) -> None:
        name = check_model_name(name)

        def write(conn: Connection) -> None:
            row = self._row(conn, name, "deployment.read", lock=True)
            require_role_in(DEPLOYER_ROLE, row["project"], "deleting a deployment", or_admin=True)
            old = _deployment(row)
            conn.execute(
                deployments.delete().where(deployments.c.deployment_id == row["deployment_id"])
            )
            event = AuditEvent(
                "deployment.delete",
                "deployment",
                old.name,
                before={**old.spec(), "revision": old.revision},
                project=row["project"],
            )
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    @staticmethod
    def _row(conn: Connection, name: str, action: str, *, lock: bool = False) -> Any:
        query = sa.select(deployments).where(deployments.c.name_key == name.lower())
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        missing = NotFound(f"deployment {name!r} does not exist", field="name")
        if row is None:
            raise missing
        require_in(action, row["project"], missing)
        return row
