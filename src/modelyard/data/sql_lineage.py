"""Reading lineage edges with their nodes named: datasets as name@version, runs by name, and
other domains' nodes through their registered labellers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from modelyard.data.entities import LineageEdge, LineageNode
from modelyard.data.lineage_rows import labeller_for, project_finder
from modelyard.data.store import EDGES_PAGE_DEFAULT, EDGES_PAGE_MAX
from modelyard.data.tables import dataset_versions, datasets, lineage_edges
from modelyard.errors import NotFound
from modelyard.identity import current_actor
from modelyard.platform.access import sees
from modelyard.platform.checks import check_count
from modelyard.platform.scope import restricted
from modelyard.platform.search.paging import encode_page_token, list_fingerprint, page_offset
from modelyard.store.database import Database
from modelyard.tracking.store import TrackingStore

NODE_DATASET = "dataset_version"
NODE_RUN = "run"


class SqlLineageReads:
    db: Database
    runs: TrackingStore

    def _label(self, node_type: str, node_id: str) -> str:
        if node_type == NODE_DATASET:
            with self.db.read() as conn:
                row = conn.execute(
                    sa.select(datasets.c.name, dataset_versions.c.version)
                    .join(datasets, datasets.c.dataset_id == dataset_versions.c.dataset_id)
                    .where(dataset_versions.c.version_id == node_id)
                ).first()
            return f"{row[0]}@{row[1]}" if row else f"(deleted {node_id})"
        if node_type == NODE_RUN:
            try:
                run = self.runs.get_run(node_id)
            except NotFound:
                return f"(missing run {node_id})"
            return run.info.run_name or node_id
        labeller = labeller_for(node_type)
        if labeller is not None:
            with self.db.read() as conn:
                return labeller(conn, node_id) or f"(deleted {node_id})"
        return node_id

    def _visible(self, node_type: str, node_id: str) -> bool:
        """Whether the caller may read the node's project (every node, without checks; an
        unknown kind of node, never)."""
        if not restricted():
            return True
        if node_type == NODE_RUN:
            try:
                self.runs.get_run(node_id)  # checks run.read in the run's project
            except NotFound:
                return False
            return True
        if node_type == NODE_DATASET:
            with self.db.read() as conn:
                project = conn.execute(
                    sa.select(datasets.c.project)
                    .join(dataset_versions, datasets.c.dataset_id == dataset_versions.c.dataset_id)
                    .where(dataset_versions.c.version_id == node_id)
                ).scalar()
        else:
            finder = project_finder(node_type)
            if finder is None:
                return False
            with self.db.read() as conn:
                project = finder(conn, node_id)
        return project is not None and sees(current_actor(), str(project))

    def edges_page(
        self,
        node_type: str,
        node_id: str,
        *,
        limit: int = EDGES_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[LineageEdge], str | None]:
        check_count(limit, "limit", EDGES_PAGE_MAX)
        fingerprint = list_fingerprint("lineage_edges", type=node_type, id=node_id)
        offset = page_offset(page_token, fingerprint, "type and id")
        if not self._visible(node_type, node_id):  # as for a node with no edges
            return [], None
        labels: dict[tuple[str, str], str] = {}

        def node(kind: str, ident: str) -> LineageNode:
            if (kind, ident) not in labels:
                labels[(kind, ident)] = self._label(kind, ident)
            return LineageNode(kind, ident, labels[(kind, ident)])

        shown: dict[tuple[str, str], bool] = {(node_type, node_id): True}

        def visible(kind: str, ident: str) -> bool:
            if (kind, ident) not in shown:
                shown[(kind, ident)] = self._visible(kind, ident)
            return shown[(kind, ident)]

        # an edge whose other end is hidden is left out, and the page is filled from the
        # edges after it: neither its size nor its token tells that hidden edges exist
        found: list[LineageEdge] = []
        at, more = offset, False
        for position, r in self._rows_from(node_type, node_id, offset, limit + 1):
            if not (
                visible(r["source_type"], r["source_id"])
                and visible(r["target_type"], r["target_id"])
            ):
                continue
            if len(found) == limit:  # a visible edge after the page: there is a next one
                more = True
                break
            found.append(
                LineageEdge(
                    node(r["source_type"], r["source_id"]),
                    node(r["target_type"], r["target_id"]),
                    r["relation"],
                    r["context"],
                )
            )
            at = position + 1
        return found, encode_page_token(at, fingerprint) if more else None

    def _rows_from(
        self, node_type: str, node_id: str, offset: int, batch: int
    ) -> Iterator[tuple[int, Any]]:
        """``(position, raw edge)`` of a node's edges from ``offset`` on, read in batches."""
        at = offset
        while True:
            rows = self._edge_rows(node_type, node_id, at, batch)
            for row in rows:
                yield at, row
                at += 1
            if len(rows) < batch:
                return

    def _edge_rows(self, node_type: str, node_id: str, offset: int, count: int) -> list[Any]:
        """Raw edges of a node, in id order, from ``offset`` (hidden ones included)."""
        with self.db.read() as conn:
            return list(
                conn.execute(
                    sa.select(lineage_edges)
                    .where(
                        sa.or_(
                            sa.and_(
                                lineage_edges.c.source_type == node_type,
                                lineage_edges.c.source_id == node_id,
                            ),
                            sa.and_(
                                lineage_edges.c.target_type == node_type,
                                lineage_edges.c.target_id == node_id,
                            ),
                        )
                    )
                    .order_by(lineage_edges.c.edge_id)
                    .limit(count)
                    .offset(offset)
                )
                .mappings()
                .all()
            )
