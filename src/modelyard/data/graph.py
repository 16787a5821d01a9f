"""Walking the lineage graph: from a dataset version or a run, both ways, breadth first.

A node is written ``dataset:<name>@<version>`` (or ``dataset:<name>`` for its latest
version), ``run:<run id>`` or ``model_version:<version id>`` (the registry writes those edges;
``Client.model_lineage`` starts from a model name and version).
"""

from __future__ import annotations

from modelyard.data.entities import LineageEdge
from modelyard.data.store import DatasetStore
from modelyard.errors import InvalidArgument

NODE_TYPES = {"dataset": "dataset_version", "run": "run", "model_version": "model_version"}


def parse_node(store: DatasetStore, node: str) -> tuple[str, str]:
    """``dataset:name@3`` / ``run:abc`` -> (node type, node id)."""
    kind, sep, rest = node.partition(":")
    if not sep or kind not in NODE_TYPES or not rest:
        raise InvalidArgument(
            f"node {node!r} must look like dataset:<name>[@<version>], run:<run id> or "
            "model_version:<version id>",
            field="node",
        )
    if kind in ("run", "model_version"):
        return kind, rest
    name, at, number = rest.rpartition("@") if "@" in rest else (rest, "", "")
    version = None
    if at:
        if not (number.isascii() and number.isdigit()):
            raise InvalidArgument(f"version in {node!r} must be a number", field="node")
        version = int(number)
    found = store.get_version(name, version)
    return "dataset_version", found.version_id


def walk(store: DatasetStore, node: str, *, depth: int = 5) -> list[LineageEdge]:
    if not isinstance(depth, int) or depth < 1 or depth > 50:
        raise InvalidArgument("depth must be an integer from 1 to 50", field="depth")
    start = parse_node(store, node)
    seen_nodes = {start}
    seen_edges: set[tuple[str, str, str, str, str]] = set()
    edges: list[LineageEdge] = []
    frontier = [start]
    for _ in range(depth):
        following = []
        for node_type, node_id in frontier:
            for edge in store.edges(node_type, node_id):
                key = (
                    edge.source.type,
                    edge.source.id,
                    edge.target.type,
                    edge.target.id,
                    edge.relation,
                )
                if key in seen_edges:
                    continue
                seen_edges.add(key)
                edges.append(edge)
                for end in ((edge.source.type, edge.source.id), (edge.target.type, edge.target.id)):
                    if end not in seen_nodes:
                        seen_nodes.add(end)
                        following.append(end)
        if not following:
            break
        frontier = following
    return edges
