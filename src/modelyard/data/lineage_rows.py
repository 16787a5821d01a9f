"""Writing lineage edges and naming their nodes: the public service other domains use.

A domain that adds a node type (the registry's ``model_version``) writes its edges with
``add_edge`` inside its own transaction, and registers a labeller so walks show its nodes by
name; the edge table itself stays the data domain's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.data.tables import lineage_edges
from modelyard.platform.ids import now_ms
from modelyard.store.sql import insert_ignore

Node = tuple[str, str]  # (type, id)
Labeller = Callable[[Connection, str], "str | None"]

_labellers: dict[str, Labeller] = {}
_projects: dict[str, Labeller] = {}


def register_labeller(node_type: str, labeller: Labeller) -> None:
    """``labeller(conn, node_id)`` names a node of ``node_type`` (None when it is gone)."""
    _labellers[node_type] = labeller


def labeller_for(node_type: str) -> Labeller | None:
    return _labellers.get(node_type)


def register_project_of(node_type: str, project_of: Labeller) -> None:
    """``project_of(conn, node_id)``: the project of a node of ``node_type`` (None: gone);
    lineage shows a node only to who may read its project."""
    _projects[node_type] = project_of


def project_finder(node_type: str) -> Labeller | None:
    return _projects.get(node_type)


def add_edge(
    conn: Connection, source: Node, target: Node, relation: str, context: str | None
) -> bool:
    """Insert the edge unless it exists; True when it was added."""
    exists = conn.execute(
        sa.select(lineage_edges.c.edge_id).where(
            lineage_edges.c.source_type == source[0],
            lineage_edges.c.source_id == source[1],
            lineage_edges.c.target_type == target[0],
            lineage_edges.c.target_id == target[1],
            lineage_edges.c.relation == relation,
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(
        lineage_edges.insert().values(
            source_type=source[0],
            source_id=source[1],
            target_type=target[0],
            target_id=target[1],
            relation=relation,
            context=context,
            created_time=now_ms(),
        )
    )
    return True


def add_edges(conn: Connection, edges: Iterable[tuple[Node, Node, str, str | None]]) -> None:
    """Insert many edges at once, each unless it exists (one statement for the batch)."""
    t = now_ms()
    rows = [
        {
            "source_type": source[0],
            "source_id": source[1],
            "target_type": target[0],
            "target_id": target[1],
            "relation": relation,
            "context": None if context is None else context[:64],
            "created_time": t,
        }
        for source, target, relation, context in edges
    ]
    if rows:
        insert_ignore(conn, lineage_edges, rows)
