"""A pipeline's webhook: a run queued for the servers that hold its code, on a call (HTTP
``POST /api/v1/pipelines/{name}/trigger``, ``modelyard pipelines trigger``). A ``key`` makes
the call idempotent: the same key, the same run."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from modelyard.errors import Conflict, InvalidArgument, NotFound
from modelyard.identity import current_actor
from modelyard.pipelines.entities import RunRecord
from modelyard.pipelines.firing import queued
from modelyard.pipelines.sql_queue import SqlPipelineQueue, event_run_id
from modelyard.pipelines.store import PipelineStore
from modelyard.pipelines.values import encode
from modelyard.platform.ids import new_run_id, now_ms
from modelyard.platform.scope import require_in

MAX_KEY = 128


def check_call(params: Any, key: Any) -> None:
    if not isinstance(params, dict):
        raise InvalidArgument("params must be an object of parameter values", field="params")
    if key is not None and (not isinstance(key, str) or not 0 < len(key) <= MAX_KEY):
        raise InvalidArgument(f"key must be text of 1 to {MAX_KEY} characters", field="key")


def queue_webhook_run(
    queue: SqlPipelineQueue,
    store: PipelineStore,
    name: str,
    params: Any,
    key: Any,
    code: Any = None,  # the pipeline's code, where this process holds it
) -> tuple[RunRecord, bool]:
    """(the run, whether this call made it)."""
    check_call(params, key)
    info = store.defs.get(name)
    require_in("pipeline.run", info.project, NotFound(f"no pipeline {name!r}", field="pipeline"))
    declared = info.triggers if code is None else code.info().triggers  # the code wins
    if not any(t.get("kind") == "webhook" for t in declared):
        raise Conflict(
            f"pipeline {name!r} has no webhook trigger (declare triggers=[yard.on_webhook()])",
            field="pipeline",
        )
    if code is not None:  # parameters its code does not take are refused now, not at run
        code.bind((), params)
    doc = encode(params, where="params", lenient=False)
    if doc.blobs:
        raise InvalidArgument("params must be small JSON values", field="params")
    run_id = event_run_id(name, "webhook", key) if key is not None else new_run_id()
    actor = current_actor().name
    made = queued(info, run_id, f"webhook called by {actor}"[:512], now_ms())
    found, new = queue.enqueue(info, replace(made, params=doc.doc, created_by=actor))
    if not new and found.params != doc.doc:
        raise Conflict(
            f"key {key!r} was used for run {found.run_id} with other parameters; use a new key",
            field="key",
        )
    return found, new
