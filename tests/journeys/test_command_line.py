"""A shell session: a user who never opens Python registers a model folder, tags, aliases,
looks at runs and datasets, validates a file and compares two files for drift. Every command
twice, in real processes; each answers with exit code 0 and something to read (no epoch
milliseconds, no traceback), and a mistake is one line naming the field."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from tests.e2e.test_cli import cli
from tests.fixtures.journey import run_twice

import modelyard as yard

EPOCH_MS = re.compile(r"\b1[6-9]\d{11}\b")  # 13-digit millisecond times from 2020 on


def test_a_shell_session(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"tenure": rng.integers(1, 72, 300), "charges": rng.normal(70, 20, 300)})
    model = LogisticRegression().fit(x, x.charges > 75)
    yard.models.save_model(model, tmp_path / "churn-model", input_example=x.head(5))
    x.sample(frac=1.0, random_state=1).to_parquet(tmp_path / "train.parquet")
    x.assign(charges=x.charges + 40).to_parquet(tmp_path / "live.parquet")

    out = cli("models", "register", "churn", "churn-model", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "churn" in out.stdout
    shown = run_twice("models", "show", "churn", cwd=tmp_path)
    assert "churn" in shown
    assert "tagged churn" in run_twice("models", "tag", "churn", "team=growth", cwd=tmp_path)
    assert "version 1" in run_twice("models", "alias", "churn", "champion", "1", cwd=tmp_path)
    versions = run_twice("models", "versions", "churn", cwd=tmp_path)
    assert "sklearn" in versions and not EPOCH_MS.search(versions)

    runs = run_twice("runs", "list", "--experiment", "0", cwd=tmp_path)
    run_id = re.search(r"\b[0-9a-f]{32}\b", runs)
    assert run_id is not None, runs
    show = run_twice("runs", "show", run_id.group(0), cwd=tmp_path)
    assert "UTC" in show and not EPOCH_MS.search(show), show

    logged = run_twice("datasets", "log", "train.parquet", "--name", "train", cwd=tmp_path)
    assert "__index_level_0__" not in logged
    listing = run_twice("datasets", "show", "train", cwd=tmp_path)
    assert "tenure" in listing and "__index_level_0__" not in listing
    run_twice("datasets", "expect", "train", "--infer", "suite.yaml", cwd=tmp_path)
    run_twice("datasets", "validate", "train.parquet", "--suite", "suite.yaml", cwd=tmp_path)
    drift = run_twice("monitor", "drift", "train.parquet", "live.parquet", cwd=tmp_path)
    assert "charges" in drift and "__index_level_0__" not in drift

    bad = cli("models", "alias", "churn", "champion", "7", cwd=tmp_path)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) <= 2, bad.stderr
