"""The models benchmark: log, load from the registry and predict, modelyard beside MLflow.

    .venv/bin/python bench/models/run.py [--rounds R] [--quick] [--markdown]

For a scikit-learn RandomForest (100 trees, depth 8, 20 features) and an XGBoost classifier
(100 trees, depth 6): log-and-register time, load time from the registry (``models:/name/1``:
the first load in the process, then the median of repeated loads) and predict latency for one
row and for 1,000 rows, through ``yard.models.load(...).predict`` and
``mlflow.pyfunc.load_model(...).predict``. MLflow runs in its own venv
(``/tmp/bench-mlflow-models``, or ``$BENCH_MLFLOW_MODELS_VENV``) with the same numpy, pandas,
scikit-learn and XGBoost versions as modelyard's. Every worker is a fresh process with a fresh
SQLite store; rounds interleave the tools (MLflow, modelyard, MLflow, ...); each figure is the
median over rounds. Results go to bench/results/models-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from rich.console import Console  # noqa: E402

import common  # noqa: E402

YARD_PYTHON = REPO / ".venv" / "bin" / "python"
MLFLOW_VENV = Path(os.environ.get("BENCH_MLFLOW_MODELS_VENV", "/tmp/bench-mlflow-models"))
# both venvs must hold the same model libraries, or the comparison measures versions
SHARED_PINS = (
    ("scikit-learn", "1.9.1"),
    ("xgboost-cpu", "3.2.0"),
    ("numpy", "2.4.6"),
    ("pandas", "3.1.1"),
    ("skops", "0.16.0"),
)
MLFLOW_PINS = (("mlflow", "3.17.2"), *SHARED_PINS)
TIMEOUT = 1800.0
console = Console(width=None if sys.stdout.isatty() else 150)


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"log_repeats": 1, "load_repeats": 3, "single_calls": 100, "batch_calls": 5}
    return {"log_repeats": 3, "load_repeats": 10, "single_calls": 1000, "batch_calls": 30}


def one(side: str, python: Path, model: str, spec: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"modelyard-bench-models-{side}-") as tmp:
        full = {**spec, "model": model, "store": tmp, "seed": 0}
        env = common.clean_env(
            {"MODELYARD_CACHE_DIR": str(Path(tmp) / "cache")} if side == "modelyard" else None,
            venv_bin=python.parent,
        )
        script = HERE / ("yard_worker.py" if side == "modelyard" else "mlflow_worker.py")
        return common.run_worker(python, script, full, env=env, cwd=Path(tmp), timeout=TIMEOUT)


def median_of(results: list[dict[str, Any]], *path: str) -> float:
    values = []
    for r in results:
        v: Any = r
        for key in path:
            v = v[key]
        values.append(float(v))
    return statistics.median(values)


ROWS = [  # (label, path into a result, unit scale, unit)
    ("log + register", ("log", "median_s"), 1e3, "ms"),
    ("first load from the registry", ("first_load_s",), 1e3, "ms"),
    ("load from the registry (repeated)", ("load", "median_s"), 1e3, "ms"),
    ("predict 1 row (median)", ("single", "median_s"), 1e6, "us"),
    ("predict 1 row (p99)", ("single", "p99_s"), 1e6, "us"),
    ("predict 1,000 rows", ("batch_1000", "median_s"), 1e3, "ms"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="few repeats, one round")
    parser.add_argument("--markdown", action="store_true")
    opts = parser.parse_args()
    rounds = 1 if opts.quick else opts.rounds
    spec = sizes(opts.quick)
    requirements = [f"{d}=={v}" for d, v in MLFLOW_PINS]
    mlflow_python = common.ensure_pins(MLFLOW_VENV, MLFLOW_PINS, requirements, console.log)
    if not common.pins_installed(YARD_PYTHON, SHARED_PINS):
        raise common.BenchError(
            f"modelyard's venv must hold {SHARED_PINS} (make .venv/.installed-test, then "
            "pip install the missing pins) so that both sides run the same libraries"
        )
    sides = {"mlflow": mlflow_python, "modelyard": YARD_PYTHON}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        m: {s: [] for s in sides} for m in ("rf", "xgb")
    }
    for rnd in range(rounds):
        for model in runs:
            for side, python in sides.items():
                busy = common.machine_busy()
                got = one(side, python, model, spec)
                got["machine_cpu_before"] = busy
                runs[model][side].append(got)
                console.log(
                    f"round {rnd + 1} {model} {side}: log {got['log']['median_s'] * 1e3:.0f} ms, "
                    f"load {got['load']['median_s'] * 1e3:.1f} ms, 1 row "
                    f"{got['single']['median_s'] * 1e6:.0f} us, agreement {got['agreement']:.4f}"
                )
    table_rows = []
    for model, label in (("rf", "RandomForest"), ("xgb", "XGBoost")):
        m, y = runs[model]["mlflow"], runs[model]["modelyard"]
        for name, path, scale, unit in ROWS:
            a, b = median_of(m, *path), median_of(y, *path)
            table_rows.append(
                [
                    label,
                    name,
                    f"{a * scale:,.1f} {unit}",
                    f"{b * scale:,.1f} {unit}",
                    f"{a / b:.1f}x",
                ]
            )
        agree = min(r["agreement"] for r in y)
        table_rows.append([label, "agreement with the trained model", "", f"{agree:.4f}", ""])
    columns = ("model", "measure", "MLflow 3.17.2", "modelyard", "speed-up")
    title = f"Models benchmark (median of {rounds} round(s))"
    common.report(console, title, columns, table_rows, opts.markdown)
    common.save_results(
        "models",
        {
            "rounds": rounds,
            "sizes": spec,
            "pins": dict(MLFLOW_PINS),
            "runs": runs,
            "table": table_rows,
        },
    )


if __name__ == "__main__":
    main()
