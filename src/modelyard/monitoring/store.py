"""The contract of the monitoring store: SQL (embedded, and what the server runs) and REST."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from modelyard.monitoring.entities import Label, PredictionFile


class MonitoringStore(ABC):
    @abstractmethod
    def add_prediction_file(self, meta: PredictionFile) -> PredictionFile:
        """List a shipped file (its blob stored first); the same sha256 twice is one file."""

    @abstractmethod
    def prediction_files(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        endpoint: str | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> list[PredictionFile]:
        """Files holding predictions from ``since`` to ``until`` (epoch ms), oldest first."""

    @abstractmethod
    def log_labels(self, labels: Sequence[Label]) -> tuple[int, int]:
        """Record labels; a label for a request id and row already labelled replaces it.
        Returns (recorded, of which replaced)."""

    @abstractmethod
    def get_labels(self, request_ids: Sequence[str]) -> list[Label]:
        """The labels of these request ids (every row)."""

    def close(self) -> None:  # noqa: B027 - optional
        pass
