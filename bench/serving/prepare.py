"""Prepare one tool's model folder: ``python prepare.py TOOL KIND OUT`` in that tool's venv.

modelyard: a model directory (skops + ONNX copy); MLflow: ``mlflow.sklearn.save_model``;
MLServer: a joblib file and ``model-settings.json`` for its sklearn runtime; BentoML: a
joblib file and a ``service.py`` that loads it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload

BENTO_SERVICE = """
import bentoml, joblib, numpy as np

@bentoml.service(workers=1)
class Model:
    def __init__(self) -> None:
        self.model = joblib.load("model.joblib")

    @bentoml.api
    def predict(self, input: np.ndarray) -> np.ndarray:
        return self.model.predict(input)
"""


def main() -> None:
    tool, kind, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    model = workload.train(kind)
    x, _ = workload.data()
    if tool == "modelyard":
        import pandas as pd

        import modelyard as yard

        cols = [f"f{i}" for i in range(workload.FEATURES)]
        yard.models.save_model(model, out, input_example=pd.DataFrame(x[:5], columns=cols))
    elif tool == "mlflow":
        import mlflow.sklearn
        import pandas as pd

        cols = [f"f{i}" for i in range(workload.FEATURES)]
        mlflow.sklearn.save_model(
            model,
            str(out),
            input_example=pd.DataFrame(x[:5], columns=cols),
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
    else:
        import joblib

        out.mkdir(parents=True)
        joblib.dump(model, out / "model.joblib")
        if tool == "mlserver":
            settings = {
                "name": "model",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib"},
            }
            (out / "model-settings.json").write_text(json.dumps(settings))
        else:
            (out / "service.py").write_text(BENTO_SERVICE)


if __name__ == "__main__":
    main()
