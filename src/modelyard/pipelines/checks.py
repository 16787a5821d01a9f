"""Checks of the records a runner hands the store (over HTTP, any client's): each field's
type, length and allowed values, so what is stored is what the pipelines domain writes."""

from __future__ import annotations

import re
from typing import Any

import orjson

from modelyard.errors import InvalidArgument
from modelyard.pipelines.entities import STEP_STATES, OutputRef, StepRecord

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
    return ref


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
