"""``modelyard models card NAME``: a model card, drawn from every domain (so it lives here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.platform.cli_options import TrackingUri, parse_pairs
from modelyard.terminal import out


def card(
    name: str,
    version: Annotated[int | None, typer.Option("--version", "-v", help="Default: latest.")] = None,
    html: Annotated[bool, typer.Option("--html", help="HTML instead of Markdown.")] = False,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write to this file.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Edit a section first: intended_use=..., limitations=..., "
            "ethical_considerations=..., notes=...",
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Print (or write) the model card of a version; --set edits its sections first."""
    from modelyard.client import Client

    c = Client(tracking_uri)
    sections = parse_pairs(set_, "section")
    if sections:
        c.set_model_card(name, version, **sections)
    found = c.model_card(name, version)
    text = found.to_html() if html else found.to_markdown()
    if output is not None:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)
