"""modelyard: the whole production life of a model in one package.

This module only re-exports the public API; nothing here runs at import. ``Client`` covers
tracking and the model registry. ``modelyard.data`` and ``modelyard.models`` (Arrow, pandas,
DuckDB, ML frameworks underneath) load on first use of ``yard.data`` / ``yard.models``, so
tracking alone stays light to import.
"""

from typing import Any

from modelyard._version import __version__
from modelyard.client import Client
from modelyard.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    ModelyardError,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from modelyard.tracking.entities import Experiment, Metric, Param, Run, RunStatus, RunTag, ViewType
from modelyard.tracking.fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_tag,
    end_run,
    flush,
    get_experiment_by_name,
    get_run,
    get_tracking_uri,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)

__all__ = [
    "ActiveRun",
    "AlreadyExists",
    "Client",
    "Conflict",
    "Experiment",
    "InvalidArgument",
    "Metric",
    "ModelyardError",
    "NotFound",
    "Param",
    "PermissionDenied",
    "Run",
    "RunStatus",
    "RunTag",
    "Unavailable",
    "ViewType",
    "__version__",
    "active_run",
    "create_experiment",
    "delete_tag",
    "end_run",
    "flush",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]


# pipelines' public names, offered at the top (``@yard.step``, ``@yard.pipeline``), loaded on
# first use like the subpackages
_PIPELINE_NAMES = frozenset(
    {
        "step",
        "pipeline",
        "Model",
        "batch_predict",
        "on_dataset",
        "on_model",
        "on_alert",
        "on_webhook",
    }
)


def __getattr__(name: str) -> Any:
    import importlib

    if name in ("data", "models", "monitoring", "pipelines"):
        return importlib.import_module(f"modelyard.{name}")
    if name in _PIPELINE_NAMES:
        return getattr(importlib.import_module("modelyard.pipelines"), name)
    raise AttributeError(f"module 'modelyard' has no attribute {name!r}")
