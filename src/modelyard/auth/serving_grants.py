"""Who may have a serving token for an endpoint: one who may predict with it, in its
project. An endpoint is a deployment's name, or a registered model's (``modelyard serve
models:/churn@champion`` serves ``churn``); the project is that object's. Both tables are
other domains': lightweight handles read their name and project, nothing more."""

from __future__ import annotations

import sqlalchemy as sa

from modelyard.errors import InvalidArgument, NotFound
from modelyard.platform.access import require
from modelyard.store.database import Database

_deployments = sa.table("deployments", sa.column("name_key"), sa.column("project"))
_models = sa.table("registered_models", sa.column("name_key"), sa.column("project"))


def check_endpoint_name(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 256 or "/" in value:
        raise InvalidArgument("endpoint must be a deployment's or a model's name", field="endpoint")
    return value


def require_predict(db: Database, endpoint: str) -> None:
    """NotFound unless ``endpoint`` names a deployment or model the caller may see;
    PermissionDenied unless it may predict with it there. A name that a deployment and a
    model of different projects share needs the right in every one of them: a serving token
    names an endpoint, not a project, so a deployment named after another project's model
    must not open that model."""
    missing = NotFound(f"no deployment or model named {endpoint!r}", field="endpoint")
    with db.read() as conn:
        projects = {
            str(p)
            for table in (_deployments, _models)
            for p in conn.execute(
                sa.select(table.c.project).where(table.c.name_key == endpoint.lower())
            ).scalars()
        }
    if not projects:
        raise missing
    for project in sorted(projects):
        require("deployment.predict", project, missing)
