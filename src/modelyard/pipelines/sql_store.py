"""The pipelines store on a database: one SQL part per feature, composed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from modelyard.pipelines.sql_defs import SqlPipelineDefs
from modelyard.pipelines.sql_runs import SqlPipelineRuns
from modelyard.pipelines.sql_steps import SqlPipelineSteps, SqlStepCache
from modelyard.pipelines.store import PipelineStore
from modelyard.store.database import Database


def sql_pipeline_store(
    db: Database,
    runs_visible: Callable[[Sequence[str]], None],
    dataset_version_id: Callable[[str, int], str],
) -> PipelineStore:
    """``runs_visible`` and ``dataset_version_id``: the tracking and data stores' reads (each
    raises NotFound for what the caller may not see), for the lineage edges of steps."""
    return PipelineStore(
        SqlPipelineDefs(db),
        SqlPipelineRuns(db),
        SqlPipelineSteps(db, runs_visible, dataset_version_id),
        SqlStepCache(db),
    )
