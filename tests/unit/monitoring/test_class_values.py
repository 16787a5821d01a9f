"""Classification metrics compare classes by value, in every dtype labels and predictions come
in: the same classes written as int, float (with missing labels), nullable Int64, bool, digit
strings, categoricals, float32, int8 or object columns score exactly what scikit-learn gives
on the plain integer classes. Names (str, categorical of str, object) likewise. Text that only
parses as a number ("01", "1.0") is its own class: test_class_values_text.py."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from modelyard.monitoring.classes import class_key
from modelyard.monitoring.quality import performance

Render = Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], pd.Series]


def _with_missing(values: pd.Series, missing: np.ndarray[Any, Any]) -> pd.Series:
    out = values.astype(object)
    out[missing] = None
    return out


NUMERIC: dict[str, Render] = {
    "int64": lambda c, m: pd.Series(c, dtype="int64"),
    "float64": lambda c, m: pd.Series(np.where(m, np.nan, c.astype(float))),
    "Int64": lambda c, m: pd.Series(pd.array(np.where(m, None, c), dtype="Int64")),
    "int8": lambda c, m: pd.Series(c.astype(np.int8)),
    "float32": lambda c, m: pd.Series(c.astype(np.float32)),
    "digits": lambda c, m: _with_missing(pd.Series([str(v) for v in c]), m),
    "category": lambda c, m: pd.Series(pd.Categorical(np.where(m, None, c))),
    "object": lambda c, m: pd.Series([int(v) if i % 2 else float(v) for i, v in enumerate(c)]),
}
BINARY: dict[str, Render] = {
    "bool": lambda c, m: pd.Series(c.astype(bool)),
    "boolean": lambda c, m: pd.Series(pd.array(np.where(m, None, c.astype(bool)), "boolean")),
}
NAMES: dict[str, Render] = {
    "str": lambda c, m: _with_missing(pd.Series([f"class {v}" for v in c]), m),
    "category": lambda c, m: pd.Series(pd.Categorical([f"class {v}" for v in c])),
    "string": lambda c, m: pd.Series(pd.array([f"class {v}" for v in c], dtype="string")),
}


def _frame(label: pd.Series, prediction: pd.Series) -> pd.DataFrame:
    n = len(label)
    stamps = pd.to_datetime(1_767_225_600_000 + np.arange(n) * 1000, unit="ms", utc=True)
    return pd.DataFrame({"timestamp": stamps, "prediction": prediction, "label": label})


def _expected(y: np.ndarray[Any, Any], p: np.ndarray[Any, Any]) -> dict[str, float]:
    classes = np.unique(np.concatenate([y, p]))
    if len(classes) <= 2:
        kw: dict[str, Any] = {"pos_label": classes[-1], "average": "binary", "zero_division": 0}
    else:
        kw = {"average": "macro", "zero_division": 0, "labels": classes}
    return {
        "accuracy": sk.accuracy_score(y, p),
        "precision": sk.precision_score(y, p, **kw),
        "recall": sk.recall_score(y, p, **kw),
        "f1": sk.f1_score(y, p, **kw),
    }


cases = st.tuples(
    st.integers(2, 120),
    st.sampled_from(["numeric", "binary", "names"]),
    st.integers(0, 2**32 - 1),
)


@settings(max_examples=200, deadline=None)
@given(cases)
def test_every_dtype_pair_scores_as_sklearn_does(case: tuple[int, str, int]) -> None:
    n, family, seed = case
    rng = np.random.default_rng(seed)
    k = 2 if family == "binary" else int(rng.integers(2, 5))
    truth = rng.integers(0, k, n)
    predicted = np.where(rng.random(n) < 0.7, truth, rng.integers(0, k, n))  # mostly right
    missing = rng.random(n) < 0.3  # labels not arrived yet
    renders = {"numeric": NUMERIC, "binary": {**NUMERIC, **BINARY}, "names": NAMES}[family]
    kinds = sorted(renders)
    label_kind = kinds[int(rng.integers(len(kinds)))]
    pred_kind = kinds[int(rng.integers(len(kinds)))]
    label = renders[label_kind](truth, missing)
    prediction = renders[pred_kind](predicted, np.zeros(n, bool))
    kept = label.notna().to_numpy()
    report = performance(_frame(label, prediction), task="classification")
    assert report.overall["labeled"] == int(kept.sum()), (label_kind, pred_kind)
    if not kept.any():
        assert report.overall["accuracy"] is None
        return
    expected = _expected(truth[kept], predicted[kept])
    for name, value in expected.items():
        assert (report.overall[name] or 0.0) == pytest.approx(value, abs=1e-9), (
            name,
            label_kind,
            pred_kind,
        )


def test_float_labels_with_gaps_against_int_predictions_are_right() -> None:
    """The report that raised a false critical alert: labels 1.0/0.0 (floats because some rows
    had none yet), predictions 1/0, every labelled prediction correct."""
    predictions = pd.Series([1, 0, 1, 1, 0, 1] * 50)
    labels = pd.Series([1.0, 0.0, np.nan, 1.0, 0.0, np.nan] * 50)
    for _ in range(2):
        report = performance(_frame(labels, predictions))
        assert report.task == "classification"
        assert report.overall["accuracy"] == 1.0 and report.overall["f1"] == 1.0
        assert report.overall["labeled"] == 200


@pytest.mark.parametrize(
    ("values", "same"),
    [
        ([1, 1.0, True, np.int8(1), np.float32(1.0), "1", Decimal("1.00")], True),
        ([0, 0.0, False, -0.0, "0", np.uint64(0)], True),
        (["1", " 1 "], False),  # text is compared as text
        (["1", "1.0"], False),
        (["1", "1e0"], False),
        (["01", "1"], False),
        ([1, "01"], False),
        ([True, "True"], False),
        ([1.5, "1.5"], True),  # a number is one class with the text it is written as
        (["cat", "cat"], True),
        ([1, "one"], False),
        ([1, 1.5], False),
        ([0.1, 0.1000001], False),
        (["1", "1a"], False),
        (["nan", "cat"], False),
        ([10, "10"], True),
        ([2**60, float(2**60)], True),
    ],
)
def test_one_class_whatever_its_type(values: list[Any], same: bool) -> None:
    assert (len({class_key(v) for v in values}) == 1) is same


def test_positive_is_matched_by_value() -> None:
    frame = _frame(pd.Series([1.0, 0.0, 1.0, 0.0]), pd.Series(["1", "1", "0", "0"]))
    for positive in (1, 1.0, "1", True):
        report = performance(frame, task="classification", positive=positive)
        assert report.overall["precision"] == 0.5 and report.overall["recall"] == 0.5
