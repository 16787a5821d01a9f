"""What a flavor is: a small descriptor that detects, saves and loads one kind of model.

Flavors are found by name in ``FLAVORS`` (built in) and through the ``modelyard.flavors``
entry-point group (third parties); the implementation module is imported only when used, so
naming a flavor costs nothing until a model of that kind is saved or loaded.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.models.directory import ModelFiles

Predict = Callable[[Any], Any]


def plain_classes(classes: Any) -> list[Any]:
    """A classifier's classes as plain values (numpy scalars as Python ones), for model.yaml."""
    return [c.item() if hasattr(c, "item") else c for c in classes]


class Predictor:
    """A flavor's predict function that also answers class probabilities: ``proba`` returns
    one column per class, in the order of ``classes``."""

    __slots__ = ("classes", "predict", "proba")

    def __init__(
        self, predict: Predict, proba: Predict | None = None, classes: list[Any] | None = None
    ) -> None:
        self.predict = predict
        self.proba = proba
        self.classes = classes

    def __call__(self, data: Any) -> Any:
        return self.predict(data)


def classifier(model: Any) -> Predict:
    """``model.predict``, with ``predict_proba`` and ``classes_`` when the model has them."""
    proba = getattr(model, "predict_proba", None) if hasattr(model, "classes_") else None
    if proba is None:
        return model.predict  # type: ignore[no-any-return]
    return Predictor(model.predict, proba, plain_classes(model.classes_))


def classes_option(model: Any) -> dict[str, Any]:
    """``{"classes": [...]}`` for a model that answers class probabilities, else ``{}``."""
    if hasattr(model, "classes_") and hasattr(model, "predict_proba"):
        return {"classes": plain_classes(model.classes_)}
    return {}


class Flavor(ABC):
    name: str = ""
    framework: str = ""  # the distribution whose version is recorded, e.g. "scikit-learn"
    # distributions ``load`` imports besides the framework (what an image serving it installs)
    load_requires: tuple[str, ...] = ()

    @abstractmethod
    def detect(self, model: Any) -> bool:
        """Whether ``model`` is an object this flavor saves."""

    @abstractmethod
    def save(self, model: Any, root: Path, example: Any = None) -> dict[str, Any]:
        """Write the model's files under ``root`` (``example``: the input example, for
        frameworks that trace); return the options ``load`` needs."""

    @abstractmethod
    def load(self, files: ModelFiles, options: dict[str, Any], *, trusted: bool) -> Predict:
        """A predict function over the saved files (already verified). Every file is reached
        through ``files.path(name)``, which refuses a name outside the hashed files; nothing
        that runs code is loaded unless ``trusted``."""

    def predict_raw(self, model: Any, data: Any) -> Any:
        """What the in-memory ``model`` answers for checked ``data`` (for the output spec)."""
        return model.predict(data)

    def framework_version(self) -> str | None:
        """The installed version of ``framework`` (None when it is not installed)."""
        if not self.framework:
            return None
        try:
            return version(self.framework)
        except PackageNotFoundError:
            return None

    def export_onnx(self, model: Any, signature: Any, example: Any, root: Path) -> dict[str, Any]:
        """Write an ONNX copy under ``root`` if this flavor can; return what to record."""
        return {"status": "skipped", "reason": f"the {self.name} flavor has no ONNX converter"}


# name -> "module:Class", imported on first use
BUILTIN = {
    "sklearn": "modelyard.models.flavors.sklearn:SklearnFlavor",
    "xgboost": "modelyard.models.flavors.xgboost:XGBoostFlavor",
    "lightgbm": "modelyard.models.flavors.lightgbm:LightGBMFlavor",
    "pytorch": "modelyard.models.flavors.pytorch:PyTorchFlavor",
    "python_function": "modelyard.models.flavors.pyfunc:PythonFunctionFlavor",
}
_loaded: dict[str, Flavor] = {}


def _import(target: str) -> Flavor:
    module, _, attr = target.partition(":")
    flavor: Flavor = getattr(importlib.import_module(module), attr)()
    return flavor


def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group="modelyard.flavors")}


def get_flavor(name: str) -> Flavor:
    if name not in _loaded:
        target = BUILTIN.get(name) or _plugins().get(name)
        if target is None:
            known = sorted({*BUILTIN, *_plugins()})
            raise InvalidArgument(
                f"unknown model flavor {name!r}; known: {', '.join(known)}", field="flavor"
            )
        _loaded[name] = _import(target)
    return _loaded[name]


def detect_flavor(model: Any) -> Flavor:
    """The first flavor that recognises ``model`` (built-ins, then plugins)."""
    for name in [*BUILTIN, *_plugins()]:
        try:
            flavor = get_flavor(name)
        except ImportError:
            continue  # the framework of that flavor is not installed
        if flavor.detect(model):
            return flavor
    raise InvalidArgument(
        f"no flavor knows how to save a {type(model).__module__}.{type(model).__name__}; "
        "wrap it in a modelyard.models.PythonModel or pass flavor=...",
        field="model",
    )
