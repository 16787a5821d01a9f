"""The contract of the pipelines store: SQL (embedded, and what the server runs) and REST.

One small interface per feature, composed by ``PipelineStore``: the pipelines known, their
runs, the steps of a run, and the step cache."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from modelyard.pipelines.entities import CacheEntry, PipelineInfo, RunRecord, StepRecord

RUNS_PAGE_DEFAULT = 100
RUNS_PAGE_MAX = 1_000
# per step key, the dataset versions (name, version) it was given
DatasetInputs = Mapping[str, Sequence[tuple[str, int]]]


class PipelineDefs(ABC):
    @abstractmethod
    def save(self, info: PipelineInfo, project: str | None = None) -> PipelineInfo:
        """Record a pipeline (its code's digest, schedule and triggers); the same pipeline
        saved again changes nothing, a changed schedule is fired from its next time."""

    @abstractmethod
    def get(self, name: str) -> PipelineInfo:
        """The pipeline, or NotFound."""

    @abstractmethod
    def list(self) -> list[PipelineInfo]:
        """Every pipeline the caller may read, by name."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Forget a pipeline (its runs stay; refused while one of them is active)."""


class PipelineRuns(ABC):
    @abstractmethod
    def create(self, record: RunRecord) -> RunRecord:
        """Record a new run (RUNNING when the caller runs it now, QUEUED for a server)."""

    @abstractmethod
    def update(self, run_id: str, **changes: Any) -> RunRecord:
        """Change a run's status, times, error, result or tracked run."""

    @abstractmethod
    def get(self, run_id: str) -> RunRecord:
        """The run, or NotFound."""

    @abstractmethod
    def page(
        self,
        *,
        pipeline: str | None = None,
        status: str | None = None,
        limit: int = RUNS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[RunRecord], str | None]:
        """One page of runs, newest first, and the token of the next page."""

    @abstractmethod
    def cancel(self, run_id: str) -> RunRecord:
        """Ask a run to stop: a queued run is cancelled at once, a running one is CANCELLING
        until its runner stops it. A finished run is refused (Conflict)."""


class PipelineSteps(ABC):
    @abstractmethod
    def record(
        self, run_id: str, steps: Sequence[tuple[int, StepRecord]], datasets: DatasetInputs
    ) -> None:
        """Write (or replace) step records of a run (``(seq, record)``: the order the calls
        were made), with the lineage edges they add: from the runs of the steps each took
        outputs from, and from the dataset versions it was given."""

    @abstractmethod
    def list(self, run_id: str) -> list[StepRecord]:
        """A run's steps in the order they were called."""


class StepCache(ABC):
    @abstractmethod
    def get(self, key: str, project: str) -> CacheEntry | None:
        """The entry of ``key`` in ``project``, unless missing or expired."""

    def of_step(self, step: str, project: str, limit: int) -> Mapping[str, CacheEntry] | None:
        """Every unexpired entry of ``step`` in ``project`` by key, read at once (a run asks
        for its steps' keys one after another); None when there are more than ``limit``, or
        when the store answers keys one by one only."""
        return None

    @abstractmethod
    def put(self, entries: Sequence[CacheEntry]) -> None:
        """Record entries (a key stored again takes the newer output)."""

    @abstractmethod
    def clear(self, *, step: str | None = None, key: str | None = None) -> int:
        """Forget entries of one step, one key, or (neither) every entry the caller may
        change; returns how many."""


class PipelineStore:
    def __init__(
        self, defs: PipelineDefs, runs: PipelineRuns, steps: PipelineSteps, cache: StepCache
    ) -> None:
        self.defs = defs
        self.runs = runs
        self.steps = steps
        self.cache = cache
