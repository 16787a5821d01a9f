"""Durations a caller passes (``"10m"``, ``"1h30m"``, ``"500ms"``, or seconds as a number), one
parser whose error names the caller's field (``timeout``, ``retry_delay``, ``cache_expires``)."""

from __future__ import annotations

import math
import re
from typing import Any

from modelyard.errors import InvalidArgument

_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|min|s|m|h|d|w)")


def parse_duration(value: Any, field: str, *, allow_zero: bool = False) -> float:
    """Seconds from a number of seconds or text such as ``"90s"``, ``"10m"``, ``"1h30m"``."""
    expected = (
        f"{field} must be a number of seconds or a duration such as '30s', '10m', '1h30m' "
        "(units ms, s, m, h, d, w)"
    )
    if isinstance(value, bool):
        raise InvalidArgument(f"{expected}, got {value!r}", field=field)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = list(_PART.finditer(text))
        if not text or "".join(p.group(0) for p in parts) != text:
            raise InvalidArgument(f"{expected}, got {value[:40]!r}", field=field)
        seconds = sum(float(p.group(1)) * _SECONDS[p.group(2)] for p in parts)
    else:
        raise InvalidArgument(f"{expected}, got {type(value).__name__}", field=field)
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        raise InvalidArgument(f"{field} must be more than 0 seconds, got {value!r}", field=field)
    return seconds
