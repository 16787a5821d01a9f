"""Loading a model for serving: the URI resolved to a name and version, the files verified,
the ONNX copy preferred (see ``modelyard.models.loaded``), one prediction to warm it up."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from modelyard.errors import InvalidArgument
from modelyard.models.api import load
from modelyard.serving.config import ModelSource
from modelyard.serving.runtime import ServedModel

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,255}$")


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
    if not name or not _NAME.match(name):
        raise InvalidArgument(
            f"{name!r} cannot name a served model (letters, digits, '_', '.', '-')", field="name"
        )
    loaded = load(uri, tracking_uri=tracking_uri, onnx_threads=onnx_threads)
    served = ServedModel(name, version, source.uri, loaded, registered)
    served.warm_up()
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
