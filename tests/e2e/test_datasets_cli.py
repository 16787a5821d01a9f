"""``modelyard datasets`` and ``modelyard lineage`` as a user (or a CI job) runs them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from tests.e2e.test_cli import cli


def _write(path: Path, n: int, shift: int = 0) -> Path:
    rng = np.random.default_rng(n)
    pd.DataFrame(
        {"id": np.arange(n), "age": rng.integers(18, 90, n) + shift, "plan": ["a", "b"] * (n // 2)}
    ).to_parquet(path, index=False)
    return path


def test_log_show_validate_gate_and_lineage(tmp_path: Path) -> None:
    store = ["-t", str(tmp_path / "store")]
    good = _write(tmp_path / "train.parquet", 1000)
    r = cli(
        "datasets",
        "log",
        str(good),
        "--name",
        "churn",
        "--tag",
        "team=growth",
        *store,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "churn version 1" in r.stdout
    r = cli("datasets", "log", str(good), "--name", "churn", *store, "--json", cwd=tmp_path)
    assert json.loads(r.stdout)["version"] == 1  # identical data, same version
    r = cli("datasets", "show", "churn", *store, "--html", str(tmp_path / "p.html"), cwd=tmp_path)
    assert r.returncode == 0 and "age" in r.stdout and "1,000 rows" in r.stdout
    assert "<svg" in (tmp_path / "p.html").read_text()
    suite = tmp_path / "suite.yaml"
    r = cli("datasets", "expect", "churn", "--infer", str(suite), *store, cwd=tmp_path)
    assert r.returncode == 0 and "rule: range" in suite.read_text()
    r = cli("datasets", "validate", str(good), "--suite", str(suite), *store, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    shifted = _write(tmp_path / "new.parquet", 1000, shift=50)
    r = cli(
        "datasets",
        "validate",
        str(shifted),
        "--suite",
        str(suite),
        *store,
        "--html",
        str(tmp_path / "report.html"),
        cwd=tmp_path,
    )
    assert r.returncode == 1 and "range(age)" in r.stdout  # the CI gate
    assert "FAILED" in (tmp_path / "report.html").read_text()
    r = cli("datasets", "expect", "churn", "--attach", str(suite), *store, cwd=tmp_path)
    assert r.returncode == 0
    r = cli("datasets", "validate", "churn@1", *store, "--json", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] is True
    r = cli("datasets", "log", str(shifted), "--name", "churn", *store, cwd=tmp_path)
    r = cli("datasets", "diff", "churn", "1", "2", *store, cwd=tmp_path)
    assert r.returncode == 0 and "age" in r.stdout and "1,000 added" in r.stdout
    r = cli("datasets", "list", *store, "--json", cwd=tmp_path)
    assert [(d["name"], d["latest_version"]) for d in json.loads(r.stdout)] == [("churn", 2)]
    r = cli("datasets", "get", "churn", str(tmp_path / "out"), "-v", "1", *store, cwd=tmp_path)
    assert r.returncode == 0
    assert pd.read_parquet(tmp_path / "out" / "train.parquet").equals(pd.read_parquet(good))
    r = cli("lineage", "dataset:churn@1", *store, cwd=tmp_path)
    assert r.returncode == 0 and "no lineage recorded" in r.stdout


def test_cli_errors_name_the_problem(tmp_path: Path) -> None:
    store = ["-t", str(tmp_path / "store")]
    r = cli("datasets", "show", "nope", *store, cwd=tmp_path)
    assert r.returncode == 3 and "dataset 'nope' not found" in r.stderr
    r = cli("datasets", "log", str(tmp_path / "missing.csv"), "--name", "x", *store, cwd=tmp_path)
    assert r.returncode == 2 and "no file or folder" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("expectations:\n  - rule: range\n    column: age\n")
    data = _write(tmp_path / "d.parquet", 10)
    r = cli("datasets", "validate", str(data), "--suite", str(bad), *store, cwd=tmp_path)
    assert r.returncode == 2 and "needs min or max" in r.stderr
    r = cli("lineage", "model:x", *store, cwd=tmp_path)
    assert r.returncode == 2 and "dataset:<name>" in r.stderr
    assert "Traceback" not in r.stderr
