"""Custom Python models: a ``PythonModel`` subclass named by its import path, or (trusted only)
a cloudpickled object.

A ``PythonModel`` is saved as the dotted path of its class plus the files it declares. Loading
never lets the model file choose code to run: the class must already be imported in this
process (every subclass is recorded when its module is imported: the user imported it, or
named it with ``modelyard serve --import``), and nothing is imported on the file's word unless
the caller passed ``trusted=True``. Importing a module runs its top-level code, so "import,
then check that it is a PythonModel" would already be too late. Anything else needs
cloudpickle, which runs arbitrary code when loaded, so it is saved only on request and loaded
only with ``trusted=True``.
"""

from __future__ import annotations

import importlib
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.models.directory import ModelFiles
from modelyard.models.flavors.base import Flavor, Predict
from modelyard.store.artifacts.paths import safe_relpath

PICKLE_FILE = "model.cloudpickle"
# "module:qualname" -> every PythonModel subclass imported in this process
_IMPORTED: dict[str, type[PythonModel]] = {}


class PythonModel(ABC):
    """Subclass it: ``predict(self, data)``; optional ``artifacts`` (name -> local file) that
    are copied into the model and handed to ``load_context(paths)`` when it is loaded."""

    artifacts: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _IMPORTED[f"{cls.__module__}:{cls.__qualname__}"] = cls

    def load_context(self, paths: dict[str, Path]) -> None:  # noqa: B027 - optional hook
        """Called after loading, with the local paths of the declared artifacts."""

    @abstractmethod
    def predict(self, data: Any) -> Any:
        """The model's answer for ``data`` (already checked against the signature)."""


class PythonFunctionFlavor(Flavor):
    name = "python_function"
    framework = ""
    load_requires = ("cloudpickle",)  # for models saved by pickle (loaded only when trusted)

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

    def load(self, files: ModelFiles, options: dict[str, Any], *, trusted: bool) -> Predict:
        if "pickle" in options:
            if not trusted:
                raise PermissionDenied(
                    "this model is a pickle, and loading a pickle runs whatever code it holds; "
                    "pass trusted=True only for a model from a source you trust",
                    field="trusted",
                )
            import cloudpickle

            obj = cloudpickle.loads(files.path(options["pickle"], field="pickle").read_bytes())
            return obj.predict if hasattr(obj, "predict") else obj  # type: ignore[no-any-return]
        cls = model_class(options.get("class"), trusted=trusted)
        declared = options.get("artifacts") or {}
        if not isinstance(declared, dict):
            raise InvalidArgument("artifacts must map names to model files", field="artifacts")
        paths = {str(k): files.path(v, field=f"artifacts.{k}") for k, v in declared.items()}
        model = cls()
        model.load_context(paths)
        return model.predict


def model_class(name: Any, *, trusted: bool) -> type[PythonModel]:
    """The ``PythonModel`` subclass ``module:qualname`` names: one already imported, or (only
    with ``trusted``) one imported now."""
    text = str(name or "")
    module, sep, qualname = text.partition(":")
    if not sep or not module or not qualname:
        raise InvalidArgument(
            f"class must be 'module:ClassName', not {text[:200]!r}", field="class"
        )
    known = _IMPORTED.get(text)
    if known is not None:
        return known
    if not trusted:
        raise PermissionDenied(
            f"the model's class {text[:200]!r} is not imported in this process, and importing "
            f"the module the model file names would run its code: import {module!r} first "
            "(modelyard serve --import MODULE), or load with trusted=True if you trust where "
            "the model came from",
            field="class",
        )
    try:
        target: Any = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise InvalidArgument(
            f"cannot import the model class {text!r}: {exc}", field="class"
        ) from exc
    if not (isinstance(target, type) and issubclass(target, PythonModel)):
        raise InvalidArgument(f"{text!r} is not a PythonModel", field="class")
    return target
