"""What the registry commands share: the client, times, and key=value parsing."""

from __future__ import annotations

from datetime import datetime, timezone

from modelyard.registry.client import RegistryClient


def client(uri: str | None) -> RegistryClient:
    return RegistryClient(uri)


def when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
