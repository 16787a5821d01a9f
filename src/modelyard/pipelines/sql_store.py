"""The pipelines store on a database: one SQL part per feature, composed."""

from __future__ import annotations

from modelyard.pipelines.sql_defs import SqlPipelineDefs
from modelyard.pipelines.sql_runs import SqlPipelineRuns
from modelyard.pipelines.sql_steps import SqlPipelineSteps, SqlStepCache
from modelyard.pipelines.store import PipelineStore
from modelyard.store.database import Database


def sql_pipeline_store(db: Database) -> PipelineStore:
    return PipelineStore(
        SqlPipelineDefs(db), SqlPipelineRuns(db), SqlPipelineSteps(db), SqlStepCache(db)
    )
