"""Model quality metrics in numpy (scikit-learn is not a dependency; tests check every one
against it).

Classification, on true labels and predicted classes: accuracy, and precision, recall and F1
(for two classes, of the positive class: ``positive``, else the larger by value, 10 after 5
and "10" after "5"; for more, the unweighted mean over the classes seen). When the
prediction is a probability of the positive class (truth 0/1, scores in [0, 1]): also ROC
AUC, log loss and the expected calibration error (10 equal-width bins, weighted by their
share of rows), with the class predicted at 0.5. Regression: MAE, RMSE, MAPE (over rows
whose true value is not 0) and R2.

A metric that is not defined for the rows given (ROC AUC with one class present, R2 of a
constant truth, anything of no rows) is ``None``, never NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from modelyard.monitoring.classes import larger_class

Array = np.ndarray[Any, Any]
CALIBRATION_BINS = 10
EPS = 1e-15  # probabilities are clipped to [EPS, 1 - EPS] for the log loss


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def classification(truth: Array, predicted: Array, positive: Any = None) -> dict[str, Any]:
    """accuracy, precision, recall, f1 of predicted classes."""
    if len(truth) == 0:
        return dict.fromkeys(("accuracy", "precision", "recall", "f1"))
    right = truth == predicted
    found: dict[str, Any] = {"accuracy": float(right.mean())}
    classes = np.unique(np.concatenate([truth, predicted]))
    if positive is not None or len(classes) <= 2:
        pos = positive if positive is not None else larger_class(classes)  # by value
        tp = float(np.sum((predicted == pos) & right))
        precision = _ratio(tp, float(np.sum(predicted == pos)))
        recall = _ratio(tp, float(np.sum(truth == pos)))
        found.update(precision=precision, recall=recall, f1=_f1(precision, recall))
        return found
    per_class = []
    for c in classes:
        tp = float(np.sum((predicted == c) & right))
        p, r = _ratio(tp, float(np.sum(predicted == c))), _ratio(tp, float(np.sum(truth == c)))
        per_class.append((p or 0.0, r or 0.0, _f1(p, r) or 0.0))
    means = np.mean(per_class, axis=0)
    found.update(precision=float(means[0]), recall=float(means[1]), f1=float(means[2]))
    return found


def roc_auc(truth: Array, score: Array) -> float | None:
    """The probability that a random positive scores above a random negative (ties count
    half): the Mann-Whitney U statistic over the product of the class sizes."""
    positives = truth.astype(bool)
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), dtype=np.float64)
    sorted_scores = score[order]
    # average ranks over ties
    starts = np.flatnonzero(np.concatenate([[True], sorted_scores[1:] != sorted_scores[:-1]]))
    ends = np.concatenate([starts[1:], [len(score)]])
    average = (starts + ends + 1) / 2  # 1-based ranks
    ranks[order] = np.repeat(average, ends - starts)
    u = ranks[positives].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def log_loss(truth: Array, score: Array) -> float | None:
    if len(truth) == 0:
        return None
    p = np.clip(score.astype(np.float64), EPS, 1 - EPS)
    y = truth.astype(np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def calibration_error(truth: Array, score: Array) -> float | None:
    """Expected calibration error: sum over score bins of |mean score - share positive|,
    weighted by the bin's share of rows."""
    if len(truth) == 0:
        return None
    bins = np.minimum((score * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    total = 0.0
    for b in np.unique(bins):
        inside = bins == b
        total += inside.mean() * abs(float(score[inside].mean()) - float(truth[inside].mean()))
    return float(total)


def probabilistic(truth: Array, score: Array) -> dict[str, Any]:
    """Metrics of a binary classifier's probabilities (truth 0/1)."""
    found = classification(truth.astype(int), (score >= 0.5).astype(int), positive=1)
    found.update(
        roc_auc=roc_auc(truth, score),
        log_loss=log_loss(truth, score),
        calibration_error=calibration_error(truth, score),
    )
    return found


def regression(truth: Array, predicted: Array) -> dict[str, Any]:
    if len(truth) == 0:
        return dict.fromkeys(("mae", "rmse", "mape", "r2"))
    y, p = truth.astype(np.float64), predicted.astype(np.float64)
    error = p - y
    nonzero = y != 0
    spread = float(np.sum((y - y.mean()) ** 2))
    with np.errstate(over="ignore"):  # a truth near 0 makes the share huge, and that is so
        mape = float(np.mean(np.abs(error[nonzero] / y[nonzero]))) if nonzero.any() else None
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": math.sqrt(float(np.mean(error**2))),
        "mape": mape,
        "r2": 1 - float(np.sum(error**2)) / spread if spread else None,
    }
