"""Times a caller passes: epoch milliseconds, a datetime or ISO-8601 text, one parser whose
error names the caller's field (``since``, ``until``, ``at``, ``now``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from modelyard.errors import InvalidArgument


def parse_time(value: Any, field: str) -> int | None:
    """Epoch milliseconds from an int, a datetime or ISO-8601 text; None stays None. A naive
    datetime or text without an offset is local time, as a person typed it."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    expected = f"{field} must be epoch milliseconds, a datetime or ISO-8601 text"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidArgument(f"{expected}, got {value[:60]!r}", field=field) from None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return int(value.astimezone(timezone.utc).timestamp() * 1000)
    raise InvalidArgument(f"{expected}, got {type(value).__name__}", field=field)
