"""What both sides of the models benchmark do, except the tool calls: the data, the models and
the timing loops. Imported by both workers, so it uses only numpy, pandas, scikit-learn and
xgboost (installed at the same versions in both venvs)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

FEATURES = 20
TRAIN_ROWS = 10_000
TEST_ROWS = 2_000


def data(seed: int) -> tuple[pd.DataFrame, np.ndarray[Any, Any], pd.DataFrame]:
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=TRAIN_ROWS + TEST_ROWS,
        n_features=FEATURES,
        n_informative=10,
        random_state=seed,
    )
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    return frame.iloc[:TRAIN_ROWS], y[:TRAIN_ROWS], frame.iloc[TRAIN_ROWS:].reset_index(drop=True)


def train(kind: str, x: pd.DataFrame, y: np.ndarray[Any, Any]) -> Any:
    if kind == "rf":  # the serving issue's model: 100 trees, depth 8, 20 features
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0).fit(x, y)
    if kind == "xgb":
        import xgboost

        return xgboost.XGBClassifier(n_estimators=100, max_depth=6, random_state=0).fit(x, y)
    raise ValueError(f"unknown model kind {kind!r}")


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_s": statistics.median(ordered),
        "p99_s": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "min_s": ordered[0],
        "n": len(ordered),
    }


def predict_latency(
    predict: Callable[[pd.DataFrame], Any], test: pd.DataFrame, spec: dict[str, Any]
) -> dict[str, Any]:
    """Single-row and 1,000-row predict latency, each after a short warm-up."""
    rows = [test.iloc[[i]] for i in range(len(test))]
    for row in rows[:20]:
        predict(row)
    singles = []
    for i in range(int(spec["single_calls"])):
        row = rows[i % len(rows)]
        t0 = time.perf_counter()
        predict(row)
        singles.append(time.perf_counter() - t0)
    batch = test.iloc[:1000]
    predict(batch)
    return {
        "single": summary(singles),
        "batch_1000": summary(timed(lambda: predict(batch), int(spec["batch_calls"]))),
    }


def agreement(got: Any, want: Any) -> float:
    """Share of test rows where the loaded model answers what the trained one does."""
    return float(np.mean(np.asarray(got).ravel() == np.asarray(want).ravel()))


def measure(
    log_once: Callable[[], Any],
    load: Callable[[str], Any],
    uri: str,
    model: Any,
    test: pd.DataFrame,
    spec: dict[str, Any],
) -> tuple[dict[str, Any], Any]:
    """The timed steps both workers share: log + register, first and repeated loads of
    ``uri``, predict latency and agreement; returns the result and the loaded model."""
    log_s = timed(log_once, int(spec["log_repeats"]))
    t0 = time.perf_counter()
    loaded = load(uri)
    first_load = time.perf_counter() - t0
    load_s = timed(lambda: load(uri), int(spec["load_repeats"]))
    result = {
        "log": summary(log_s),
        "first_load_s": first_load,
        "load": summary(load_s),
        **predict_latency(loaded.predict, test, spec),
        "agreement": agreement(loaded.predict(test), model.predict(test)),
    }
    return result, loaded
