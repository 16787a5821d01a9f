"""Classes by value, where text and numbers meet: the larger (default positive) class is the
larger by value (10 after 5, never the text order "10" < "5"), distinct text codes ("01" and
"1") stay distinct in every pair of dtypes, and scores in [0, 1] against classes that are not
0/1 are refused unless ``positive=`` says which class a score is the probability of. Every
figure is checked against scikit-learn."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from modelyard.errors import InvalidArgument
from modelyard.monitoring.quality import performance


def _frame(label: pd.Series, prediction: pd.Series, **extra: Any) -> pd.DataFrame:
    n = len(label)
    stamps = pd.to_datetime(1_767_225_600_000 + np.arange(n) * 1000, unit="ms", utc=True)
    return pd.DataFrame({"timestamp": stamps, "prediction": prediction, "label": label, **extra})


def _pair(classes: tuple[Any, Any], n: int = 400, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    y = rng.choice(np.array(classes, dtype=object), n, p=[0.35, 0.65])
    wrong = rng.random(n) < 0.3
    p = np.where(wrong, rng.choice(np.array(classes, dtype=object), n), y)
    return y, p


# two classes whose text order differs from their order by value; the positive is the larger
LARGER = [
    ((5, 10), 10, lambda v: pd.Series(v, dtype="int64")),
    ((5, 10), 10, lambda v: pd.Series(v, dtype="float64")),
    ((5, 10), 10, lambda v: pd.Series(pd.array(list(v), dtype="Int64"))),
    ((5, 10), 10, lambda v: pd.Series(pd.Categorical(list(v)))),
    (("5", "10"), "10", lambda v: pd.Series(list(v), dtype=object)),
    (("5", "10"), "10", lambda v: pd.Series(pd.array(list(v), dtype="string"))),
    ((-1, 1), 1, lambda v: pd.Series(v, dtype="int8")),
    ((9.5, 10.25), 10.25, lambda v: pd.Series(v, dtype="float64")),
    (("b", "a"), "b", lambda v: pd.Series(list(v), dtype=object)),
]


@pytest.mark.parametrize(("classes", "larger", "render"), LARGER)
def test_the_default_positive_is_the_larger_class_by_value(
    classes: tuple[Any, Any], larger: Any, render: Callable[[Any], pd.Series]
) -> None:
    y, p = _pair(classes)
    for label_render, pred_render in ((render, render), (render, lambda v: pd.Series(list(v)))):
        report = performance(_frame(label_render(y), pred_render(p)), task="classification")
        yy, pp = [str(v) for v in y], [str(v) for v in p]
        for name, score in (
            ("precision", sk.precision_score),
            ("recall", sk.recall_score),
            ("f1", sk.f1_score),
        ):
            expected = score(yy, pp, pos_label=str(larger), zero_division=0)
            assert report.overall[name] == pytest.approx(expected, abs=1e-12), (classes, name)


def test_labels_five_and_ten_score_the_class_ten() -> None:
    """The review's case: precision of class 10 (scikit-learn pos_label=10), not of 5."""
    y, p = _pair((5, 10), seed=3)
    report = performance(_frame(pd.Series(y.astype(int)), pd.Series(p.astype(int))))
    assert report.overall["precision"] == pytest.approx(
        sk.precision_score(y.astype(int), p.astype(int), pos_label=10)
    )
    assert report.overall["precision"] != pytest.approx(
        sk.precision_score(y.astype(int), p.astype(int), pos_label=5)
    )


@pytest.mark.parametrize(
    ("classes", "names"),
    [((5, 10), ("5", "10")), ((5, 10), ("5.0", "10.0")), ((False, True), ("False", "True"))],
)
def test_a_logged_probability_is_of_the_larger_class_by_value(
    classes: tuple[Any, Any], names: tuple[str, str]
) -> None:
    """A two-class model's probability.<class> columns are named with str(class) ("5.0",
    "True"): each is matched to its class by value, and its scores held against the labels."""
    y, p = _pair(classes, seed=5)
    rng = np.random.default_rng(6)
    p_large = np.clip((y == classes[1]) * 0.4 + rng.random(len(y)) * 0.6, 0.0, 1.0).round(3)
    extra = {f"probability.{names[0]}": 1 - p_large, f"probability.{names[1]}": p_large}
    frame = _frame(pd.Series(list(y)), pd.Series(list(p)), **extra)
    report = performance(frame, task="classification")
    truth = (y == classes[1]).astype(int)
    assert report.overall["roc_auc"] == pytest.approx(sk.roc_auc_score(truth, p_large))
    assert report.overall["log_loss"] == pytest.approx(sk.log_loss(truth, p_large))


def _s(values: list[Any], dtype: Any = None) -> pd.Series:
    return pd.Series(values * 3, dtype=dtype)


