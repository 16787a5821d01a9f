"""Opaque page tokens: an offset bound to the fingerprint of the search that produced it.

A token is urlsafe base64 of a small JSON object; decoding never trusts it, and any fault
(garbage, a negative or oversized offset, a token of another search or list) is
``InvalidArgument`` on page_token. ``read_pages`` follows the tokens of any paged read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from modelyard.errors import InvalidArgument
from modelyard.webapi.limits import MAX_INT64

T = TypeVar("T")

MAX_TOKEN_LENGTH = 512
_FIELD = "page_token"


def query_fingerprint(
    experiment_ids: Sequence[int | str],
    filter_text: str | None,
    order_by: Sequence[str] | None,
    view: str,
) -> str:
    """A short sha256 hex digest naming the search; experiment order does not matter."""
    canonical = json.dumps(
        {
            "experiments": sorted(str(e) for e in experiment_ids),
            "filter": (filter_text or "").strip(),
            "order_by": [item.strip() for item in order_by or ()],
            "view": view,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]


def history_fingerprint(run_id: str, key: str) -> str:
    """The fingerprint of one metric's history: a token of it fits no other metric or run."""
    canonical = json.dumps({"history": [run_id, key]}, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]


def list_fingerprint(listing: str, **filters: str | int | None) -> str:
    """The fingerprint of one paged list and its filters: a token of it fits no other list,
    nor the same list filtered otherwise."""
    canonical = json.dumps(
        {"list": listing, "filters": filters},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]


def encode_page_token(offset: int, query_fingerprint: str) -> str:
    """The token resuming the search ``query_fingerprint`` at ``offset``."""
    if offset < 0:
        raise InvalidArgument(f"page offset must not be negative, got {offset}", field=_FIELD)
    body = json.dumps({"offset": offset, "query": query_fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode("utf-8")).decode("ascii").rstrip("=")


def decode_page_token(
    token: str, query_fingerprint: str, repeat: str = "experiments, filter, order_by and view"
) -> int:
    """The offset in ``token``, which must have been made for the search ``query_fingerprint``
    (``repeat`` names what a caller must send again to go on)."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidArgument("page_token is not a valid page token (too long)", field=_FIELD)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument("page_token is not a valid page token", field=_FIELD) from exc
    if not isinstance(body, dict):
        raise InvalidArgument("page_token is not a valid page token", field=_FIELD)
    offset = body.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise InvalidArgument("page_token is not a valid page token (no offset)", field=_FIELD)
    if offset < 0:
        raise InvalidArgument(f"page_token holds a negative offset ({offset})", field=_FIELD)
    if offset > MAX_INT64:  # no database takes it: a forged token, not a server fault
        raise InvalidArgument("page_token holds an offset out of range", field=_FIELD)
    if body.get("query") != query_fingerprint:
        raise InvalidArgument(
            f"page_token belongs to another search or list: repeat the same {repeat}, "
            "or start again without a page token",
            field=_FIELD,
        )
    return offset


def page_offset(page_token: object, fingerprint: str, repeat: str) -> int:
    """Where a page starts: 0 without a token, else the offset of a token of this list."""
    if page_token is None:
        return 0
    if not isinstance(page_token, str):
        raise InvalidArgument("page_token must be a string", field=_FIELD)
    return decode_page_token(page_token, fingerprint, repeat)


def read_pages(
    fetch: Callable[[int, str | None], tuple[list[T], str | None]],
    page_size: int,
    limit: int | None = None,
) -> list[T]:
    """Follow a paged read: ``fetch(size, token)`` answers one page and the next token.
    Every row, or the first ``limit`` (each answer stays bounded; the total is the caller's)."""
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_INT64
    ):
        raise InvalidArgument(
            f"limit must be a positive integer or None (every row), got {limit!r}", field="limit"
        )
    out: list[T] = []
    token: str | None = None
    while True:
        want = page_size if limit is None else min(page_size, limit - len(out))
        rows, token = fetch(want, token)
        out.extend(rows)
        if token is None or (limit is not None and len(out) >= limit):
            return out
