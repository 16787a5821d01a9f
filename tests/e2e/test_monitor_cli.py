"""``modelyard monitor drift`` as a user (or a CI job) runs it, and the HTML report it writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from tests.e2e.test_cli import cli


def _write(path: Path, n: int, shift: float = 0.0) -> Path:
    rng = np.random.default_rng(int(n + 10 * shift))
    frame = pd.DataFrame(
        {
            "income": rng.normal(50 + shift, 10, n),
            "plan": rng.choice(["a", "b", "c"], n),
            "age": rng.integers(18, 90, n),
        }
    )
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def test_drift_between_files_and_a_logged_dataset_gates_ci_and_writes_html(
    tmp_path: Path,
) -> None:
    store = ["-t", str(tmp_path / "store")]
    train = _write(tmp_path / "train.parquet", 5_000)
    same = _write(tmp_path / "same.csv", 5_000)
    moved = _write(tmp_path / "moved.parquet", 5_000, shift=15.0)
    r = cli("datasets", "log", str(train), "--name", "train", *store, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = cli(
        "monitor", "drift", "dataset:train@1", str(same), *store, "--fail-on-drift", cwd=tmp_path
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 of 3 columns drifted" in r.stdout and "no dataset drift" in r.stdout
    page = tmp_path / "drift.html"
    r = cli(
        "monitor",
        "drift",
        "dataset:train",
        str(moved),
        *store,
        "--json",
        "--html",
        str(page),
        "--drift-share",
        "0.3",
        "--fail-on-drift",
        cwd=tmp_path,
    )
    assert r.returncode == 1  # the CI gate
    found = json.loads(r.stdout)
    assert found["drifted"] and found["drifted_columns"] == ["income"]
    assert {c["name"]: c["test"] for c in found["columns"]}["income"] == "wasserstein"
    text = page.read_text()
    assert "DRIFT" in text and text.count("<svg") == 3 and "<script" not in text
    r = cli(
        "monitor", "drift", str(train), str(moved), "--test", "income=psi", "--json", cwd=tmp_path
    )
    assert json.loads(r.stdout)["columns"][0]["test"] == "psi"


def test_bad_input_gets_a_message_naming_the_field_and_no_trace(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.parquet", 200)
    for args, words in [
        (["--threshold", "income=high"], "threshold for 'income' must be a number"),
        (["--test", "income"], "expected COLUMN=VALUE"),
        (["--test", "plan=ks"], "ks needs a numeric column"),
        (["--test", "income=magic"], "unknown drift test 'magic'"),
    ]:
        r = cli("monitor", "drift", str(train), str(train), *args, cwd=tmp_path)
        assert r.returncode != 0 and words in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    r = cli("monitor", "drift", str(tmp_path / "nope.parquet"), str(train), cwd=tmp_path)
    assert r.returncode != 0 and "no data file" in r.stderr and "Traceback" not in r.stderr
    r = cli("monitor", "drift", "dataset:", str(train), cwd=tmp_path)
    assert r.returncode != 0 and "dataset:NAME" in r.stderr
