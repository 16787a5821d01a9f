"""Where the registry lives on a modelyard server, for the REST stores: paths and query params.

Names are checked here, since they travel as path segments.
"""

from __future__ import annotations

from typing import Any

from modelyard.registry.names import check_model_name, check_version

BASE = "/api/v1/registry"


def params(**values: Any) -> dict[str, Any]:
    """Query parameters without the ones not given (None)."""
    return {k: v for k, v in values.items() if v is not None}


def model_path(name: str) -> str:
    return f"{BASE}/models/{check_model_name(name)}"


def version_path(name: str, version: int) -> str:
    return f"{model_path(name)}/versions/{check_version(version)}"
