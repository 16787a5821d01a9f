"""scikit-learn models, saved with skops (never pickle).

skops refuses to rebuild types it does not know. Types from scikit-learn, numpy and scipy are
trusted; any other type in the file (a user's own transformer, say) needs ``trusted=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.errors import PermissionDenied
from modelyard.models.flavors.base import Flavor, Predict

MODEL_FILE = "model.skops"
SAFE_PREFIXES = ("sklearn.", "numpy.", "scipy.")


class SklearnFlavor(Flavor):
    name = "sklearn"
    framework = "scikit-learn"

    def detect(self, model: Any) -> bool:
        return type(model).__module__.startswith("sklearn.") and hasattr(model, "predict")

    def save(self, model: Any, root: Path, example: Any = None) -> dict[str, Any]:
        import skops.io as sio

        sio.dump(model, root / MODEL_FILE)
        return {"file": MODEL_FILE, "predict_proba": hasattr(model, "predict_proba")}

    def load(self, root: Path, options: dict[str, Any], *, trusted: bool) -> Predict:
        import skops.io as sio

        path = root / str(options.get("file", MODEL_FILE))
        unknown = sio.get_untrusted_types(file=path)
        foreign = [t for t in unknown if not t.startswith(SAFE_PREFIXES)]
        if foreign and not trusted:
            raise PermissionDenied(
                f"the model holds types outside scikit-learn/numpy/scipy ({', '.join(foreign)}); "
                "load it with trusted=True only if you trust where it came from",
                field="trusted",
            )
        model = sio.load(path, trusted=unknown)
        return model.predict  # type: ignore[no-any-return]

    def export_onnx(self, model: Any, signature: Any, example: Any, root: Path) -> dict[str, Any]:
        from modelyard.models.onnx_export import convert_sklearn, export_checked

        return export_checked(model, signature, example, root, convert_sklearn, ("skl2onnx",))
