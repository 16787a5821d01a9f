"""The model ``batch_predict`` scores with: loaded once by a URI pinned to one version (an
alias or ``latest`` resolved first, so the cache key and the lineage name what was used), its
signature checked (a column signature picks and orders the input columns), and the node its
lineage edge starts from."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument, ModelyardError

log = logging.getLogger("modelyard.pipelines")


@dataclass
class ScoringModel:
    loaded: Any  # LoadedModel
    uri: str  # pinned: models:/name/3, runs:/..., or a folder
    node: tuple[str, str] | None  # ("model_version", id) or ("run", id); None for a folder

    @property
    def features(self) -> list[tuple[str, str]]:
        signature = self.loaded.signature
        return [(c.name, c.type) for c in signature.inputs]


def pin_model_uri(model_uri: str, tracking_uri: str | None) -> tuple[str, tuple[str, str] | None]:
    """``models:/name@alias`` -> ``models:/name/3`` and its version's node; a ``runs:/`` URI
    names its run; a folder is used as it is."""
    if model_uri.startswith("models:/"):
        from modelyard.registry.client import RegistryClient

        found = RegistryClient(tracking_uri).resolve_model_uri(model_uri)
        return f"models:/{found.name}/{found.version}", ("model_version", found.version_id)
    if model_uri.startswith("runs:/"):
        return model_uri, ("run", model_uri[len("runs:/") :].partition("/")[0])
    return model_uri, None


def load_scoring_model(model_uri: Any, tracking_uri: str | None, workers: int) -> ScoringModel:
    """The model, loaded and checked; every failure a modelyard error on ``model_uri``."""
    from modelyard.models.api import load

    if not isinstance(model_uri, str | Path) or not str(model_uri):
        raise InvalidArgument(
            "model_uri must be models:/<name>/<version>, models:/<name>@<alias>, "
            f"runs:/<run id>/<path> or a model folder, not {model_uri!r}",
            field="model_uri",
        )
    text = str(model_uri)
    try:
        pinned, node = pin_model_uri(text, tracking_uri)
        loaded = load(pinned, tracking_uri=tracking_uri, onnx_threads=1 if workers > 1 else 0)
    except ModelyardError as exc:
        raise _on_model_uri(exc, text) from None
    signature = loaded.signature
    if signature is None or signature.kind != "columns":
        what = "no signature" if signature is None else "a tensor signature"
        raise InvalidArgument(
            f"model_uri {text!r}: the model has {what}; batch_predict scores models whose "
            "signature names their input columns (log it with a DataFrame input example)",
            field="model_uri",
        )
    if loaded.runtime != "onnx":
        log.warning(
            "batch_predict: %s has no ONNX copy (%s); scoring with the model's native predict",
            pinned,
            loaded.onnx.get("reason", "not exported"),
        )
    return ScoringModel(loaded, pinned, node)


def _on_model_uri(exc: ModelyardError, text: str) -> ModelyardError:
    """The same error (same type, same code) said of ``model_uri``."""
    try:
        return type(exc)(f"model_uri {text!r}: {exc.message}", field="model_uri")
    except TypeError:  # a subclass with a constructor of its own: as it was
        return exc
