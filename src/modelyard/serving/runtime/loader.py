"""Loading a model for serving: the URI resolved to a name and version, the files verified,
the ONNX copy preferred (see ``modelyard.models.loaded``), one prediction to warm it up."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from modelyard.errors import InvalidArgument, ModelyardError, PermissionDenied
from modelyard.models.api import load
from modelyard.serving.config import ModelSource
from modelyard.serving.runtime.served import ServedModel

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,255}")


def load_served(
    source: ModelSource, tracking_uri: str | None, onnx_threads: int = 0
) -> ServedModel:
    uri = source.uri
    version: str | None = None
    name = source.name
    registered = None
    if uri.startswith("models:/"):
        from modelyard.config import Settings
        from modelyard.registry.client import RegistryClient

        found = RegistryClient(tracking_uri, settings=Settings.from_env()).resolve_model_uri(uri)
        uri = f"models:/{found.name}/{found.version}"  # an alias that moves later stays put
        name = name or found.name
        registered = found.name
        version = str(found.version)
    else:
        registered = PurePosixPath(uri.rstrip("/")).name
        name = name or registered
    if not name or not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"{name!r} cannot name a served model (letters, digits, '_', '.', '-')", field="name"
        )
    try:
        loaded = load(uri, tracking_uri=tracking_uri, onnx_threads=onnx_threads)
    except PermissionDenied as exc:  # serving never loads with trust: say what does work
        raise PermissionDenied(
            f"{source.uri}: {exc.message}. modelyard serve never loads with trust: serve a "
            "model with an ONNX copy, or one whose classes --import names",
            field=exc.field,
        ) from None
    served = ServedModel(name, version, source.uri, loaded, registered)
    try:
        served.warm_up()
    except ModelyardError:
        raise
    except Exception as exc:  # noqa: BLE001 - the model's own failure, said in one line
        raise InvalidArgument(
            f"{source.uri}: the warm-up prediction on its input example failed: "
            f"{type(exc).__name__}: {exc}"[:1000],
            field="model",
        ) from None
    return served


def import_modules(names: list[str]) -> None:
    """Import the modules the person serving named (``--import``): their ``PythonModel``
    classes are then known, and models naming them load without ``trusted=True``."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise InvalidArgument(f"--import {name}: {exc}", field="imports") from exc
