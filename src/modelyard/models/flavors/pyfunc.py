"""Custom Python models: a ``PythonModel`` subclass named by its import path, or (trusted only)
a cloudpickled object.

A ``PythonModel`` is saved as the dotted path of its class plus the files it declares; loading
imports the class (code the user installed, not code inside the model) and calls
``load_context`` with the files. Anything else needs cloudpickle, which can run arbitrary code
when loaded, so it is saved only on request and loaded only with ``trusted=True``.
"""

from __future__ import annotations

import importlib
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.models.flavors.base import Flavor, Predict
from modelyard.store.artifacts.paths import safe_relpath

PICKLE_FILE = "model.cloudpickle"


class PythonModel(ABC):
    """Subclass it: ``predict(self, data)``; optional ``artifacts`` (name -> local file) that
    are copied into the model and handed to ``load_context(paths)`` when it is loaded."""

    artifacts: dict[str, str] = {}

    def load_context(self, paths: dict[str, Path]) -> None:  # noqa: B027 - optional hook
        """Called after loading, with the local paths of the declared artifacts."""

    @abstractmethod
    def predict(self, data: Any) -> Any:
        """The model's answer for ``data`` (already checked against the signature)."""


class PythonFunctionFlavor(Flavor):
    name = "python_function"
    framework = ""

    def detect(self, model: Any) -> bool:
        return isinstance(model, PythonModel)

    def save(self, model: Any, root: Path, example: Any = None) -> dict[str, Any]:
        if not isinstance(model, PythonModel):
            return self._save_pickle(model, root)
        cls = type(model)
        if "<locals>" in cls.__qualname__ or cls.__module__ == "__main__":
            raise InvalidArgument(
                f"{cls.__qualname__} must be importable (defined at module level in an "
                "installed module, not in __main__ or a function) to be loaded without pickle",
                field="model",
            )
        names = {}
        for key, local in (model.artifacts or {}).items():
            rel = safe_relpath(f"artifacts/{key}")
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
            names[key] = rel
        return {"class": f"{cls.__module__}:{cls.__qualname__}", "artifacts": names}

    def _save_pickle(self, model: Any, root: Path) -> dict[str, Any]:
        import cloudpickle

        (root / PICKLE_FILE).write_bytes(cloudpickle.dumps(model))
        return {"pickle": PICKLE_FILE}

    def load(self, root: Path, options: dict[str, Any], *, trusted: bool) -> Predict:
        if "pickle" in options:
            if not trusted:
                raise PermissionDenied(
                    "this model is a pickle, and loading a pickle runs whatever code it holds; "
                    "pass trusted=True only for a model from a source you trust",
                    field="trusted",
                )
            import cloudpickle

            obj = cloudpickle.loads((root / safe_relpath(str(options["pickle"]))).read_bytes())
            return obj.predict if hasattr(obj, "predict") else obj  # type: ignore[no-any-return]
        module, _, qualname = str(options.get("class", "")).partition(":")
        try:
            target: Any = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError, ValueError) as exc:
            raise InvalidArgument(
                f"cannot import the model class {options.get('class')!r}: {exc}", field="class"
            ) from exc
        if not (isinstance(target, type) and issubclass(target, PythonModel)):
            raise InvalidArgument(f"{options.get('class')!r} is not a PythonModel", field="class")
        model = target()
        paths = {k: root / safe_relpath(str(v)) for k, v in options.get("artifacts", {}).items()}
        model.load_context(paths)
        return model.predict
