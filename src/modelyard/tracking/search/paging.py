"""Opaque page tokens: an offset bound to the fingerprint of the search that produced it.

A token is urlsafe base64 of a small JSON object; decoding never trusts it, and any fault
(garbage, a negative offset, a token of another search) is ``InvalidArgument`` on page_token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence

from modelyard.errors import InvalidArgument

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


def encode_page_token(offset: int, query_fingerprint: str) -> str:
    """The token resuming the search ``query_fingerprint`` at ``offset``."""
    if offset < 0:
        raise InvalidArgument(f"page offset must not be negative, got {offset}", field=_FIELD)
    body = json.dumps({"offset": offset, "query": query_fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode("utf-8")).decode("ascii").rstrip("=")


def decode_page_token(token: str, query_fingerprint: str) -> int:
    """The offset in ``token``, which must have been made for the search ``query_fingerprint``."""
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
    if body.get("query") != query_fingerprint:
        raise InvalidArgument(
            "page_token belongs to another search: repeat the same experiments, filter, "
            "order_by and view, or start again without a page token",
            field=_FIELD,
        )
    return offset
