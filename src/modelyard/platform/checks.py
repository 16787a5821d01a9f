"""Checks of what a caller passed, shared by every domain: names and keys, string values, tag
and param mappings, counts. Each error names the caller's field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.unicode_text import hidden_character

MAX_NAME = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_PARAMS_PER_BATCH = 1_000
MAX_TAGS_PER_BATCH = 1_000

_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def short(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _check_utf8(value: str, field: str) -> None:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgument(
                f"{field} is not valid Unicode text (it holds a lone surrogate)", field=field
            ) from None


def check_name(value: Any, field: str, *, max_len: int = MAX_NAME) -> str:
    """A key or name: non-empty, bounded, printable, no percent-escapes, no '..' segment."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string, got {type(value).__name__}", field=field)
    if not value or not value.strip():
        raise InvalidArgument(f"{field} must not be empty", field=field)
    if len(value) > max_len:
        raise InvalidArgument(
            f"{field} is {len(value)} characters long; the limit is {max_len}", field=field
        )
    hidden = hidden_character(value)
    if hidden is not None:
        raise InvalidArgument(f"{field} {short(value)} contains {hidden}", field=field)
    _check_utf8(value, field)
    if _PERCENT_ESCAPE.search(value):
        raise InvalidArgument(
            f"{field} {short(value)} contains a percent-escape; write the character itself "
            "(e.g. 'a/b', not 'a%2Fb')",
            field=field,
        )
    if value.startswith("/") or any(seg in (".", "..") for seg in value.split("/")):
        raise InvalidArgument(
            f"{field} {short(value)} must not start with '/' or contain '.' or '..' segments",
            field=field,
        )
    return value


def check_string_value(value: Any, field: str, max_len: int) -> str:
    """Params and tags are strings; numbers and other values are stored as ``str(value)``."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > max_len:
        raise InvalidArgument(
            f"{field} is {len(text)} characters long; the limit is {max_len}", field=field
        )
    if "\x00" in text:
        raise InvalidArgument(f"{field} contains a NUL character", field=field)
    _check_utf8(text, field)
    return text


def _check_mapping(
    values: Mapping[str, Any], field: str, max_items: int, max_len: int
) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise InvalidArgument(f"{field} must be a mapping of names to values", field=field)
    if len(values) > max_items:
        raise InvalidArgument(
            f"{field}: at most {max_items} per batch, got {len(values)}", field=field
        )
    return {
        check_name(k, f"{field} key"): check_string_value(v, f"{field}[{k!r}]", max_len)
        for k, v in values.items()
    }


def check_params(params: Mapping[str, Any], field: str = "params") -> dict[str, str]:
    return _check_mapping(params, field, MAX_PARAMS_PER_BATCH, MAX_PARAM_VALUE)


def check_tags(tags: Mapping[str, Any], field: str = "tags") -> dict[str, str]:
    return _check_mapping(tags, field, MAX_TAGS_PER_BATCH, MAX_TAG_VALUE)


def check_count(value: Any, field: str, most: int) -> int:
    """A page size or limit: an integer from 1 to ``most`` (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InvalidArgument(
            f"{field} must be an integer between 1 and {most}, got {value!r}", field=field
        )
    return value
