"""modelyard.pipelines: steps and pipelines as plain Python, cached, on threads, processes or
Ray, run on schedules and triggers by ``modelyard server``.

Only re-exports the public API, loaded on first use (PEP 562)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard.lazy import lazy_exports

_EXPORTS = {
    "step": "decorators",
    "pipeline": "decorators",
    "Step": "steps",
    "Pipeline": "decorators",
    "PipelineRun": "handle",
    "PipelineFailed": "handle",
    "StepFuture": "futures",
    "StepFailed": "futures",
    "StepRecord": "entities",
    "RunRecord": "entities",
    "Model": "values",
    "UnserialisableOutput": "values",
    "on_dataset": "triggers",
    "on_model": "triggers",
    "on_alert": "triggers",
    "on_webhook": "triggers",
    "PipelinesClient": "client",
    "batch_predict": "scoring.builtin",
}

__all__ = [
    "Model",
    "Pipeline",
    "PipelineFailed",
    "PipelineRun",
    "PipelinesClient",
    "RunRecord",
    "Step",
    "StepFailed",
    "StepFuture",
    "StepRecord",
    "UnserialisableOutput",
    "batch_predict",
    "on_alert",
    "on_dataset",
    "on_model",
    "on_webhook",
    "pipeline",
    "step",
]

__getattr__ = lazy_exports("modelyard.pipelines", _EXPORTS, globals())

if TYPE_CHECKING:
    from modelyard.pipelines.client import PipelinesClient
    from modelyard.pipelines.decorators import Pipeline, pipeline, step
    from modelyard.pipelines.entities import RunRecord, StepRecord
    from modelyard.pipelines.futures import StepFailed, StepFuture
    from modelyard.pipelines.handle import PipelineFailed, PipelineRun
    from modelyard.pipelines.scoring.builtin import batch_predict
    from modelyard.pipelines.steps import Step
    from modelyard.pipelines.triggers import on_alert, on_dataset, on_model, on_webhook
    from modelyard.pipelines.values import Model, UnserialisableOutput
