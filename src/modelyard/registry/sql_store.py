"""The SQL registry store (SQLite or PostgreSQL): one store per feature, composed on one database.

Composition only: each feature's rules and transactions are in its module (``sql_models``,
``sql_versions``, ``sql_aliases``, ``sql_policies``, ``sql_approvals``, ``sql_webhooks``,
``sql_deployments``, ``sql_audit``). A change that spans features (a version and its model, an
approval and the alias it moves, any change and its audit entry and webhook events) runs in one
transaction through functions that take the caller's connection; a feature that needs another's
reads gets that store in its constructor.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.data.lineage_rows import register_labeller, register_project_of
from modelyard.registry.sql_aliases import SqlAliases
from modelyard.registry.sql_approvals import SqlApprovals
from modelyard.registry.sql_audit import SqlAudit
from modelyard.registry.sql_deployments import SqlDeployments
from modelyard.registry.sql_models import SqlModels
from modelyard.registry.sql_policies import SqlPolicies
from modelyard.registry.sql_versions import NODE_MODEL_VERSION, SqlVersions
from modelyard.registry.sql_webhooks import SqlWebhooks
from modelyard.registry.store import RegistryStore
from modelyard.registry.tables import model_versions, registered_models
from modelyard.store.database import Database
from modelyard.store.migrate import upgrade
from modelyard.tracking.store import RunArtifacts, TrackingStore


def _label(conn: Connection, version_id: str) -> str | None:
    row = conn.execute(
        sa.select(registered_models.c.name, model_versions.c.version)
        .join(registered_models, registered_models.c.model_id == model_versions.c.model_id)
        .where(model_versions.c.version_id == version_id)
    ).first()
    return f"{row[0]}/{row[1]}" if row else None


def _project(conn: Connection, version_id: str) -> str | None:
    found = conn.execute(
        sa.select(registered_models.c.project)
        .join(model_versions, registered_models.c.model_id == model_versions.c.model_id)
        .where(model_versions.c.version_id == version_id)
    ).scalar()
    return None if found is None else str(found)


register_labeller(NODE_MODEL_VERSION, _label)
register_project_of(NODE_MODEL_VERSION, _project)


class SqlRegistryStore(RegistryStore):
    def __init__(
        self,
        db: Database,
        runs: TrackingStore,
        artifacts: RunArtifacts,
        *,
        allow_private_webhooks: bool = False,
    ) -> None:
        self.db = db
        versions = SqlVersions(db, runs, artifacts)
        super().__init__(
            models=SqlModels(db),
            versions=versions,
            aliases=SqlAliases(db),
            policies=SqlPolicies(db),
            approvals=SqlApprovals(db),
            webhooks=SqlWebhooks(db, allow_private=allow_private_webhooks),
            deployments=SqlDeployments(db, versions),
            audit=SqlAudit(db),
        )
        upgrade(db)

    def close(self) -> None:
        self.db.dispose()
