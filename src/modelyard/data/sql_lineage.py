"""Reading lineage edges with their nodes named: datasets as name@version, runs by name, and
other domains' nodes through their registered labellers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
SCAN_BATCH = 1000  # edges read at a time when hidden ones must be skipped
# the tracking domain's tables, by name only: a run's project is its experiment's
_runs = sa.table("runs", sa.column("run_uuid"), sa.column("experiment_id"))
_experiments = sa.table("experiments", sa.column("experiment_id"), sa.column("project"))


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
        return not restricted() or (node_type, node_id) in self._seen_nodes({(node_type, node_id)})

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

        if not restricted():  # every edge is seen: the token is a position among them
            rows = self._edge_rows(node_type, node_id, offset, limit + 1)
            found = [self._edge(r, node) for r in rows[:limit]]
            more = len(rows) > limit
            return found, encode_page_token(offset + limit, fingerprint) if more else None
        # with grants, an edge whose other end is hidden is left out and the page is filled
        # from the edges after it; the token counts the edges this caller saw, so neither a
        # page's size nor its token tells where (or that) hidden edges are
        found, seen = [], 0
        for r in self._visible_rows(node_type, node_id):
            if seen < offset:
                seen += 1
                continue
            if len(found) == limit:  # one more after the page: there is a next one
                return found, encode_page_token(offset + limit, fingerprint)
            found.append(self._edge(r, node))
        return found, None

    def _edge(self, r: Any, node: Callable[[str, str], LineageNode]) -> LineageEdge:
        return LineageEdge(
            node(r["source_type"], r["source_id"]),
            node(r["target_type"], r["target_id"]),
            r["relation"],
            r["context"],
        )

    def _visible_rows(self, node_type: str, node_id: str) -> Iterator[Any]:
        """The node's edges whose both ends the caller may read, in id order; the other
        ends' projects are looked up a batch at a time."""
        at = 0
        while True:
            rows = self._edge_rows(node_type, node_id, at, SCAN_BATCH)
            ends = {(r["source_type"], r["source_id"]) for r in rows}
            ends |= {(r["target_type"], r["target_id"]) for r in rows}
            seen = self._seen_nodes(ends - {(node_type, node_id)}) | {(node_type, node_id)}
            for r in rows:
                source = (r["source_type"], r["source_id"])
                if source in seen and (r["target_type"], r["target_id"]) in seen:
                    yield r
            if len(rows) < SCAN_BATCH:
                return
            at += SCAN_BATCH

    def _seen_nodes(self, nodes: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of ``nodes``, those whose project the caller may read (one query per batch for
        runs and for dataset versions; the registered finders for other kinds)."""
        actor = current_actor()
        projects: dict[tuple[str, str], object] = {}
        runs = [i for t, i in nodes if t == NODE_RUN]
        versions = [i for t, i in nodes if t == NODE_DATASET]
        with self.db.read() as conn:
            if runs:
                found = conn.execute(
                    sa.select(_runs.c.run_uuid, _experiments.c.project)
                    .join(_experiments, _experiments.c.experiment_id == _runs.c.experiment_id)
                    .where(_runs.c.run_uuid.in_(runs))
                ).all()
                projects.update({(NODE_RUN, str(i)): p for i, p in found})
            if versions:
                found = conn.execute(
                    sa.select(dataset_versions.c.version_id, datasets.c.project)
                    .join(datasets, datasets.c.dataset_id == dataset_versions.c.dataset_id)
                    .where(dataset_versions.c.version_id.in_(versions))
                ).all()
                projects.update({(NODE_DATASET, str(i)): p for i, p in found})
            for kind, ident in nodes:
                if kind not in (NODE_RUN, NODE_DATASET):
                    finder = project_finder(kind)
                    projects[(kind, ident)] = None if finder is None else finder(conn, ident)
        return {n for n, p in projects.items() if p is not None and sees(actor, str(p))}

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
