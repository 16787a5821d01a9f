"""``batch_predict`` as a step: called outside a pipeline it scores at once; inside one it is
submitted like any step, with its inputs pinned first so that the cache key names what is
scored: ``models:/name@alias`` becomes the version it points at, ``dataset:name@latest`` the
version it is now. A dataset given by path (or a model by folder) is read when the step runs,
so that call is not cached (log the data as a dataset version to cache it)."""

from __future__ import annotations

import os
from typing import Any

from modelyard.errors import ModelyardError
from modelyard.pipelines.context import active_runner
from modelyard.pipelines.options import step_options
from modelyard.pipelines.scoring import step
from modelyard.pipelines.scoring.model import pin_model_uri
from modelyard.pipelines.scoring.sources import dataset_ref
from modelyard.pipelines.steps import Step
from modelyard.platform.current import chosen_uri


class BatchPredictStep(Step):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        runner = active_runner.get()
        if runner is None:
            return self.fn(*args, **kwargs)
        arguments = self.bind(args, kwargs)
        cacheable = _pin(arguments)
        chosen = self if cacheable else self.with_options(cache=False)
        return runner.submit(chosen, (), arguments)

    def with_options(self, **changes: Any) -> BatchPredictStep:
        made = super().with_options(**changes)
        return BatchPredictStep(made.fn, made.options)


def _pin(arguments: dict[str, Any]) -> bool:
    """Pin the model and dataset references in place; False when what is read cannot be
    named by content (a path), or a reference does not resolve (the step then fails with
    the reason)."""
    uri = chosen_uri()
    model, dataset = arguments["model_uri"], arguments["dataset"]
    try:
        if isinstance(model, str):
            pinned, node = pin_model_uri(model, uri)
            arguments["model_uri"] = pinned
            if node is None:
                return False
        if isinstance(dataset, str) and dataset.startswith("dataset:"):
            arguments["dataset"] = dataset_ref(dataset, uri)
        elif isinstance(dataset, str | os.PathLike):
            return False
    except ModelyardError:
        return False
    return True


batch_predict = BatchPredictStep(step.batch_predict, step_options("batch_predict", cache=True))
