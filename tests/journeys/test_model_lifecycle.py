"""A user's first hour, through public names only, in the order a user goes, every call made
twice: realistic data (a categorical, zoned timestamps, labels as floats with gaps, a
pandas-written Parquet file after ``sample()``) is logged and validated, a classifier is
trained, logged, registered and served, predictions with class probabilities are logged,
labels arrive late for some rows, and performance and drift are read back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score
from tests.fixtures.journey import twice
from tests.fixtures.serving import Running

import modelyard as yard
from modelyard.data import Expectations
from modelyard.serving.app import ServingApp
from modelyard.serving.config import ModelSource, ServeConfig


def customers(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    charges = rng.normal(70 + 30 * shift, 20, n).round(2)
    plan = pd.Categorical(rng.choice(["basic", "pro", "team"], n, p=[0.5, 0.3, 0.2]))
    signup = pd.Timestamp("2026-01-01", tz="Europe/Berlin") + pd.to_timedelta(
        rng.integers(0, 300, n), unit="D"
    )
    churn = (charges > 80) & (tenure < 24)
    return pd.DataFrame(
        {"tenure": tenure, "charges": charges, "plan": plan, "signup": signup, "churned": churn}
    )


def test_train_register_serve_monitor(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)

    # data: a pandas-written Parquet file after sample() (its index is stored as a column)
    train = customers(2000, 1).sample(frac=1.0, random_state=0)
    train.to_parquet(tmp_path / "train.parquet")
    ds = twice(yard.data.log_dataset, tmp_path / "train.parquet", name="customers")
    assert ds.version == 1 and "__index_level_0__" not in ds.profile.columns
    suite = Expectations.from_profile(ds.profile)
    yard.data.set_expectations("customers", ds.version, suite)
    fresh = customers(500, 2)
    report = twice(yard.data.validate, fresh, yard.data.get("customers").expectations)
    assert report.ok, report.failures

    # a model, logged in a run, registered, given an alias
    features = ["tenure", "charges"]
    model = RandomForestClassifier(n_estimators=30, random_state=0)
    model.fit(train[features], train["churned"])
    yard.set_experiment("churn")
    with yard.start_run(run_name="forest") as run:
        yard.log_params({"n_estimators": 30})
        yard.log_metric("train_accuracy", float(model.score(train[features], train["churned"])))
        info = yard.models.log_model(
            model, "model", input_example=train[features].head(20), registered_model_name="churn"
        )
    assert twice(yard.get_run, run.info.run_id).info.status == "FINISHED"
    client = yard.Client()
    version = client.get_registered_model("churn").latest_version
    twice(client.set_alias, "churn", "champion", version)
    loaded = twice(yard.models.load, "models:/churn@champion")
    assert (loaded.predict(fresh[features]) == model.predict(fresh[features])).all()
    np.testing.assert_allclose(  # the ONNX copy computes in float32
        loaded.predict_proba(fresh[features]).to_numpy(),
        model.predict_proba(fresh[features]),
        atol=1e-6,
    )
    assert info.flavor == "sklearn"

    # served, with probabilities logged for monitoring
    config = ServeConfig(
        [ModelSource("models:/churn@champion")],
        tracking_uri=uri,
        prediction_log=str(tmp_path / "log"),
        log_roll_s=0.2,
        ship_s=0.2,
        log_probabilities=True,
    )
    running = Running(ServingApp(config))
    live = customers(300, 3, shift=0.8)
    try:
        with httpx.Client(base_url=running.url) as http:
            for start in range(0, 300, 50):
                part = live.iloc[start : start + 50]
                body = {"dataframe_split": part[features].to_dict(orient="split")}
                got = http.post("/invocations", json=body, headers={"x-request-id": f"b{start}"})
                assert got.status_code == 200, got.text
            # late labels: floats, a third still unknown
            churned = live.churned.to_numpy()
            labels = [
                {
                    "request_id": f"b{i - i % 50}",
                    "row": i % 50,
                    "label": float(churned[i]),
                }
                for i in range(300)
                if i % 3
            ]
            assert http.post("/v2/feedback", json={"labels": labels}).json() == {"accepted": 200}
        found = pd.DataFrame()
        for _ in range(300):
            found = yard.monitoring.predictions("churn")
            if len(found) == 300 and found["label"].notna().sum() == 200:
                break
            time.sleep(0.1)  # the log ships every 0.2 s
        assert len(found) == 300
    finally:
        running.stop()

    perf = twice(yard.monitoring.performance, "churn", window="1d")
    labelled = found[found["label"].notna()]
    want = accuracy_score(labelled["label"].astype(bool), labelled["prediction"].astype(bool))
    assert perf.task == "classification"
    assert perf.overall["accuracy"] == want  # labels 1.0/0.0 against predictions True/False
    order = found.assign(n=found.request_id.str[1:].astype(int) + found.row).sort_values("n")
    kept = order["label"].notna().to_numpy()
    score = model.predict_proba(live[features])[kept, 1]
    want_auc = roc_auc_score(live.churned.to_numpy()[kept], score)
    assert abs(perf.overall["roc_auc"] - want_auc) < 1e-6

    drift = twice(yard.monitoring.drift, tmp_path / "train.parquet", live)
    assert "__index_level_0__" not in {c.name for c in drift.columns}
    assert "charges" in drift.drifted_columns and "tenure" not in drift.drifted_columns
    page = drift.to_html()
    assert "charges" in page
