"""What the registry commands share: the client, times, and key=value parsing."""

from __future__ import annotations

from modelyard.registry.client import RegistryClient
from modelyard.terminal import when

__all__ = ["client", "when"]


def client(uri: str | None) -> RegistryClient:
    return RegistryClient(uri)
