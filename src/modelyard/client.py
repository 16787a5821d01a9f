"""``modelyard.Client``: one client for tracking and the model registry.

The tracking methods come from ``tracking.client.Client``, the registry's from
``registry.client.RegistryClient``; both talk to the same store (embedded or a server). Model
cards and lineage, which draw on every domain, are assembled here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from modelyard.config import Settings
from modelyard.platform.backends import resolve
from modelyard.registry.client import RegistryClient
from modelyard.tracking.client import Client as TrackingClient

T = TypeVar("T")

if TYPE_CHECKING:
    from modelyard.data.entities import LineageEdge
    from modelyard.models.cards import ModelCard


class Client(TrackingClient, RegistryClient):
    """Tracking and registry client. ``tracking_uri`` defaults to the one set with
    ``set_tracking_uri``, then ``MODELYARD_TRACKING_URI``, then ``./modelyard-data``."""

    def __init__(self, tracking_uri: str | None = None, *, settings: Settings | None = None):
        TrackingClient.__init__(self, tracking_uri, settings=settings)
        self._registry_setup(resolve(self.tracking_uri, self.settings), self.settings)

    def _act(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._settle()  # a registry call sees this client's run writes (a source run)
        return RegistryClient._act(self, fn, *args, **kwargs)

    def model_card(self, name: str, version: int | None = None) -> ModelCard:
        """The card of a version (the latest when ``version`` is None): ``.to_markdown()``,
        ``.to_html()``."""
        from modelyard.models.cards import build_card

        return build_card(self, name, version)

    def model_lineage(self, name: str, version: int, *, depth: int = 5) -> list[LineageEdge]:
        """Lineage around a model version: its training run, that run's datasets, ..."""
        from modelyard.data.client import DataClient

        found = self.get_version(name, version)
        data = DataClient(self.tracking_uri, settings=self.settings)
        return data.lineage(f"model_version:{found.version_id}", depth=depth)
