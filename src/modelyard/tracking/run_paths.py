"""Where a run's files live."""

from __future__ import annotations


def run_artifact_uri(artifact_location: str, run_id: str) -> str:
    """Where a run's artifacts live, below its experiment's artifact location."""
    return f"{artifact_location.rstrip('/')}/{run_id}/artifacts"
