"""Throughput of ``yard.batch_predict`` on the local engine: 1,000,000 rows x 20 float
features (a tenth missing) in 4 Parquet files, scored by a small scikit-learn model through
its ONNX copy, for a few worker counts; the peer is the model's own ``predict`` on the
whole frame in memory (what a user without batch scoring writes), in the same run.

    python bench/pipelines/batch_scoring.py [--rows 1000000]

Prints rows/s for each and the ratio; the scoring figure covers reading, scoring and writing
the Parquet output, and the figure with logging adds hashing, profiling and storing it."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-scoring-"))
    os.environ["MODELYARD_TRACKING_URI"] = str(root / "store")
    os.environ["MODELYARD_CACHE_DIR"] = str(root / "cache")
    import modelyard as yard
    from modelyard.pipelines.scoring.local import score_local
    from modelyard.pipelines.scoring.model import load_scoring_model
    from modelyard.pipelines.scoring.scorer import Plan, Scorer

    rng = np.random.default_rng(0)
    names = [f"x{i}" for i in range(20)]
    frame = pd.DataFrame(rng.normal(size=(args.rows, 20)), columns=names)
    frame = frame.mask(rng.random(frame.shape) < 0.1)
    label = frame["x0"].fillna(0) + frame["x1"].fillna(0) > 0
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(
        frame.head(20_000), label[:20_000]
    )
    folder = root / "model"
    yard.models.save_model(model, folder, input_example=frame.head(200))
    parts = root / "data"
    parts.mkdir()
    frame.insert(0, "id", np.arange(args.rows))
    for i, chunk in enumerate(np.array_split(np.arange(args.rows), 4)):
        frame.iloc[chunk].to_parquet(parts / f"part-{i}.parquet", index=False)
    files = sorted(parts.glob("*.parquet"))

    started = time.perf_counter()
    model.predict(frame[names])
    peer = args.rows / (time.perf_counter() - started)
    print(f"peer: sklearn predict, whole frame in memory: {peer:,.0f} rows/s")
    for workers in (1, 2, 4):
        loaded = load_scoring_model(str(folder), None, workers)
        scorer = Scorer(loaded.loaded, Plan(names, ["id"], "prediction"))
        started = time.perf_counter()
        rows = score_local(
            files,
            ["id", *names],
            scorer,
            root / f"out-{workers}.parquet",
            batch_rows=65_536,
            workers=workers,
        )
        rate = rows / (time.perf_counter() - started)
        print(
            f"batch_predict local engine, {workers} worker(s), ONNX: {rate:,.0f} rows/s "
            f"({rate / peer:.2f}x the peer)"
        )
    started = time.perf_counter()
    yard.batch_predict(str(folder), parts, columns=["id"], workers=2)
    rate = args.rows / (time.perf_counter() - started)
    print(f"yard.batch_predict end to end (logging the scored version too): {rate:,.0f} rows/s")


if __name__ == "__main__":
    main()
