"""Ids and times every domain gives its records: millisecond clocks and random ids, one
definition each, used by the SDK (which names runs before they are stored) and the stores."""

from __future__ import annotations

import time
import uuid


def now_ms() -> int:
    """Milliseconds since the epoch, the unit of every tracking timestamp."""
    return int(time.time() * 1000)


def new_run_id() -> str:
    """32 lowercase hex characters, made by the client so a run exists before it is stored."""
    return uuid.uuid4().hex
