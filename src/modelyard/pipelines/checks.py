"""Checks of the records a runner hands the store (over HTTP, any client's): each field's
type, length and allowed values, so what is stored is what the pipelines domain writes."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from modelyard.errors import InvalidArgument
from modelyard.pipelines.entities import (
    QUEUED,
    RUNNING,
    STEP_STATES,
    CacheEntry,
    OutputRef,
    RunRecord,
    StepRecord,
)

MAX_LOGS = 2_000_000  # characters of a step's log (the capture keeps 1,000,000 and headers)
MAX_ERROR = 200_000
MAX_DOC = 4_000_000  # bytes of an output's JSON document
SHA = re.compile(r"[0-9a-f]{64}")
_RUN_ID = re.compile(r"[0-9a-f]{32}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}(-[0-9]{1,9})?")


def _fail(field: str, expected: str, got: Any) -> InvalidArgument:
    return InvalidArgument(f"{field} must be {expected}, got {str(got)[:60]!r}", field=field)


def check_output(ref: Any, field: str) -> OutputRef | None:
    if ref is None:
        return None
    if not isinstance(ref, OutputRef):
        raise _fail(field, "an output reference", type(ref).__name__)
    if not SHA.fullmatch(ref.digest) or not all(SHA.fullmatch(b) for b in ref.blobs):
        raise _fail(f"{field}.digest", "sha256 digests", ref.digest)
    if len(orjson.dumps(ref.doc)) > MAX_DOC:
        raise InvalidArgument(f"{field}.doc is over {MAX_DOC} bytes", field=f"{field}.doc")
    if not digest_matches(ref):
        raise InvalidArgument(
            f"{field}.digest is not the sha256 of its document", field=f"{field}.digest"
        )
    return ref


def digest_matches(ref: OutputRef) -> bool:
    """Whether the output's digest is that of its document (which names its blobs by their
    sha256): an inline value changed, or a record forged, does not match."""
    text = orjson.dumps(ref.doc, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest() == ref.digest


def _opt_int(value: Any, field: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise _fail(field, "a non-negative integer or null", value)


def check_step(step: StepRecord, run_id: str) -> StepRecord:
    where = f"steps[{step.key!r}]"
    if step.run_id != run_id:
        raise _fail(f"{where}.run_id", f"the run's id {run_id}", step.run_id)
    if not isinstance(step.key, str) or not _KEY.fullmatch(step.key):
        raise _fail(f"{where}.key", "a step name, or one with -N", step.key)
    if not isinstance(step.name, str) or not step.key.startswith(step.name):
        raise _fail(f"{where}.name", "the start of its key", step.name)
    if step.status not in STEP_STATES:
        raise _fail(f"{where}.status", f"one of {', '.join(STEP_STATES)}", step.status)
    for name in ("tracked_run_id", "cached_from"):
        value = getattr(step, name)
        if value is not None and (not isinstance(value, str) or not _RUN_ID.fullmatch(value)):
            raise _fail(f"{where}.{name}", "a run id (32 hex digits) or null", value)
    if step.cache_key is not None and not SHA.fullmatch(str(step.cache_key)):
        raise _fail(f"{where}.cache_key", "a sha256 or null", step.cache_key)
    for name in ("attempts", "start_time", "end_time"):
        _opt_int(getattr(step, name), f"{where}.{name}")
    if not isinstance(step.logs, str) or len(step.logs) > MAX_LOGS:
        raise _fail(f"{where}.logs", f"text up to {MAX_LOGS} characters", type(step.logs))
    if step.error is not None and (not isinstance(step.error, str) or len(step.error) > MAX_ERROR):
        raise _fail(f"{where}.error", f"text up to {MAX_ERROR} characters or null", "...")
    if not all(isinstance(k, str) and _KEY.fullmatch(k) for k in step.upstream):
        raise _fail(f"{where}.upstream", "step keys", step.upstream)
    check_output(step.output, f"{where}.output")
    return step


MAX_PARAMS = 1_000_000  # bytes of a run's parameters document
EXECUTOR_NAMES = ("local", "ray")


def check_run_id(value: Any, field: str = "run_id") -> str:
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise _fail(field, "a run id (32 hex digits)", value)
    return value


def check_new_run(record: RunRecord) -> RunRecord:
    """A run a client records: RUNNING (it runs it) or QUEUED (for a server)."""
    check_run_id(record.run_id)
    if record.status not in (RUNNING, QUEUED):
        raise _fail("status", "RUNNING or QUEUED", record.status)
    if len(orjson.dumps(record.params)) > MAX_PARAMS:
        raise InvalidArgument(f"params are over {MAX_PARAMS} bytes", field="params")
    if not isinstance(record.trigger, str) or not 0 < len(record.trigger) <= 512:
        raise _fail("trigger", "text of 1 to 512 characters", record.trigger)
    if record.executor not in EXECUTOR_NAMES:
        raise _fail("executor", " or ".join(EXECUTOR_NAMES), record.executor)
    for name in ("tracked_run_id", "retry_of"):
        value = getattr(record, name)
        if value is not None:
            check_run_id(value, name)
    _opt_int(record.start_time, "start_time")
    _opt_int(record.queued_time, "queued_time")
    for name in ("pipeline", "executor", "trigger"):
        if "\x00" in str(getattr(record, name)):
            raise _fail(name, "text without NUL characters", "\\x00")
    return record


def check_cache_entry(entry: CacheEntry) -> CacheEntry:
    check_output(entry.output, "output")
    if not isinstance(entry.key, str) or not SHA.fullmatch(entry.key):
        raise _fail("key", "a sha256", entry.key)
    check_run_id(entry.run_id)
    if not isinstance(entry.step, str) or not _KEY.fullmatch(entry.step):
        raise _fail("step", "a step name", entry.step)
    if not isinstance(entry.step_key, str) or not _KEY.fullmatch(entry.step_key):
        raise _fail("step_key", "a step key", entry.step_key)
    if isinstance(entry.created_time, bool) or not isinstance(entry.created_time, int):
        raise _fail("created_time", "epoch milliseconds", entry.created_time)
    _opt_int(entry.created_time, "created_time")
    _opt_int(entry.expires_time, "expires_time")
    return entry


def check_run_changes(changes: dict[str, Any]) -> dict[str, Any]:
    for name in ("start_time", "end_time", "heartbeat"):
        if name in changes:
            _opt_int(changes[name], name)
    if changes.get("tracked_run_id") is not None:
        check_run_id(changes["tracked_run_id"], "tracked_run_id")
    error = changes.get("error")
    if error is not None and (not isinstance(error, str) or len(error) > MAX_ERROR):
        raise _fail("error", f"text up to {MAX_ERROR} characters or null", "...")
    if "result" in changes:
        check_output(changes["result"], "result")
    owner = changes.get("owner")
    if owner is not None and (not isinstance(owner, str) or len(owner) > 128):
        raise _fail("owner", "text up to 128 characters", owner)
    return changes
