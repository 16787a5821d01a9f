"""MLflow's side of the models benchmark: ``python mlflow_worker.py SPEC_JSON``.

The same steps as yard_worker.py with MLflow's own calls: ``mlflow.<flavor>.log_model(...,
registered_model_name=...)`` and ``mlflow.pyfunc.load_model("models:/name/1").predict``.
MLflow 3 saves scikit-learn models with skops and refuses a forest's tree type unless it is
named as trusted, so it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl


def main() -> None:
    spec = json.loads(sys.argv[1])
    store = Path(spec["store"])
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    import mlflow.xgboost

    x, y, test = wl.data(int(spec["seed"]))
    model = wl.train(spec["model"], x, y)
    name = f"bench-{spec['model']}"
    mlflow.set_tracking_uri(f"sqlite:///{store}/mlflow.db")
    mlflow.set_experiment("models-bench")  # artifacts under ./mlruns in the worker's cwd

    def log_once() -> None:
        with mlflow.start_run():
            if spec["model"] == "rf":
                mlflow.sklearn.log_model(
                    model,
                    name="model",
                    input_example=x.head(5),
                    registered_model_name=name,
                    skops_trusted_types=["sklearn.tree._tree.Tree"],
                )
            else:
                mlflow.xgboost.log_model(
                    model, name="model", input_example=x.head(5), registered_model_name=name
                )

    result, _loaded = wl.measure(
        log_once, mlflow.pyfunc.load_model, f"models:/{name}/1", model, test, spec
    )
    result["runtime"] = "native"
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
