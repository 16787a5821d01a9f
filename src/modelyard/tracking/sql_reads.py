"""Reading runs from SQL: whole runs in four queries however many, and metric history.

Never one query per run, never one Python row per value: the run ids travel as one bound
parameter and each run's params, tags and metrics arrive folded into one JSON object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.store.sql import in_ids
from modelyard.tracking.entities import Metric, Run, RunData, RunInfo, decode_float
from modelyard.tracking.tables import latest_metrics, metrics, params, runs, tags

_RUN_COLUMNS = (
    runs.c.run_uuid,
    runs.c.name,
    runs.c.experiment_id,
    runs.c.user_id,
    runs.c.status,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.lifecycle_stage,
    runs.c.artifact_uri,
    runs.c.parent_run_id,
)


def _json_object(dialect: str, key: Any, value: Any) -> Any:
    """Aggregate (key, value) rows into one JSON object per group, as text."""
    if dialect == "postgresql":
        return sa.cast(sa.func.json_object_agg(key, value), sa.Text)
    return sa.func.json_group_object(key, value)


def _metric_json_value(lm: Any, dialect: str) -> Any:
    """A metric value as JSON: NaN and infinities (which JSON lacks) become the strings
    decode_float reads back. PostgreSQL needs every branch of the CASE to be one type, json."""
    if dialect == "postgresql":

        def wrap(x: Any) -> Any:
            return sa.func.to_json(x)
    else:

        def wrap(x: Any) -> Any:
            return x

    return sa.case(
        (lm.is_nan, wrap(sa.literal("NaN", sa.Text))),
        (lm.value == sa.literal(math.inf, sa.Double), wrap(sa.literal("Infinity", sa.Text))),
        (lm.value == sa.literal(-math.inf, sa.Double), wrap(sa.literal("-Infinity", sa.Text))),
        else_=wrap(lm.value),
    )


def _aggregated(
    conn: Connection, table: sa.Table, value: Any, ids: list[str], dialect: str
) -> dict[str, dict[str, Any]]:
    c = table.c
    rows = conn.execute(
        sa.select(c.run_uuid, _json_object(dialect, c.key, value))
        .where(in_ids(c.run_uuid, ids, dialect))
        .group_by(c.run_uuid)
    ).all()
    loads = orjson.loads
    return {rid: loads(obj) for rid, obj in rows}


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """Runs with params, tags and latest metrics, in the order of ``run_ids``.

    Four queries whatever the number of runs: the id list is one bound parameter, and the
    database folds each run's params, tags and metrics into one JSON object, so Python
    handles one row per run and table, not one per value.
    """
    if not run_ids:
        return []
    ids = list(run_ids)
    dialect = conn.dialect.name
    infos: dict[str, RunInfo] = {}
    for rid, name, eid, user, status, start, end, stage, uri, parent in conn.execute(
        sa.select(*_RUN_COLUMNS).where(in_ids(runs.c.run_uuid, ids, dialect))
    ).all():
        infos[rid] = RunInfo(rid, name, str(eid), user, status, start, end, stage, uri, parent)
    lm = latest_metrics.c
    metrics_of = _aggregated(conn, latest_metrics, _metric_json_value(lm, dialect), ids, dialect)
    params_of = _aggregated(conn, params, params.c.value, ids, dialect)
    tags_of = _aggregated(conn, tags, tags.c.value, ids, dialect)
    out = []
    empty: dict[str, Any] = {}
    for rid in ids:
        info = infos.get(rid)
        if info is None:
            continue
        raw_metrics = metrics_of.get(rid, empty)
        metrics = {k: v if type(v) is float else decode_float(v) for k, v in raw_metrics.items()}
        out.append(Run(info, RunData(metrics, params_of.get(rid, {}), tags_of.get(rid, {}))))
    return out


def metric_history(
    conn: Connection, run_id: str, key: str, *, limit: int, offset: int = 0
) -> list[Metric]:
    """Up to ``limit`` points of one metric from ``offset``, in the primary key's order (step,
    timestamp, value), so pages never overlap or skip a point."""
    m = metrics.c
    rows = conn.execute(
        sa.select(m.key, m.value, m.timestamp, m.step, m.is_nan)
        .where(m.run_uuid == run_id, m.key == key)
        .order_by(m.step, m.timestamp, m.value, m.is_nan)
        .limit(limit)
        .offset(offset)
    )
    return [Metric(k, math.nan if isnan else v, ts, step) for k, v, ts, step, isnan in rows]
