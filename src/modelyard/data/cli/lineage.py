"""``modelyard lineage NODE``: the graph around a dataset version or a run, as a tree."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.tree import Tree

from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.terminal import out, print_json


def lineage(
    node: Annotated[str, typer.Argument(help="dataset:<name>[@<version>] or run:<run id>")],
    depth: Annotated[int, typer.Option(help="Hops to follow.")] = 5,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Walk lineage: dataset -> run -> (model -> deployment), both ways."""
    from modelyard.data.client import DataClient

    edges = DataClient(tracking_uri).lineage(node, depth=depth)
    if as_json:
        print_json([e.to_dict() for e in edges])
        return
    if not edges:
        out.print(f"{node}: no lineage recorded")
        return
    tree = Tree(f"[bold]{node}[/]")
    for e in edges:
        context = f" ({e.context})" if e.context else ""
        tree.add(
            f"{e.source.type}:{e.source.label} --{e.relation}{context}--> "
            f"{e.target.type}:{e.target.label}"
        )
    out.print(tree)
