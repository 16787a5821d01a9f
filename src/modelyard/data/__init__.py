"""modelyard.data: versioned datasets, profiles, expectations and lineage.

Only re-exports the public API. The names load on first use (PEP 562), so the server and the
CLI, which import a few submodules, do not pay for Arrow, pandas and DuckDB until they need
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelyard.lazy import lazy_exports

_EXPORTS = {
    "DataClient": "client",
    "DatasetDiff": "compare",
    "DatasetInfo": "entities",
    "DatasetVersion": "entities",
    "LineageEdge": "entities",
    "LineageNode": "entities",
    "Expectation": "expectations",
    "Expectations": "expectations",
    "ColumnProfile": "profiling",
    "Profile": "profiling",
    "ColumnSchema": "schema",
    "Schema": "schema",
    "infer_schema": "schema",
    "RuleResult": "rule_result",
    "ValidationReport": "validation",
    "delete_version": "fluent",
    "diff": "fluent",
    "get": "fluent",
    "lineage": "fluent",
    "list_datasets": "fluent",
    "log_dataset": "fluent",
    "profile": "fluent",
    "set_expectations": "fluent",
    "validate": "fluent",
    "versions": "fluent",
}

__all__ = [
    "ColumnProfile",
    "ColumnSchema",
    "DataClient",
    "DatasetDiff",
    "DatasetInfo",
    "DatasetVersion",
    "Expectation",
    "Expectations",
    "LineageEdge",
    "LineageNode",
    "Profile",
    "RuleResult",
    "Schema",
    "ValidationReport",
    "delete_version",
    "diff",
    "get",
    "infer_schema",
    "lineage",
    "list_datasets",
    "log_dataset",
    "profile",
    "set_expectations",
    "validate",
    "versions",
]


__getattr__ = lazy_exports("modelyard.data", _EXPORTS, globals())


if TYPE_CHECKING:
    from modelyard.data.client import DataClient
    from modelyard.data.compare import DatasetDiff
    from modelyard.data.entities import DatasetInfo, DatasetVersion, LineageEdge, LineageNode
    from modelyard.data.expectations import Expectation, Expectations
    from modelyard.data.fluent import (
        delete_version,
        diff,
        get,
        lineage,
        list_datasets,
        log_dataset,
        profile,
        set_expectations,
        validate,
        versions,
    )
    from modelyard.data.profiling import ColumnProfile, Profile
    from modelyard.data.rule_result import RuleResult
    from modelyard.data.schema import ColumnSchema, Schema, infer_schema
    from modelyard.data.validation import ValidationReport
