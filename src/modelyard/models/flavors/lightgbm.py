"""LightGBM models in LightGBM's own text format (data, not code: nothing to trust).

The booster is saved as text; for a scikit-learn wrapper the classes are recorded beside it,
so a loaded ``LGBMClassifier`` still answers labels (the booster alone answers probabilities).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.models.directory import ModelFiles
from modelyard.models.flavors.base import Flavor, Predict, Predictor, classes_option

MODEL_FILE = "model.lgb.txt"


class LightGBMFlavor(Flavor):
    name = "lightgbm"
    framework = "lightgbm"

    def detect(self, model: Any) -> bool:
        module = type(model).__module__
        return module == "lightgbm" or module.startswith("lightgbm.")

    def save(self, model: Any, root: Path, example: Any = None) -> dict[str, Any]:
        kind = type(model).__name__
        booster = model if kind == "Booster" else getattr(model, "booster_", None)
        if booster is None:
            raise InvalidArgument(
                f"the lightgbm flavor saves a Booster or a fitted LGBM model, not {kind}",
                field="model",
            )
        booster.save_model(str(root / MODEL_FILE))
        options: dict[str, Any] = {"file": MODEL_FILE, "class": kind}
        options.update(classes_option(model))
        return options

    def load(self, files: ModelFiles, options: dict[str, Any], *, trusted: bool) -> Predict:
        import lightgbm
        import numpy as np

        booster = lightgbm.Booster(model_file=str(files.path(options.get("file", MODEL_FILE))))
        classes = options.get("classes")
        if classes is None:
            return booster.predict
        labels = np.asarray(classes)

        def proba(data: Any) -> Any:
            found = np.asarray(booster.predict(data))
            if found.ndim == 1:  # binary: the probability of the second class
                return np.column_stack([1.0 - found, found])
            return found

        def predict(data: Any) -> Any:
            return labels[np.argmax(proba(data), axis=1)]

        return Predictor(predict, proba, list(classes))

    def export_onnx(self, model: Any, signature: Any, example: Any, root: Path) -> dict[str, Any]:
        from modelyard.models.onnx_export import export_covered

        covered = ("LGBMClassifier", "LGBMRegressor")
        return export_covered(model, signature, example, root, _convert, covered)


def _convert(model: Any, matrix: Any) -> bytes:
    from onnxmltools.convert import convert_lightgbm

    from modelyard.models.onnx_export import float_input

    types = float_input(matrix)
    graph = convert_lightgbm(model, initial_types=types, zipmap=False)
    return graph.SerializeToString()  # type: ignore[no-any-return]
