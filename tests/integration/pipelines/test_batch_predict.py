"""Batch scoring as a user meets it: a scikit-learn model trained on data with missing values,
registered, scores a dataset logged from several Parquet files; every prediction is the
model's own; inside a pipeline the second run is a cache hit; the lineage walk from the model
version reaches the scored dataset; a model without an ONNX copy scores with its own predict
and says so; memory stays bounded on data several times larger than the budget; bad input
gets a clear error and leaves nothing behind; and, where Ray is installed, the same on a real
local Ray cluster."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from typer.testing import CliRunner

import modelyard as yard
from modelyard.cli.main import app
from modelyard.errors import InvalidArgument, NotFound

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "age", "discount"]
SRC = str(Path(yard.__file__).resolve().parents[1])


def _customers(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n, dtype="int64") + 10_000,
            "tenure_months": rng.integers(0, 72, n).astype("float64"),
            "monthly_charges": rng.gamma(4.0, 18.0, n).round(2),
            "support_calls": rng.poisson(1.5, n).astype("float64"),
            "age": rng.normal(44, 12, n).clip(18, 90).round(),
            "discount": rng.uniform(0, 0.3, n),
            "region": rng.choice(["north", "south", "east", "west"], n),
        }
    )
    for col, rate in (("monthly_charges", 0.05), ("age", 0.1), ("support_calls", 0.02)):
        frame.loc[rng.random(n) < rate, col] = np.nan  # missing, as real exports have
    return frame


def _spend(frame: pd.DataFrame) -> np.ndarray:
    base = frame["monthly_charges"].fillna(70) * (1 - frame["discount"])
    return np.asarray(base * 12 - frame["support_calls"].fillna(0) * 40 + frame["tenure_months"])


def _write_parts(frame: pd.DataFrame, folder: Path, parts: int) -> Path:
    folder.mkdir()
    size = -(-len(frame) // parts)
    for i in range(parts):
        chunk = frame.iloc[i * size : (i + 1) * size]
        chunk.to_parquet(folder / f"part-{i:03}.parquet", index=False)
    return folder


def _lineage_nodes(edges: list[yard.data.LineageEdge]) -> set[str]:
    return {f"{e.target.type}:{e.target.label}" for e in edges} | {
        f"{e.source.type}:{e.source.label}" for e in edges
    }


def test_a_registered_model_scores_a_dataset_in_and_out_of_a_pipeline(tmp_path: Path) -> None:
    train = _customers(3000, seed=1)
    model = make_pipeline(
        SimpleImputer(strategy="median"), GradientBoostingRegressor(n_estimators=40, max_depth=3)
    ).fit(train[FEATURES], _spend(train))
    with yard.start_run():
        info = yard.models.log_model(
            model, "model", input_example=train[FEATURES].head(200), registered_model_name="spend"
        )
    assert info.version == 1
    yard.Client().set_alias("spend", "champion", 1)

    customers = _customers(12_000, seed=2)
    logged = yard.data.log_dataset(_write_parts(customers, tmp_path / "export", 4), "customers")

    scored = yard.batch_predict(
        "models:/spend/1", logged, columns=["customer_id", "region"], batch_rows=1000, workers=2
    )
    assert (scored.name, scored.num_rows) == ("customers-scored", 12_000)
    got = pd.read_parquet(scored.path)
    assert list(got.columns) == ["customer_id", "region", "prediction"]
    assert got["customer_id"].tolist() == customers["customer_id"].tolist()  # input order
    want = model.predict(customers[FEATURES])
    np.testing.assert_allclose(got["prediction"], want, rtol=1e-4, atol=1e-3)

    edges = yard.Client().model_lineage("spend", 1)
    assert f"dataset_version:{scored.name}@{scored.version}" in _lineage_nodes(edges)
    assert "dataset_version:customers@1" in _lineage_nodes(edges)
    version_id = yard.Client().get_version("spend", 1).version_id
    cli = CliRunner().invoke(app, ["lineage", f"model_version:{version_id}", "--json"])
    assert cli.exit_code == 0, cli.output
    labels = {e["target"]["label"] for e in json.loads(cli.output)}
    assert f"{scored.name}@{scored.version}" in labels

    @yard.pipeline
    def nightly_scoring() -> object:
        return yard.batch_predict(
            "models:/spend@champion", "dataset:customers@latest", columns=["customer_id"]
        )

    first = nightly_scoring.run()
    assert first.step("batch_predict").status == "COMPLETED", first.steps[0].error
    again = nightly_scoring.run()
    assert again.step("batch_predict").status == "CACHED"
    assert again.result().version == first.result().version
    in_pipeline = first.result().to_pandas()
    np.testing.assert_allclose(in_pipeline["prediction"], want, rtol=1e-4, atol=1e-3)


def test_a_model_without_an_onnx_copy_scores_with_its_own_predict_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    train = _customers(2000, seed=3)
    churned = (train["support_calls"].fillna(0) > 2) | (train["tenure_months"] < 6)
    columns = [*FEATURES, "region"]
    model = make_pipeline(
        ColumnTransformer(
            [("num", SimpleImputer(), FEATURES), ("cat", OneHotEncoder(), ["region"])]
        ),
        LogisticRegression(max_iter=500),
    ).fit(train[columns], churned)
    folder = tmp_path / "churn-model"
    yard.models.save_model(model, folder, input_example=train[columns].head(200))
    data = _customers(5000, seed=4)
    path = tmp_path / "to-score.parquet"
    data.to_parquet(path, index=False)

    with caplog.at_level(logging.WARNING, logger="modelyard.pipelines"):
        scored = yard.batch_predict(str(folder), path, output="churn-scores", columns=[])
    assert "has no ONNX copy" in caplog.text and "native predict" in caplog.text
    got = scored.to_pandas()
    assert list(got.columns) == ["prediction"]
    assert got["prediction"].tolist() == model.predict(data[columns]).tolist()


def _folder_model(tmp_path: Path) -> Path:
    train = _customers(500, seed=5)
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(
        train[FEATURES], train["tenure_months"] > 30
    )
    folder = tmp_path / "model"
    yard.models.save_model(model, folder, input_example=train[FEATURES].head(100))
    return folder


def test_bad_input_gets_a_clear_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    model = str(_folder_model(tmp_path))
    good = _customers(3000, seed=6)
    good.to_parquet(tmp_path / "good.parquet", index=False)
    cases: list[tuple[object, object, type[Exception], str, str]] = [
        ("models:/nobody/1", tmp_path / "good.parquet", NotFound, "model_uri", "nobody"),
        (model, "dataset:nothing@3", NotFound, "name", "nothing"),
    ]
    no_age = tmp_path / "no_age.parquet"
    good.drop(columns="age").to_parquet(no_age)
    cases.append((model, no_age, InvalidArgument, "age", "'age'"))
    text_age = tmp_path / "text_age.parquet"
    good.assign(age=good["age"].astype(str)).to_parquet(text_age)
    cases.append((model, text_age, InvalidArgument, "age", "type string"))
    empty = tmp_path / "empty.parquet"
    good.head(0).to_parquet(empty)
    cases.append((model, empty, InvalidArgument, "dataset", "no rows"))
    csv = tmp_path / "data.csv"
    good.to_csv(csv)
    cases.append((model, csv, InvalidArgument, "dataset", "not a Parquet file"))
    # a missing value the signature forbids, found only in the last batch: after the first
    # batches are written, so what was written must go
    late = tmp_path / "late.parquet"
    good.assign(discount=[*good["discount"][:-1], np.nan]).to_parquet(late)
    cases.append((model, late, InvalidArgument, "discount", "missing values"))
    for uri, data, kind, field, said in cases:
        with pytest.raises(kind) as caught:
            yard.batch_predict(uri, data, output="scores", batch_rows=500)
        assert caught.value.field == field, (data, caught.value)
        assert said in str(caught.value), (data, caught.value)
    with pytest.raises(InvalidArgument) as caught:
        yard.batch_predict(model, tmp_path / "good.parquet", engine="spark")
    assert caught.value.field == "engine"
    assert [d.name for d in yard.data.list_datasets()] == []
    staging = tmp_path / "cache" / "staging"
    assert not staging.exists() or list(staging.rglob("*")) == []


MEASURE = textwrap.dedent(
    """
    import json, sys, threading, time
    import psutil
    import modelyard as yard
    import pyarrow.parquet as pq

    model, data, small, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    me = psutil.Process()
    # every library and the model loaded on a small file first; then the large one measured
    yard.batch_predict(model, small, output="warm", columns=["id"], batch_rows=rows, workers=2)
    peak = [0]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], me.memory_info().rss)
            time.sleep(0.005)

    def measured(fn):
        base = me.memory_info().rss
        peak[0] = base
        done.clear()
        watcher = threading.Thread(target=watch)
        watcher.start()
        fn()
        done.set()
        watcher.join()
        return peak[0] - base

    scoring = measured(lambda: yard.batch_predict(
        model, data, output="scores", columns=["id"], batch_rows=rows, workers=2
    ))
    whole = measured(lambda: pq.read_table(data))
    print(json.dumps({"scoring": scoring, "whole_table": whole}))
    """
)


def test_memory_stays_bounded_on_data_larger_than_the_budget(tmp_path: Path) -> None:
    folder = _folder_model(tmp_path)
    rows, width = 1_200_000, 20
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(size=(rows, width)), columns=[f"x{i}" for i in range(width)])
    train = frame.head(2000).rename(columns=dict(zip(frame.columns[:5], FEATURES, strict=True)))
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(
        train[FEATURES], train["tenure_months"] > 0
    )
    shutil.rmtree(folder)
    yard.models.save_model(model, folder, input_example=train[FEATURES].head(100))
    frame = frame.rename(columns=dict(zip(frame.columns[:5], FEATURES, strict=True)))
    frame.insert(0, "id", np.arange(rows))
    data, small = tmp_path / "big.parquet", tmp_path / "small.parquet"
    frame.to_parquet(data, index=False, row_group_size=200_000)
    frame.head(20_000).to_parquet(small, index=False)
    decoded = frame.memory_usage(index=False).sum()  # 201 MB in memory
    del frame
    budget = 64 << 20  # scoring may grow the process by this much, a third of the data
    env = {**os.environ, "PYTHONPATH": SRC, "MODELYARD_TRACKING_URI": str(tmp_path / "store")}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(folder), str(data), str(small), "8192"],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    grew = json.loads(out.stdout.strip().splitlines()[-1])
    assert decoded > 3 * budget
    assert grew["whole_table"] > decoded * 0.8  # the measure sees a whole-table read
    assert grew["scoring"] < budget, (grew, decoded)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_on_a_ray_cluster_auto_scores_with_ray_data(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    model = str(_folder_model(tmp_path))
    data = _customers(6000, seed=8)
    folder = _write_parts(data, tmp_path / "parts", 3)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": SRC, "RAY_USAGE_STATS_ENABLED": "0"}
    temp = Path("/tmp") / f"ray-{port}"  # the socket paths must stay short
    start = [
        sys.executable, "-m", "ray.scripts.scripts", "start", "--head",
        "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
        "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
    ]  # fmt: skip
    subprocess.run(start, check=True, env=env, capture_output=True, timeout=120)
    try:
        ray.init(address=f"127.0.0.1:{port}", logging_level="ERROR")
        scored = yard.batch_predict(model, folder, columns=["customer_id"], batch_rows=1000)
        assert scored.tags["modelyard.runtime"] == "onnx"
        got = scored.to_pandas().set_index("customer_id").loc[data["customer_id"]]
        loaded = yard.models.load(model)
        assert got["prediction"].tolist() == loaded.predict_native(data[FEATURES]).tolist()
    finally:
        ray.shutdown()
        _stop_cluster(temp)


def _stop_cluster(temp: Path) -> None:
    """End the processes of this test's cluster only (named by its temp folder), by pid:
    ``ray stop`` would end every Ray process on the machine."""
    import psutil

    ours = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(temp) in part for part in proc.info["cmdline"] or []):
            ours.append(proc)
    for proc in ours:
        ours.extend(c for c in proc.children(recursive=True) if c not in ours)
    for proc in ours:
        proc.kill()
    psutil.wait_procs(ours, timeout=30)
    shutil.rmtree(temp, ignore_errors=True)
