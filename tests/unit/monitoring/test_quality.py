"""Performance from a frame of predictions and labels: rows without a prediction are left
out of the scores, never turned into NaN metrics or another task."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelyard.monitoring.quality import performance


def _frame(predictions: list[object], labels: list[object]) -> pd.DataFrame:
    n = len(predictions)
    stamps = pd.to_datetime(1_767_225_600_000 + np.arange(n) * 1000, unit="ms", utc=True)
    return pd.DataFrame({"timestamp": stamps, "prediction": predictions, "label": labels})


def test_a_missing_prediction_is_left_out_of_the_scores() -> None:
    regression = performance(_frame([1.5, None, 3.5, 4.5], [1.2, 2.0, 3.1, 5.0]))
    assert regression.task == "regression"
    assert regression.overall["mae"] == pytest.approx((0.3 + 0.4 + 0.5) / 3)
    probability = performance(_frame([0.9, None, 0.2, 0.7], [1, 1, 0, 1]))
    assert probability.task == "probability" and probability.overall["roc_auc"] == 1.0
    assert probability.overall["labeled"] == 3 and probability.overall["predictions"] == 4
