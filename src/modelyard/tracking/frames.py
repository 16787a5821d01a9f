"""Runs as a pandas DataFrame, one row per run: attributes, then metrics.*, params.*, tags.*.

Built column-wise from plain lists (no per-row DataFrame appends), so 10,000 runs convert in
milliseconds. pandas is imported here only, never at ``import modelyard``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.tracking.entities import Run

ATTRIBUTE_COLUMNS = (
    "run_id",
    "run_name",
    "experiment_id",
    "status",
    "user_id",
    "start_time",
    "end_time",
    "artifact_uri",
    "lifecycle_stage",
    "parent_run_id",
)


def runs_to_frame(runs: Sequence[Run]) -> Any:
    import pandas as pd

    n = len(runs)
    cols: dict[str, list[Any]] = {c: [None] * n for c in ATTRIBUTE_COLUMNS}
    extra: dict[str, list[Any]] = {}
    for i, run in enumerate(runs):
        info = run.info
        cols["run_id"][i] = info.run_id
        cols["run_name"][i] = info.run_name
        cols["experiment_id"][i] = info.experiment_id
        cols["status"][i] = info.status
        cols["user_id"][i] = info.user_id
        cols["start_time"][i] = info.start_time
        cols["end_time"][i] = info.end_time
        cols["artifact_uri"][i] = info.artifact_uri
        cols["lifecycle_stage"][i] = info.lifecycle_stage
        cols["parent_run_id"][i] = info.parent_run_id
        for prefix, values in (
            ("metrics.", run.data.metrics),
            ("params.", run.data.params),
            ("tags.", run.data.tags),
        ):
            for k, v in values.items():
                col = extra.get(prefix + k)
                if col is None:
                    col = extra[prefix + k] = [None] * n
                col[i] = v
    frame = pd.DataFrame(cols)
    for c in ("start_time", "end_time"):
        frame[c] = pd.to_datetime(frame[c], unit="ms", utc=True)
    ordered = sorted(
        extra, key=lambda c: (not c.startswith("metrics."), not c.startswith("params."), c)
    )
    if ordered:
        frame = pd.concat([frame, pd.DataFrame({c: extra[c] for c in ordered})], axis=1)
    for c in ordered:
        if c.startswith("metrics."):
            frame[c] = frame[c].astype("float64")
    return frame
