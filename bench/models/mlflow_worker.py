"""MLflow's side of the models benchmark: ``python mlflow_worker.py SPEC_JSON``.

The same steps as yard_worker.py with MLflow's own calls: ``mlflow.<flavor>.log_model(...,
registered_model_name=...)`` and ``mlflow.pyfunc.load_model("models:/name/1").predict``.
MLflow 3 saves scikit-learn models with skops and refuses a forest's tree type unless it is
named as trusted, so it is.
"""

from __future__ import annotations

import json
import sys
import time
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

    log_s = wl.timed(log_once, int(spec["log_repeats"]))
    uri = f"models:/{name}/1"
    t0 = time.perf_counter()
    loaded = mlflow.pyfunc.load_model(uri)
    first_load = time.perf_counter() - t0
    load_s = wl.timed(lambda: mlflow.pyfunc.load_model(uri), int(spec["load_repeats"]))
    latency = wl.predict_latency(loaded.predict, test, spec)
    result = {
        "log": wl.summary(log_s),
        "first_load_s": first_load,
        "load": wl.summary(load_s),
        **latency,
        "agreement": wl.agreement(loaded.predict(test), model.predict(test)),
        "runtime": "native",
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
