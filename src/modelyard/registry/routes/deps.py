"""What registry routes need from the app, and the small body readers they share."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from modelyard.errors import InvalidArgument
from modelyard.registry.store import LIST_MAX, RegistryStore
from modelyard.webapi.openapi import STR, STR_MAP, json_body, nullable, obj

# the bodies several registry routes share
DESCRIPTION_BODY = json_body(obj({"description": nullable(STR)}, ["description"]))
TAG_BODY = json_body(obj({"key": STR, "value": STR}, ["key", "value"]))
CARD_BODY = json_body(obj({"sections": STR_MAP}))
# the limit of a list that comes in one answer (no pages): what is past it is not sent
AT_MOST = f"at most this many rows (up to {LIST_MAX}); the rest are not sent"


def registry(request: Request) -> RegistryStore:
    found: RegistryStore = request.app.state.registry
    return found


def optional(body: dict[str, Any], key: str, kind: type | tuple[type, ...], expected: str) -> Any:
    value = body.get(key)
    if value is not None and (
        not isinstance(value, kind) or (isinstance(value, bool) and kind is int)
    ):
        raise InvalidArgument(f"{key} must be {expected}", field=key)
    return value


def nullable_text(body: dict[str, Any], key: str) -> str | None:
    """A text field that must be present: null clears it, absent is an error (so that an
    empty PATCH body cannot clear a description by accident)."""
    if key not in body:
        raise InvalidArgument(f"{key} is required: text, or null to clear it", field=key)
    value: str | None = optional(body, key, str, "text or null")
    return value


def string_map(body: dict[str, Any], key: str) -> dict[str, str]:
    value = optional(body, key, dict, "an object of strings") or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidArgument(f"{key} must be an object of strings", field=key)
    return value
