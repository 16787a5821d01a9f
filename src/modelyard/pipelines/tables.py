"""SQL tables of pipelines: the pipelines known (with their schedule and triggers), their runs
(a queue for the server: QUEUED rows are claimed by compare-and-set), the steps of each run,
the cache (a step's key -> the output it stored), and where each trigger of a pipeline has
read its events up to."""

from __future__ import annotations

import sqlalchemy as sa

from modelyard.store.metadata import metadata

pipelines = sa.Table(
    "pipelines",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),
    sa.Column("entrypoint", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("schedule", sa.String(256), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("triggers", sa.Text, nullable=False),  # JSON list
    sa.Column("catchup", sa.String(16), nullable=False),
    sa.Column("max_active", sa.Integer, nullable=False),
    sa.Column("code_digest", sa.String(64), nullable=False),
    sa.Column("next_fire", sa.BigInteger, nullable=True),  # epoch ms; claimed by compare-and-set
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("updated_time", sa.BigInteger, nullable=False),
    sa.Index("ix_pipelines_project", "project"),
    sa.Index("ix_pipelines_next_fire", "next_fire"),
)

pipeline_runs = sa.Table(
    "pipeline_runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("pipeline", sa.String(128), nullable=False),
    sa.Column("project", sa.String(64), nullable=False, server_default="default"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON document (values.encode)
    sa.Column("trigger", sa.String(512), nullable=False),
    sa.Column("executor", sa.String(32), nullable=False),
    sa.Column("tracked_run_id", sa.String(32), nullable=True),
    sa.Column("queued_time", sa.BigInteger, nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=True),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("retry_of", sa.String(32), nullable=True),
    sa.Column("result", sa.Text, nullable=True),  # JSON OutputRef
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("owner", sa.String(128), nullable=True),  # who runs it (a server's worker)
    sa.Column("heartbeat", sa.BigInteger, nullable=True),
    sa.Column("created_by", sa.String(256), nullable=True),
    sa.Index("ix_pipeline_runs_pipeline_time", "pipeline", "queued_time"),
    sa.Index("ix_pipeline_runs_status", "status"),
    sa.Index("ix_pipeline_runs_project", "project"),
)

pipeline_steps = sa.Table(
    "pipeline_steps",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("step_key", sa.String(160), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("tracked_run_id", sa.String(32), nullable=True),
    sa.Column("cache_key", sa.String(64), nullable=True),
    sa.Column("cached_from", sa.String(32), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("start_time", sa.BigInteger, nullable=True),
    sa.Column("end_time", sa.BigInteger, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("output", sa.Text, nullable=True),  # JSON OutputRef
    sa.Column("logs", sa.Text, nullable=False),
    sa.Column("upstream", sa.Text, nullable=False),  # JSON list of step keys
    sa.Column("seq", sa.Integer, nullable=False),  # the order the calls were made
)

pipeline_cache = sa.Table(
    "pipeline_cache",
    metadata,
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("project", sa.String(64), primary_key=True),
    sa.Column("step", sa.String(128), nullable=False),
    sa.Column("output", sa.Text, nullable=False),  # JSON OutputRef
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("step_key", sa.String(160), nullable=False),
    sa.Column("created_time", sa.BigInteger, nullable=False),
    sa.Column("expires_time", sa.BigInteger, nullable=True),
    sa.Index("ix_pipeline_cache_step", "step"),
)

pipeline_triggers = sa.Table(
    "pipeline_triggers",
    metadata,
    sa.Column("pipeline", sa.String(128), primary_key=True),
    sa.Column("trigger_key", sa.String(400), primary_key=True),  # Trigger.describe()
    sa.Column("since", sa.BigInteger, nullable=False),  # epoch ms: events before do not fire
    sa.Column("cursor", sa.BigInteger, nullable=False),  # epoch ms: events read up to
    sa.Column("updated_time", sa.BigInteger, nullable=False),
)
