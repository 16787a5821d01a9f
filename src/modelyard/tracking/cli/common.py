"""Options every tracking command shares, and turning a URI option into a client."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.tracking.client import Client

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        "-t",
        envvar="MODELYARD_TRACKING_URI",
        help="Store to use: folder, sqlite:///file.db, postgresql+psycopg://..., "
        "or http://host:port of a modelyard server.",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def client(uri: str | None) -> Client:
    return Client(uri)
