"""scikit-learn models, saved with skops (never pickle).

skops refuses to rebuild types it does not know. On top of its own list, the exact types and
pure functions in ``sklearn_trust`` are accepted; anything else in the file (a user's own
transformer, a function stored in a ``FunctionTransformer``, a ``score_func``) needs
``trusted=True``, and the refusal names it.

A loaded model is called one call at a time in a process: scikit-learn's joblib wrapper
(``sklearn.utils.parallel``: column transformers, ensembles, even with ``n_jobs=None``) swaps
the process's warning filters around every call with ``warnings.catch_warnings``, which is not
thread-safe, so two calls at once (a server's threads) left the filters empty or changed for
good and warned "should be used with sklearn.utils.parallel.Parallel" at each call. A server
scales with ``--workers``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.models.directory import ModelFiles
from modelyard.models.flavors.base import Flavor, Predict, Predictor, classes_option, classifier
from modelyard.models.flavors.sklearn_trust import unsafe_settings, untrusted

MODEL_FILE = "model.skops"
_ONE_CALL = threading.Lock()  # for every scikit-learn model of the process (see above)


def _one_at_a_time(fn: Predict) -> Predict:
    def call(data: Any) -> Any:
        with _ONE_CALL:
            return fn(data)

    return call


class SklearnFlavor(Flavor):
    name = "sklearn"
    framework = "scikit-learn"
    load_requires = ("skops",)

    def detect(self, model: Any) -> bool:
        return type(model).__module__.startswith("sklearn.") and hasattr(model, "predict")

    def save(self, model: Any, root: Path, example: Any = None) -> dict[str, Any]:
        import skops.io as sio

        sio.dump(model, root / MODEL_FILE)
        return {
            "file": MODEL_FILE,
            "predict_proba": hasattr(model, "predict_proba"),
            **classes_option(model),
        }

    def load(self, files: ModelFiles, options: dict[str, Any], *, trusted: bool) -> Predict:
        import skops.io as sio

        path = files.path(options.get("file", MODEL_FILE))
        try:
            unknown = sio.get_untrusted_types(file=path)
        except Exception as exc:  # noqa: BLE001 - any parse failure: not a skops file we read
            raise InvalidArgument(
                f"{path.name} is not a readable skops file: {type(exc).__name__}: {exc}"[:500],
                field="file",
            ) from None
        foreign = untrusted(unknown)
        if foreign and not trusted:
            shown = ", ".join(foreign[:10]) + (
                f" and {len(foreign) - 10} more" if len(foreign) > 10 else ""
            )
            raise PermissionDenied(
                f"the model holds types or functions that are not known to be safe ({shown}); "
                "loading them could run code: load it with trusted=True only if you trust "
                "where it came from",
                field="trusted",
            )
        model = sio.load(path, trusted=unknown)  # builds objects; runs none of their methods
        risky = unsafe_settings(model)
        if risky and not trusted:
            raise PermissionDenied(
                f"the model has settings that read or write files ({', '.join(risky[:5])}); "
                "load it with trusted=True only if you trust where it came from",
                field="trusted",
            )
        found = classifier(model)
        if not isinstance(found, Predictor):
            return _one_at_a_time(found)
        proba = None if found.proba is None else _one_at_a_time(found.proba)
        return Predictor(_one_at_a_time(found.predict), proba, found.classes)

    def export_onnx(self, model: Any, signature: Any, example: Any, root: Path) -> dict[str, Any]:
        from modelyard.models.onnx_export import convert_sklearn, export_checked

        return export_checked(model, signature, example, root, convert_sklearn, ("skl2onnx",))
