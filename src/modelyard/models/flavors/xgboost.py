"""XGBoost models in XGBoost's own UBJSON format (data, not code: nothing to trust).

A scikit-learn wrapper (``XGBClassifier``, ``XGBRegressor``, ...) is restored as the same
wrapper, so ``predict`` returns labels for a classifier; a bare ``Booster`` predicts through a
``DMatrix``. The distribution may be ``xgboost`` or ``xgboost-cpu``; both install the module
``xgboost``, whose version is recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.models.directory import ModelFiles
from modelyard.models.flavors.base import Flavor, Predict, classes_option, classifier

MODEL_FILE = "model.ubj"
WRAPPERS = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor")


class XGBoostFlavor(Flavor):
    name = "xgboost"
    framework = "xgboost"

    def detect(self, model: Any) -> bool:
        module = type(model).__module__
        return module == "xgboost" or module.startswith("xgboost.")

    def framework_version(self) -> str | None:
        try:
            import xgboost
        except ImportError:
            return None
        return str(xgboost.__version__)

    def save(self, model: Any, root: Path, example: Any = None) -> dict[str, Any]:
        kind = type(model).__name__
        if kind != "Booster" and kind not in WRAPPERS:
            raise InvalidArgument(
                f"the xgboost flavor saves a Booster or one of {', '.join(WRAPPERS)}, not {kind}",
                field="model",
            )
        model.save_model(str(root / MODEL_FILE))
        return {"file": MODEL_FILE, "class": kind, **classes_option(model)}

    def load(self, files: ModelFiles, options: dict[str, Any], *, trusted: bool) -> Predict:
        import xgboost

        kind = str(options.get("class", "Booster"))
        path = str(files.path(options.get("file", MODEL_FILE)))
        if kind == "Booster":
            booster = xgboost.Booster()
            booster.load_model(path)

            def predict(data: Any) -> Any:
                return booster.predict(xgboost.DMatrix(data))

            return predict
        if kind not in WRAPPERS:
            raise InvalidArgument(f"unknown xgboost model class {kind!r}", field="class")
        model = getattr(xgboost, kind)()
        model.load_model(path)
        return classifier(model)

    def export_onnx(self, model: Any, signature: Any, example: Any, root: Path) -> dict[str, Any]:
        from modelyard.models.onnx_export import export_covered

        covered = ("XGBClassifier", "XGBRegressor")
        return export_covered(model, signature, example, root, _convert, covered)


def _convert(model: Any, matrix: Any) -> bytes:
    import copy

    from onnxmltools.convert import convert_xgboost

    from modelyard.models.onnx_export import float_input

    clone = copy.copy(model)
    booster = model.get_booster().copy()
    booster.feature_names = None  # the converter reads splits as f0, f1, ... only
    clone._Booster = booster
    types = float_input(matrix)
    return convert_xgboost(clone, initial_types=types).SerializeToString()  # type: ignore[no-any-return]
