"""What the pipelines domain records: pipelines, their runs, the steps of a run and the cache.

Plain dataclasses; the store turns rows into these and the HTTP layer into JSON with
``to_dict``. A step's or run's output is an ``OutputRef``: small JSON values inline, anything
larger (DataFrames, arrays, files, models) content-addressed blobs named in ``blobs``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

QUEUED = "QUEUED"
RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLING = "CANCELLING"
CANCELLED = "CANCELLED"
SKIPPED = "SKIPPED"  # a step whose input failed or was cancelled
CACHED = "CACHED"  # a step answered from the cache (or an earlier run, on retry)

RUN_STATES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLING, CANCELLED)
STEP_STATES = (RUNNING, COMPLETED, CACHED, FAILED, SKIPPED, CANCELLED)
FINISHED_RUN = frozenset({COMPLETED, FAILED, CANCELLED})


@dataclass(frozen=True)
class OutputRef:
    """A stored value: ``doc`` is the value's JSON document (blobs referenced by sha256),
    ``blobs`` every blob it references, ``digest`` the sha256 of the whole (the cache's input
    hash of whoever consumes it)."""

    doc: Any
    blobs: tuple[str, ...]
    digest: str
    size: int  # bytes of the document and its blobs

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "blobs": list(self.blobs),
            "digest": self.digest,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OutputRef:
        return cls(d["doc"], tuple(d.get("blobs", ())), str(d["digest"]), int(d.get("size", 0)))


@dataclass(frozen=True)
class PipelineInfo:
    name: str
    project: str
    entrypoint: str  # module:qualname or file.py:qualname, as the decorator saw it
    description: str | None = None
    schedule: str | None = None
    timezone: str = "UTC"
    triggers: list[dict[str, Any]] = field(default_factory=list)
    catchup: str = "latest"
    max_active: int = 1
    code_digest: str = ""
    created_time: int = 0
    updated_time: int = 0
    next_fire: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineInfo:
        return cls(**{k: v for k, v in d.items() if k in _INFO_FIELDS})


_INFO_FIELDS = {f.name for f in dataclasses.fields(PipelineInfo)}


@dataclass(frozen=True)
class StepRecord:
    run_id: str
    key: str  # the call's name in its run: "train", "train-2", ...
    name: str  # the step's name
    status: str
    tracked_run_id: str | None = None
    cache_key: str | None = None
    cached_from: str | None = None  # the run whose output was reused
    attempts: int = 0
    start_time: int | None = None
    end_time: int | None = None
    error: str | None = None  # the last attempt's error, with its traceback
    output: OutputRef | None = None
    logs: str = ""
    upstream: tuple[str, ...] = ()  # keys of the steps whose outputs it took

    @property
    def cached(self) -> bool:
        return self.status == CACHED

    @property
    def duration_ms(self) -> int | None:
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["output"] = self.output.to_dict() if self.output else None
        d["upstream"] = list(self.upstream)
        d["cached"] = self.cached
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepRecord:
        d = {k: v for k, v in d.items() if k in _STEP_FIELDS}
        d["output"] = OutputRef.from_dict(d["output"]) if d.get("output") else None
        d["upstream"] = tuple(d.get("upstream") or ())
        return cls(**d)


_STEP_FIELDS = {f.name for f in dataclasses.fields(StepRecord)}


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    pipeline: str
    project: str
    status: str
    params: dict[str, Any]
    trigger: str = "manual"
    tracked_run_id: str | None = None
    queued_time: int = 0
    start_time: int | None = None
    end_time: int | None = None
    error: str | None = None
    retry_of: str | None = None
    created_by: str | None = None
    executor: str = "local"
    result: OutputRef | None = None
    cancel_requested: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["result"] = self.result.to_dict() if self.result else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        d = {k: v for k, v in d.items() if k in _RUN_FIELDS}
        d["result"] = OutputRef.from_dict(d["result"]) if d.get("result") else None
        return cls(**d)


_RUN_FIELDS = {f.name for f in dataclasses.fields(RunRecord)}


@dataclass(frozen=True)
class CacheEntry:
    key: str
    step: str
    project: str
    output: OutputRef
    run_id: str
    step_key: str
    created_time: int
    expires_time: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["output"] = self.output.to_dict()
        return d

    def expired(self, now: int) -> bool:
        return self.expires_time is not None and self.expires_time <= now

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CacheEntry:
        d = {k: v for k, v in d.items() if k in _CACHE_FIELDS}
        d["output"] = OutputRef.from_dict(d["output"])
        return cls(**d)


_CACHE_FIELDS = {f.name for f in dataclasses.fields(CacheEntry)}