# (pair, labels, predictions, one class?): each row's prediction is its label's value written
# in another dtype; one class gives accuracy 1, distinct classes 0
PAIRS: list[tuple[str, pd.Series, pd.Series, bool]] = [
    ("float with gaps/int", _s([1.0, 2.0, np.nan]), _s([1, 2, 1]), True),
    ("float/int", _s([1.0, 2.0]), _s([1, 2]), True),
    ("int8/float32", _s([1, 2], "int8"), _s([1, 2], "float32"), True),
    ("Int64/float", _s([1, 2], "Int64"), _s([1.0, 2.0]), True),
    ("bool/int", _s([True, False]), _s([1, 0]), True),
    ("Decimal/int", _s([Decimal("1"), Decimal("2.00")]), _s([1, 2]), True),
    ("category of int/int", _s([1, 2], "category"), _s([1, 2]), True),
    ("text/int", _s(["1", "2"]), _s([1, 2]), True),
    ("text/float", _s(["1", "2.5"]), _s([1.0, 2.5]), True),
    ("text/text", _s(["01", "1"]), _s(["01", "1"]), True),
    ("string/category", _s(["01", "1"], "string"), _s(["01", "1"], "category"), True),
    ("padded text/int", _s(["01", "02"]), _s([1, 2]), False),
    ("padded/plain text", _s(["01", "02"]), _s(["1", "2"]), False),
    ("1.0 text/int", _s(["1.0", "2.0"]), _s([1, 2]), False),
    ("1.0 text/1 text", _s(["1.0", "2.0"]), _s(["1", "2"]), False),
    ("True text/bool", _s(["True", "False"]), _s([True, False]), False),
    ("spaced text/int", _s([" 1", " 2"]), _s([1, 2]), False),
]


@pytest.mark.parametrize(
    ("pair", "labels", "predictions", "same"), PAIRS, ids=[p[0] for p in PAIRS]
)
def test_each_pair_of_dtypes_is_one_class_only_when_the_values_are(
    pair: str, labels: pd.Series, predictions: pd.Series, same: bool
) -> None:
    report = performance(_frame(labels, predictions), task="classification")
    assert report.overall["labeled"] == labels.notna().sum()
    assert report.overall["accuracy"] == (1.0 if same else 0.0), pair


def test_distinct_text_codes_are_distinct_classes_as_scikit_learn_counts_them() -> None:
    """Codes "01", "1", "02", "2" are four classes: macro scores as scikit-learn's."""
    rng = np.random.default_rng(9)
    codes = np.array(["01", "1", "02", "2"], dtype=object)
    y = rng.choice(codes, 300)
    p = np.where(rng.random(300) < 0.6, y, rng.choice(codes, 300))
    report = performance(_frame(pd.Series(y), pd.Series(p)))
    assert report.task == "classification"
    assert report.overall["accuracy"] == pytest.approx(sk.accuracy_score(y, p))
    for name, score in (("precision", sk.precision_score), ("f1", sk.f1_score)):
        expected = score(y, p, average="macro", zero_division=0, labels=sorted(set(y) | set(p)))
        assert report.overall[name] == pytest.approx(expected)


# scores in [0, 1] against labels that are not 0/1: refused, or scored for positive=
SCORED = [
    ("text", pd.Series(["yes", "no"] * 50), "yes"),
    ("string", pd.Series(pd.array(["yes", "no"] * 50, dtype="string")), "no"),
    ("category", pd.Series(pd.Categorical(["yes", "no"] * 50)), "yes"),
    ("5/10", pd.Series([5, 10] * 50), 10),
    ("5/10 float with gaps", pd.Series([5.0, 10.0, np.nan, 10.0] * 25), 5),
]


@pytest.mark.parametrize(("name", "labels", "positive"), SCORED, ids=[s[0] for s in SCORED])
def test_scores_against_classes_need_the_class_they_are_of(
    name: str, labels: pd.Series, positive: Any
) -> None:
    rng = np.random.default_rng(2)
    scores = pd.Series(rng.random(len(labels)).round(4))
    with pytest.raises(InvalidArgument, match="name the class a score is the probability of") as e:
        performance(_frame(labels, scores))
    assert e.value.field == "positive"
    report = performance(_frame(labels, scores), positive=positive)
    kept = labels.notna().to_numpy()
    truth = (labels[kept].astype(object).astype(str) == str(positive)).to_numpy().astype(int)
    if name.endswith("gaps"):
        truth = (labels[kept] == positive).to_numpy().astype(int)
    assert report.task == "probability"
    assert report.overall["roc_auc"] == pytest.approx(sk.roc_auc_score(truth, scores[kept]))
    assert report.overall["log_loss"] == pytest.approx(sk.log_loss(truth, scores[kept]))
    assert report.overall["accuracy"] == pytest.approx(
        sk.accuracy_score(truth, (scores[kept] >= 0.5).astype(int))
    )


def test_scores_against_three_classes_or_numbers_against_text_are_refused() -> None:
    scores = pd.Series([0.2, 0.7, 0.9] * 10)
    with pytest.raises(InvalidArgument, match="3 classes") as e:
        performance(_frame(pd.Series(["a", "b", "c"] * 10), scores), positive="a")
    assert e.value.field == "label"
    with pytest.raises(InvalidArgument, match="numbers with fractions") as e:
        performance(_frame(pd.Series(["a", "b", "c"] * 10), scores * 5))
    assert e.value.field == "label"


def test_a_rating_predicted_with_a_fraction_is_a_regression() -> None:
    rng = np.random.default_rng(4)
    truth = rng.integers(1, 6, 200)
    predicted = (truth + rng.normal(0, 0.6, 200)).round(2)
    report = performance(_frame(pd.Series(truth), pd.Series(predicted)))
    assert report.task == "regression"
    assert report.overall["mae"] == pytest.approx(sk.mean_absolute_error(truth, predicted))


def test_zero_one_labels_in_any_dtype_need_no_positive() -> None:
    scores = pd.Series([0.1, 0.8, 0.3, 0.9] * 10)
    for labels in (
        pd.Series([0, 1, 0, 1] * 10),
        pd.Series([False, True, False, True] * 10),
        pd.Series(["0", "1", "0", "1"] * 10),
        pd.Series([0.0, 1.0, np.nan, 1.0] * 10),
    ):
        report = performance(_frame(labels, scores))
        assert report.task == "probability" and report.overall["roc_auc"] == 1.0
