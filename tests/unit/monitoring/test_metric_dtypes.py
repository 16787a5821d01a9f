"""Regression and probability metrics from ``performance`` agree with scikit-learn whatever
dtype labels and predictions arrive in: float32/float64 with gaps, ints, nullable Int64 and
Float64, numbers as text, and for probabilities bool or 0/1 labels as any of those."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from modelyard.monitoring.quality import performance

Render = Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], pd.Series]


def _text(values: np.ndarray[Any, Any], missing: np.ndarray[Any, Any]) -> pd.Series:
    """Numbers as text (a CSV, JSON strings), None where missing."""
    return pd.Series([None if gap else str(v) for gap, v in zip(missing, values, strict=True)])


NUMBERS: dict[str, Render] = {
    "float64": lambda v, m: pd.Series(np.where(m, np.nan, v)),
    "float32": lambda v, m: pd.Series(np.where(m, np.nan, v).astype(np.float32)),
    "Float64": lambda v, m: pd.Series(pd.array(np.where(m, None, v), dtype="Float64")),
    "text": lambda v, m: pd.Series(
        [None if x else repr(float(y)) for x, y in zip(m, v, strict=True)]
    ),
    "object": lambda v, m: pd.Series(
        [None if x else float(y) for x, y in zip(m, v, strict=True)], dtype=object
    ),
}
BINARY: dict[str, Render] = {
    "int64": lambda v, m: pd.Series(v.astype(np.int64)),
    "float-gaps": lambda v, m: pd.Series(np.where(m, np.nan, v.astype(float))),
    "Int64": lambda v, m: pd.Series(pd.array(np.where(m, None, v), dtype="Int64")),
    "bool": lambda v, m: pd.Series(v.astype(bool)),
    "text": lambda v, m: _text(v.astype(int), m),
}


def _frame(label: pd.Series, prediction: pd.Series) -> pd.DataFrame:
    stamps = pd.to_datetime(1_767_225_600_000 + np.arange(len(label)) * 1000, unit="ms", utc=True)
    return pd.DataFrame({"timestamp": stamps, "prediction": prediction, "label": label})


cases = st.tuples(st.integers(3, 150), st.integers(0, 2**32 - 1))


@settings(max_examples=120, deadline=None)
@given(cases)
def test_regression_metrics_in_every_dtype(case: tuple[int, int]) -> None:
    n, seed = case
    rng = np.random.default_rng(seed)
    truth = rng.normal(50, 10, n).round(3) + 0.5  # fractions: a regression
    guess = (truth + rng.normal(0, 3, n)).astype(np.float32).astype(np.float64)
    missing = rng.random(n) < 0.3
    kinds = sorted(NUMBERS)
    lk, pk = kinds[int(rng.integers(len(kinds)))], kinds[int(rng.integers(len(kinds)))]
    label, prediction = NUMBERS[lk](truth, missing), NUMBERS[pk](guess, np.zeros(n, bool))
    report = performance(_frame(label, prediction), task="regression")
    kept = ~missing
    if kept.sum() == 0:
        assert report.overall["mae"] is None
        return
    # the values as they were handed over (a float32 column holds float32 values)
    y = pd.to_numeric(label.astype(object)).to_numpy(np.float64)[kept]
    p = pd.to_numeric(prediction.astype(object)).to_numpy(np.float64)[kept]
    assert report.overall["mae"] == pytest.approx(sk.mean_absolute_error(y, p), rel=1e-6), (lk, pk)
    assert report.overall["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, p)), rel=1e-6)
    if kept.sum() > 1 and np.var(y) > 0:
        assert report.overall["r2"] == pytest.approx(sk.r2_score(y, p), rel=1e-6, abs=1e-9)


@settings(max_examples=120, deadline=None)
@given(cases)
def test_probability_metrics_in_every_label_dtype(case: tuple[int, int]) -> None:
    n, seed = case
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.4).astype(int)
    score = np.clip(truth * 0.3 + rng.random(n) * 0.7, 0.001, 0.999).round(3)
    missing = rng.random(n) < 0.3
    kinds = sorted(BINARY)
    lk = kinds[int(rng.integers(len(kinds)))]
    label = BINARY[lk](truth, missing if lk not in ("int64", "bool") else np.zeros(n, bool))
    kept = label.notna().to_numpy()
    report = performance(_frame(label, pd.Series(score)), task="probability")
    y, s = truth[kept], score[kept]
    if len(np.unique(y)) == 2:
        assert report.overall["roc_auc"] == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12), lk
    else:
        assert report.overall["roc_auc"] is None
    if len(y):
        want = sk.log_loss(y, np.clip(s, 1e-15, 1 - 1e-15), labels=[0, 1])
        assert report.overall["log_loss"] == pytest.approx(want, rel=1e-9), lk
