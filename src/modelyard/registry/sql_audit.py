"""The audit chain's reads, in SQL: entries by filter and a check of the whole hash chain.

Every change of the registry writes its entry in its own transaction (``store.audit.record``);
nothing here writes.
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.platform.access import require
from modelyard.platform.checks import check_count
from modelyard.platform.scope import projects_with
from modelyard.registry.store import AUDIT_MAX, AuditStore
from modelyard.store import audit
from modelyard.store.audit import AuditCheck, AuditEntry
from modelyard.store.database import Database

_AUDIT_FILTERS = ("object_type", "object_id", "actor", "action", "since", "until", "after_seq")


class SqlAudit(AuditStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    def entries(self, **filters: Any) -> list[AuditEntry]:
        limit = check_count(filters.pop("limit", 100), "limit", AUDIT_MAX)
        unknown = set(filters) - set(_AUDIT_FILTERS)
        if unknown:
            raise InvalidArgument(
                f"unknown audit filter(s) {sorted(unknown)}; expected {', '.join(_AUDIT_FILTERS)}",
                field="filters",
            )
        clean = {k: v for k, v in filters.items() if v is not None}
        # a project admin reads the entries of their projects; a global admin all of them
        return audit.query(self.db, limit=limit, projects=projects_with("audit.read"), **clean)

    def verify(self) -> AuditCheck:
        # its problem texts name objects of every project
        require("audit.verify", None, "the audit log")
        return audit.verify(self.db)
