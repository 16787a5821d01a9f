"""``modelyard demo``: the end-to-end demo on the embedded store."""

from __future__ import annotations

from typing import Annotated

import typer


def demo(
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", "-t", envvar="MODELYARD_TRACKING_URI")
    ] = None,
) -> None:
    """Train a few models on a bundled dataset, track them, and compare them."""
    from modelyard.demo.runner import run_demo

    run_demo(tracking_uri)
