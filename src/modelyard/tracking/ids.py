"""Identities and times given to tracking data: run ids, millisecond clocks, artifact URIs.

One definition each, used by the SDK (which names runs before they are stored) and the stores.
"""

from __future__ import annotations

import time
import uuid


def now_ms() -> int:
    """Milliseconds since the epoch, the unit of every tracking timestamp."""
    return int(time.time() * 1000)


def new_run_id() -> str:
    """32 lowercase hex characters, made by the client so a run exists before it is stored."""
    return uuid.uuid4().hex


def run_artifact_uri(artifact_location: str, run_id: str) -> str:
    """Where a run's artifacts live, below its experiment's artifact location."""
    return f"{artifact_location.rstrip('/')}/{run_id}/artifacts"
