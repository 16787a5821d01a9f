"""Tracking entities: plain, immutable values shared by the stores, the SDK and the HTTP API.

They hold data only; every rule about them lives in ``validation`` and the stores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class RunStatus(str, Enum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(str, Enum):
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(str, Enum):
    ACTIVE = "active"
    DELETED = "deleted"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": encode_float(self.value),
            "timestamp": self.timestamp,
            "step": self.step,
        }


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)
    project: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "project": self.project,
            "name": self.name,
            "artifact_location": self.artifact_location,
            "lifecycle_stage": self.lifecycle_stage,
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Experiment:
        return cls(
            experiment_id=str(d["experiment_id"]),
            name=d["name"],
            artifact_location=d["artifact_location"],
            lifecycle_stage=d["lifecycle_stage"],
            creation_time=int(d["creation_time"]),
            last_update_time=int(d["last_update_time"]),
            tags=dict(d.get("tags") or {}),
            project=str(d.get("project") or "default"),
        )


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    run_name: str
    experiment_id: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    parent_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunData:
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Run:
    info: RunInfo
    data: RunData

    def to_dict(self) -> dict[str, Any]:
        i = self.info
        return {
            "info": {
                "run_id": i.run_id,
                "run_name": i.run_name,
                "experiment_id": i.experiment_id,
                "user_id": i.user_id,
                "status": i.status,
                "start_time": i.start_time,
                "end_time": i.end_time,
                "lifecycle_stage": i.lifecycle_stage,
                "artifact_uri": i.artifact_uri,
                "parent_run_id": i.parent_run_id,
            },
            "data": {
                "metrics": {k: encode_float(v) for k, v in self.data.metrics.items()},
                "params": self.data.params,
                "tags": self.data.tags,
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Run:
        i, data = d["info"], d["data"]
        return cls(
            info=RunInfo(
                run_id=i["run_id"],
                run_name=i["run_name"],
                experiment_id=str(i["experiment_id"]),
                user_id=i["user_id"],
                status=i["status"],
                start_time=int(i["start_time"]),
                end_time=None if i.get("end_time") is None else int(i["end_time"]),
                lifecycle_stage=i["lifecycle_stage"],
                artifact_uri=i["artifact_uri"],
                parent_run_id=i.get("parent_run_id"),
            ),
            data=RunData(
                metrics={k: decode_float(v) for k, v in data.get("metrics", {}).items()},
                params=dict(data.get("params", {})),
                tags=dict(data.get("tags", {})),
            ),
        )


# The compact wire form of runs in search responses: one array per run, attributes in this
# order, then params, tags and metrics objects. No key is repeated 10,000 times.
RUN_ROW_COLUMNS = (
    "run_id",
    "run_name",
    "experiment_id",
    "user_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
    "artifact_uri",
    "parent_run_id",
    "params",
    "tags",
    "metrics",
)


def run_to_row(run: Run) -> list[Any]:
    i, d = run.info, run.data
    metrics = d.metrics
    for v in metrics.values():
        if not math.isfinite(v):
            metrics = {k: encode_float(x) for k, x in metrics.items()}  # type: ignore[misc]
            break
    return [
        i.run_id,
        i.run_name,
        i.experiment_id,
        i.user_id,
        i.status,
        i.start_time,
        i.end_time,
        i.lifecycle_stage,
        i.artifact_uri,
        i.parent_run_id,
        d.params,
        d.tags,
        metrics,
    ]


def run_from_row(row: list[Any]) -> Run:
    (run_id, name, eid, user, status, start, end, stage, uri, parent, params, tags, metrics) = row
    for v in metrics.values():
        if type(v) is not float:
            metrics = {k: decode_float(x) for k, x in metrics.items()}
            break
    return Run(
        RunInfo(run_id, name, str(eid), user, status, start, end, stage, uri, parent),
        RunData(metrics, params, tags),
    )


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    path: str
    is_dir: bool
    size: int | None = None
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "is_dir": self.is_dir, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class RunsPage:
    runs: list[Run]
    next_page_token: str | None


@dataclass(frozen=True)
class MetricHistoryPage:
    """One page of a metric's points, in step then timestamp order."""

    metrics: list[Metric]
    next_page_token: str | None


# JSON has no NaN or infinities: they travel as the strings "NaN", "Infinity", "-Infinity".
_SPECIAL = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def encode_float(v: float) -> float | str:
    if math.isfinite(v):
        return v
    if math.isnan(v):
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


def decode_float(v: Any) -> float:
    if isinstance(v, str):
        return _SPECIAL[v]
    return float(v)
