"""Options every tracking command shares, and turning a URI option into a client."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.errors import InvalidArgument
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


def parse_pairs(items: list[str] | None, what: str = "tag") -> dict[str, str]:
    """``["k=v", ...]`` from repeated options into a mapping; a pair without '=' is refused."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{what} {item!r} must look like key=value", field=what)
        out[key] = value
    return out


def client(uri: str | None) -> Client:
    return Client(uri)
