"""The tracking store interface: one contract, a SQL and a REST implementation.

The SDK talks only to this interface; ``tracking.backends.tracking_parts`` builds the
implementation for a store URI (SQL on an embedded store, REST on a server). Writes to runs
go through ``apply`` (a batch of ops in one transaction), reads flush nothing: read-your-writes
is the client's job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from modelyard.store.artifacts.base import StoredFile
from modelyard.tracking.entities import (
    ArtifactInfo,
    Experiment,
    Metric,
    MetricHistoryPage,
    Run,
    RunsPage,
    ViewType,
)
from modelyard.tracking.ops import Op

HISTORY_PAGE_DEFAULT = 10_000  # points in one page of a metric's history, unless asked
HISTORY_PAGE_MAX = 25_000  # the most one page may hold: one answer stays under about 1 MiB


class TrackingStore(ABC):
    """Metadata of experiments and runs."""

    # experiments
    @abstractmethod
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> str:
        """A new experiment in ``project`` (None: the caller's only project, else default)."""

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abstractmethod
    def search_experiments(
        self,
        view: ViewType = ViewType.ACTIVE,
        name_like: str | None = None,
        max_results: int = 1000,
    ) -> list[Experiment]: ...

    @abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    @abstractmethod
    def delete_experiment(self, experiment_id: str) -> None: ...

    @abstractmethod
    def restore_experiment(self, experiment_id: str) -> None: ...

    @abstractmethod
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...

    # runs
    @abstractmethod
    def apply(self, ops: Sequence[Op]) -> None:
        """Apply run writes atomically: all of them or none."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    def check_runs(self, run_ids: Sequence[str]) -> None:
        """NotFound for the first of ``run_ids`` that is missing or hidden from the caller
        (a store may answer with one read)."""
        for run_id in run_ids:
            self.get_run(run_id)

    @abstractmethod
    def get_metric_history_page(
        self,
        run_id: str,
        key: str,
        max_results: int = HISTORY_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> MetricHistoryPage:
        """One page of the points of ``key``, in step then timestamp order."""

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every point of ``key``: the pages followed to the end."""
        out: list[Metric] = []
        token: str | None = None
        while True:
            page = self.get_metric_history_page(run_id, key, HISTORY_PAGE_MAX, token)
            out.extend(page.metrics)
            token = page.next_page_token
            if token is None:
                return out

    @abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        view: ViewType = ViewType.ACTIVE,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> RunsPage: ...

    @abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class RunArtifacts(ABC):
    """Artifact files of runs: streamed in, streamed out, catalogued with size and sha256."""

    @abstractmethod
    def upload(
        self,
        run_id: str,
        path: str,
        chunks: Iterator[bytes] | Sequence[bytes],
        *,
        size_hint: int | None = None,
    ) -> StoredFile: ...

    @abstractmethod
    def upload_file(
        self,
        run_id: str,
        path: str,
        local_path: Path,
        progress: Callable[[int], None] | None = None,
    ) -> StoredFile: ...

    @abstractmethod
    def download_stream(self, run_id: str, path: str) -> Iterator[bytes]: ...

    @abstractmethod
    def list(self, run_id: str, path: str = "") -> list[ArtifactInfo]: ...

    @abstractmethod
    def stat(self, run_id: str, path: str) -> ArtifactInfo: ...
