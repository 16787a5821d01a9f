"""Tracking as a user does it, on the embedded store, PostgreSQL and a server: a sweep of
nested runs with numpy and pandas values, a failure inside a run, artifacts of each kind,
search, history and reading back, every call made twice."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modelyard as yard


def test_a_sweep_logged_searched_and_read_back(tracking_uri: str, tmp_path: Path) -> None:
    yard.set_tracking_uri(tracking_uri)
    for _ in range(2):
        exp = yard.set_experiment("sweeps")
    assert yard.get_experiment_by_name("sweeps").experiment_id == exp.experiment_id

    with yard.start_run(run_name="sweep") as parent:
        yard.log_params({"dataset": "customers@3", "seed": np.int64(7)})
        yard.log_params({"dataset": "customers@3", "seed": np.int64(7)})  # the same: fine
        for lr in (np.float32(0.1), 0.01):
            with yard.start_run(run_name=f"lr-{lr}", nested=True):
                yard.log_param("lr", lr)
                for epoch in range(5):
                    loss = float(lr) / (epoch + 1)
                    yard.log_metrics({"loss": loss, "acc": np.float64(1 - loss)}, step=epoch)
                yard.log_metric("val_loss", math.nan)  # a NaN is kept as one
                yard.set_tags({"team": "growth", "when": pd.Timestamp("2026-12-03", tz="UTC")})
                yard.log_dict({"features": ["tenure", "charges"]}, "features.json")
                yard.log_text("a note\n", "notes/readme.txt")
                yard.log_table(pd.DataFrame({"a": [1, 2], "b": ["x", None]}), "sample.parquet")
        (tmp_path / "report.html").write_text("<p>done</p>")
        yard.log_artifact(tmp_path / "report.html")
    with pytest.raises(ZeroDivisionError), yard.start_run(run_name="broken"):
        yard.log_metric("loss", 1.0)
        1 / 0  # noqa: B018 - the user's code fails inside the run
    broken = yard.last_active_run()
    assert broken is not None and yard.get_run(broken.info.run_id).info.status == "FAILED"

    for _ in range(2):
        children = yard.search_runs(
            filter=f"attributes.parent_run_id = '{parent.info.run_id}'",
            order_by=["metrics.acc DESC"],
        )
        assert list(children["params.lr"]) == ["0.01", "0.1"]
        assert children["metrics.acc"].iloc[0] == pytest.approx(1 - 0.01 / 5)
        assert math.isnan(children["metrics.val_loss"].iloc[0])

    client = yard.Client()
    best = children["run_id"].iloc[0]
    for _ in range(2):
        run = client.get_run(best)
        assert run.info.status == "FINISHED" and run.data.params == {"lr": "0.01"}
        assert run.data.tags["team"] == "growth"
        history = client.get_metric_history(best, "loss")
        assert [m.step for m in history] == list(range(5))
        assert {a.path for a in client.list_artifacts(best)} >= {
            "features.json",
            "notes",
            "sample.parquet",
        }
        local = Path(client.download_artifacts(best, "sample.parquet", tmp_path / "back"))
        back = pd.read_parquet(local)
        assert back["a"].tolist() == [1, 2] and back["b"][0] == "x" and pd.isna(back["b"][1])
    assert yard.get_run(parent.info.run_id).data.params["seed"] == "7"
    yard.flush()


def _numbers() -> list[Any]:
    return [np.float16(0.5), np.int8(3), True, 10**15, -0.0, math.inf]


def test_values_of_every_type_a_user_has(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    with yard.start_run() as run:
        for i, value in enumerate(_numbers()):
            for _ in range(2):
                yard.log_metric(f"m{i}", value, step=1)
    stored = yard.get_run(run.info.run_id).data.metrics
    assert [stored[f"m{i}"] for i in range(len(_numbers()))] == [float(v) for v in _numbers()]
