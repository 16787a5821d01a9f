"""Options every command shares: the store URI, --json, key=value pairs, --limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from modelyard.errors import InvalidArgument
from modelyard.terminal import err

T = TypeVar("T")

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


def first(fetch: Callable[[int], list[T]], limit: int, what: str) -> list[T]:
    """At most ``limit`` rows of a list read with ``fetch(n)``; when there are more, says so
    on stderr (the table or JSON on stdout holds only what is shown)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArgument(f"--limit must be at least 1, got {limit!r}", field="limit")
    found = fetch(limit + 1)
    if len(found) > limit:
        err.print(f"showing the first {limit} {what}; there are more (raise --limit)")
    return found[:limit]
