"""scikit-learn models called from several threads at once (as a server does): the process's
warning filters stay as they were and no warning is raised."""

from __future__ import annotations

import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from modelyard.models import load, save_model


def test_threads_leave_the_warning_filters_alone(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"plan": rng.choice(["basic", "pro"], 200), "charges": rng.normal(size=200)})
    # a column transformer and a forest: both call through sklearn's joblib wrapper, which
    # swaps the process's warning filters around each call
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["plan"]), remainder="passthrough"),
        RandomForestClassifier(n_estimators=3, random_state=0),
    ).fit(x, x.charges > 0)
    save_model(model, tmp_path / "m", input_example=x.head(5))
    loaded = load(tmp_path / "m")
    want = model.predict(x.head(3)).tolist()
    before = list(warnings.filters)
    answers: list[list[bool]] = []

    def call() -> None:
        for _ in range(50):
            answers.append(loaded.predict(x.head(3)).tolist())
            answers.append(loaded.predict_proba(x.head(3)).idxmax(axis=1).eq("True").tolist())

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads take turns often, as under load
    try:
        with warnings.catch_warnings(record=True) as caught:
            threads = [threading.Thread(target=call) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert not [str(w.message) for w in caught]
    finally:
        sys.setswitchinterval(interval)
    assert warnings.filters == before
    assert answers == [want] * 400
