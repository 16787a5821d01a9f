"""Write operations on runs: the unit the background writer queues, ships and spools.

Every op is idempotent when re-delivered (a create of an existing identical run, a point
already stored, a param with the same value are no-ops), which is what makes retries and
``modelyard sync`` safe. ``decode_ops`` validates untrusted input completely before returning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.platform.checks import (
    MAX_NAME,
    check_name,
    check_params,
    check_string_value,
    check_tags,
)
from modelyard.tracking.entities import Metric, decode_float, encode_float
from modelyard.tracking.validation import (
    check_metric_count,
    check_metric_value,
    check_run_id,
    check_status,
    check_step,
    check_timestamp,
)

MAX_OPS_PER_REQUEST = 100_000


@dataclass(frozen=True, slots=True)
class CreateRun:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    start_time: int
    parent_run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogBatch:
    run_id: str
    metrics: list[Metric] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)


@dataclass(frozen=True, slots=True)
class UpdateRun:
    run_id: str
    status: str | None = None
    end_time: int | None = None
    run_name: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteTag:
    run_id: str
    key: str


Op = CreateRun | LogBatch | UpdateRun | DeleteTag


def op_size(op: Op) -> int:
    return op.size if isinstance(op, LogBatch) else 1


def encode_op(op: Op) -> dict[str, Any]:
    if isinstance(op, LogBatch):
        return {
            "op": "log",
            "run_id": op.run_id,
            "metrics": [[m.key, encode_float(m.value), m.timestamp, m.step] for m in op.metrics],
            "params": op.params,
            "tags": op.tags,
        }
    if isinstance(op, CreateRun):
        return {
            "op": "create_run",
            "run_id": op.run_id,
            "experiment_id": op.experiment_id,
            "run_name": op.run_name,
            "user_id": op.user_id,
            "start_time": op.start_time,
            "parent_run_id": op.parent_run_id,
            "tags": op.tags,
        }
    if isinstance(op, UpdateRun):
        return {
            "op": "update_run",
            "run_id": op.run_id,
            "status": op.status,
            "end_time": op.end_time,
            "run_name": op.run_name,
        }
    return {"op": "delete_tag", "run_id": op.run_id, "key": op.key}


def encode_ops(ops: Sequence[Op]) -> list[dict[str, Any]]:
    return [encode_op(op) for op in ops]


def _decode_metrics(raw: Any, field: str) -> list[Metric]:
    if not isinstance(raw, list):
        raise InvalidArgument(
            f"{field} must be a list of [key, value, timestamp, step]", field=field
        )
    check_metric_count(len(raw), field)
    out: list[Metric] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        if not isinstance(item, list | tuple) or len(item) != 4:
            raise InvalidArgument(
                f"{field}[{i}] must be [key, value, timestamp, step]", field=f"{field}[{i}]"
            )
        key, value, ts, step = item
        if key not in seen:
            check_name(key, f"{field}[{i}] key")
            seen.add(key)
        if isinstance(value, str):
            if value not in ("NaN", "Infinity", "-Infinity"):
                raise InvalidArgument(
                    f"{field}[{i}] value must be a number, got {value[:40]!r}",
                    field=f"{field}[{i}]",
                )
            fvalue = decode_float(value)
        else:
            fvalue = check_metric_value(value, f"{field}[{i}] value")
        out.append(
            Metric(
                key,
                fvalue,
                check_timestamp(ts, f"{field}[{i}] timestamp"),
                check_step(step, f"{field}[{i}] step"),
            )
        )
    return out


def _opt_int(raw: Any, field: str) -> int | None:
    return None if raw is None else check_timestamp(raw, field)


def decode_op(raw: Any, index: int = 0) -> Op:
    where = f"ops[{index}]"
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{where} must be an object", field=where)
    kind = raw.get("op")
    run_id = check_run_id(raw.get("run_id"), f"{where}.run_id")
    if kind == "log":
        return LogBatch(
            run_id=run_id,
            metrics=_decode_metrics(raw.get("metrics", []), f"{where}.metrics"),
            params=check_params(raw.get("params") or {}, f"{where}.params"),
            tags=check_tags(raw.get("tags") or {}, f"{where}.tags"),
        )
    if kind == "create_run":
        parent = raw.get("parent_run_id")
        name = raw.get("run_name") or run_id[:8]
        return CreateRun(
            run_id=run_id,
            experiment_id=str(raw.get("experiment_id", "")),
            run_name=check_string_value(name, f"{where}.run_name", MAX_NAME),
            user_id=check_string_value(raw.get("user_id") or "unknown", f"{where}.user_id", 256),
            start_time=check_timestamp(raw.get("start_time"), f"{where}.start_time"),
            parent_run_id=None
            if parent is None
            else check_run_id(parent, f"{where}.parent_run_id"),
            tags=check_tags(raw.get("tags") or {}, f"{where}.tags"),
        )
    if kind == "update_run":
        status = raw.get("status")
        name = raw.get("run_name")
        return UpdateRun(
            run_id=run_id,
            status=None if status is None else check_status(status, f"{where}.status"),
            end_time=_opt_int(raw.get("end_time"), f"{where}.end_time"),
            run_name=None
            if name is None
            else check_string_value(name, f"{where}.run_name", MAX_NAME),
        )
    if kind == "delete_tag":
        return DeleteTag(run_id=run_id, key=check_name(raw.get("key"), f"{where}.key"))
    raise InvalidArgument(
        f"{where}.op must be one of log, create_run, update_run, delete_tag; "
        f"got {str(kind)[:40]!r}",
        field=f"{where}.op",
    )


def decode_ops(raw: Any) -> list[Op]:
    if not isinstance(raw, list):
        raise InvalidArgument("ops must be a list", field="ops")
    if len(raw) > MAX_OPS_PER_REQUEST:
        raise InvalidArgument(
            f"ops: at most {MAX_OPS_PER_REQUEST} per request, got {len(raw)}", field="ops"
        )
    total_points = 0
    ops = []
    for i, item in enumerate(raw):
        op = decode_op(item, i)
        if isinstance(op, LogBatch):
            total_points += len(op.metrics)
            check_metric_count(total_points, "ops.metrics")
        ops.append(op)
    return ops


def merge_ops(ops: Sequence[Op]) -> list[Op]:
    """Merge consecutive log batches of one run (linear time); other ops keep their order."""
    out: list[Op] = []
    acc: LogBatch | None = None  # a private batch being grown in place
    for op in ops:
        if (
            isinstance(op, LogBatch)
            and acc is not None
            and acc.run_id == op.run_id
            and not (op.params.keys() & acc.params.keys())
        ):
            acc.metrics.extend(op.metrics)
            acc.params.update(op.params)
            acc.tags.update(op.tags)
            continue
        if isinstance(op, LogBatch):
            acc = LogBatch(op.run_id, list(op.metrics), dict(op.params), dict(op.tags))
            out.append(acc)
        else:
            acc = None
            out.append(op)
    return out
