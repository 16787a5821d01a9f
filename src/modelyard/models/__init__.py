"""modelyard.models: packaging models safely (flavors, signatures, verified model directories).

Only re-exports the public API, loaded on first use (PEP 562) like ``modelyard.data``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard.lazy import lazy_exports

_EXPORTS = {
    "LoadedModel": "loaded",
    "ModelInfo": "api",
    "load": "api",
    "log_model": "api",
    "save_model": "api",
    "register_model": "api",
    "ModelSpec": "directory",
    "TamperedModel": "directory",
    "PythonModel": "flavors.pyfunc",
    "Signature": "signature",
    "infer_signature": "signature",
}

__all__ = [
    "LoadedModel",
    "ModelInfo",
    "ModelSpec",
    "PythonModel",
    "Signature",
    "TamperedModel",
    "infer_signature",
    "load",
    "log_model",
    "register_model",
    "save_model",
]


__getattr__ = lazy_exports("modelyard.models", _EXPORTS, globals())


if TYPE_CHECKING:
    from modelyard.models.api import ModelInfo, load, log_model, register_model, save_model
    from modelyard.models.directory import ModelSpec, TamperedModel
    from modelyard.models.flavors.pyfunc import PythonModel
    from modelyard.models.loaded import LoadedModel
    from modelyard.models.signature import Signature, infer_signature
