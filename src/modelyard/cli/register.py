"""``modelyard models register NAME SOURCE``: a logged model, or a folder uploaded first (the
folder is verified by the models domain, so the command lives here)."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.platform.cli_options import Json, TrackingUri, parse_pairs
from modelyard.terminal import out, print_json


def register(
    name: str,
    source: Annotated[
        str, typer.Argument(help="runs:/<run id>/<path>, or a model folder (uploaded first)")
    ],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="key=value")] = None,
    description: Annotated[str | None, typer.Option(help="The version's description.")] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Register a model as the next version of NAME (a folder is verified and uploaded)."""
    from modelyard.models.api import register_model

    found = register_model(
        source, name, tags=parse_pairs(tag), description=description, tracking_uri=tracking_uri
    )
    if as_json:
        print_json(found.to_dict())
        return
    out.print(f"registered {found.uri}")
