"""Every quality metric agrees with scikit-learn's on random labels and predictions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from modelyard.monitoring import metrics

pairs = st.integers(2, 200).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
    )
)
binary_scores = st.integers(2, 200).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.integers(0, 20).map(lambda i: i / 20), min_size=n, max_size=n),  # ties
    )
)


@settings(max_examples=150, deadline=None)
@given(pairs)
def test_classification_matches_sklearn(pair: tuple[list[int], list[int]]) -> None:
    y, p = np.array(pair[0]), np.array(pair[1])
    found = metrics.classification(y, p)
    assert found["accuracy"] == pytest.approx(sk.accuracy_score(y, p))
    classes = np.unique(np.concatenate([y, p]))
    if len(classes) <= 2:
        pos = classes[-1]
        kw = {"pos_label": pos, "average": "binary", "zero_division": 0}
        labels = None
    else:
        kw = {"average": "macro", "zero_division": 0}
        labels = classes
    for name, fn in (("precision", sk.precision_score), ("recall", sk.recall_score)):
        expected = fn(y, p, labels=labels, **kw)
        assert (found[name] or 0.0) == pytest.approx(expected, abs=1e-12)
    assert (found["f1"] or 0.0) == pytest.approx(sk.f1_score(y, p, labels=labels, **kw), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(binary_scores)
def test_probability_metrics_match_sklearn(pair: tuple[list[int], list[float]]) -> None:
    y, s = np.array(pair[0]), np.array(pair[1])
    found = metrics.probabilistic(y.astype(float), s)
    if len(np.unique(y)) == 2:
        assert found["roc_auc"] == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    else:
        assert found["roc_auc"] is None  # one class: not defined, never NaN
    clipped = np.clip(s, metrics.EPS, 1 - metrics.EPS)
    assert found["log_loss"] == pytest.approx(sk.log_loss(y, clipped, labels=[0, 1]), rel=1e-9)
    assert found["accuracy"] == pytest.approx(sk.accuracy_score(y, (s >= 0.5).astype(int)))


def test_calibration_error_of_a_calibrated_and_an_overconfident_model() -> None:
    rng = np.random.default_rng(0)
    score = rng.random(200_000)
    calibrated = (rng.random(200_000) < score).astype(float)
    assert metrics.calibration_error(calibrated, score) < 0.01
    overconfident = np.where(score > 0.5, 0.99, 0.01)
    assert metrics.calibration_error(calibrated, overconfident) > 0.2


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=100).flatmap(
        lambda y: st.tuples(
            st.just(y), st.lists(st.floats(-1e3, 1e3), min_size=len(y), max_size=len(y))
        )
    )
)
def test_regression_matches_sklearn(pair: tuple[list[float], list[float]]) -> None:
    y, p = np.array(pair[0]), np.array(pair[1])
    found = metrics.regression(y, p)
    assert found["mae"] == pytest.approx(sk.mean_absolute_error(y, p), rel=1e-9, abs=1e-9)
    assert found["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(y, p)), rel=1e-9, abs=1e-9)
    if np.var(y) > 1e-9:
        assert found["r2"] == pytest.approx(sk.r2_score(y, p), rel=1e-6, abs=1e-9)
    if (np.abs(y) > np.finfo(np.float64).eps).all():  # sklearn divides by max(|y|, eps)
        expected = sk.mean_absolute_percentage_error(y, p)
        assert found["mape"] == pytest.approx(expected, rel=1e-9)


def test_undefined_metrics_are_none() -> None:
    empty = np.array([])
    assert metrics.regression(empty, empty)["r2"] is None
    assert metrics.regression(np.array([3.0, 3.0]), np.array([1.0, 2.0]))["r2"] is None
    assert metrics.classification(empty, empty)["accuracy"] is None
    assert metrics.roc_auc(np.array([1.0, 1.0]), np.array([0.2, 0.9])) is None
