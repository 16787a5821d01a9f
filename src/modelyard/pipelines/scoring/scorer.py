"""Scoring one record batch: the model's columns (picked and ordered by its signature) go
through the ONNX copy (or the framework's predict when there is none), and the batch that
comes back holds the columns to keep plus the prediction column(s). The same ``Scorer`` runs
on the local pool's threads and inside Ray Data's workers; it keeps no state between batches
but the loaded model, whose ONNX Runtime session is safe to share between threads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelyard.errors import InvalidArgument


@dataclass(frozen=True)
class Plan:
    """What each batch becomes: read ``needed``, score ``features``, keep ``keep``."""

    features: list[str]
    keep: list[str]
    prediction: str

    @property
    def needed(self) -> list[str]:
        return list(dict.fromkeys([*self.keep, *self.features]))


class Scorer:
    def __init__(self, model: Any, plan: Plan) -> None:
        self.model = model
        self.plan = plan
        self.onnx = model.runtime == "onnx"

    def __call__(self, batch: Any) -> Any:
        """A ``pyarrow.RecordBatch`` (or Table) in; the scored RecordBatch out."""
        import numpy as np
        import pyarrow as pa

        frame = batch.select(self.plan.features).to_pandas()
        if self.onnx:
            predicted = self.model.predict_onnx(frame)
        else:
            predicted = self.model.predict_native(frame)
        names, arrays = self._outputs(np.asarray(predicted), len(frame))
        kept = [_column(batch, name) for name in self.plan.keep]
        return pa.RecordBatch.from_arrays([*kept, *arrays], names=[*self.plan.keep, *names])

    def _outputs(self, predicted: Any, rows: int) -> tuple[list[str], list[Any]]:
        import pyarrow as pa

        if predicted.ndim == 2 and predicted.shape[1] == 1:
            predicted = predicted.reshape(-1)
        if predicted.ndim == 1 and len(predicted) == rows:
            return [self.plan.prediction], [pa.array(predicted)]
        if predicted.ndim == 2 and len(predicted) == rows:
            names = [f"{self.plan.prediction}_{i}" for i in range(predicted.shape[1])]
            return names, [pa.array(predicted[:, i]) for i in range(predicted.shape[1])]
        raise InvalidArgument(
            f"the model returned shape {predicted.shape} for {rows} rows; batch_predict "
            "stores one prediction (or one row of them) per input row",
            field="model_uri",
        )


def _column(batch: Any, name: str) -> Any:
    column = batch.column(batch.schema.get_field_index(name))
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column
