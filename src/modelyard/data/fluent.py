"""``yard.data.*``: the data API on the current tracking URI, aware of the active run.

Inside ``yard.start_run()``, ``log_dataset(..., context="training")`` records the version as
an input of the run (the run is flushed to the store first, so the edge can point at it).
"""

from __future__ import annotations

from typing import Any

from modelyard.data.client import DataClient
from modelyard.data.compare import DatasetDiff
from modelyard.data.entities import DatasetInfo, DatasetVersion, LineageEdge
from modelyard.data.expectations import Expectations
from modelyard.data.frames import tabular_source
from modelyard.data.profiling import Profile, profile_batches
from modelyard.data.validation import ValidationReport
from modelyard.platform.backends import Part
from modelyard.platform.current import current_backend
from modelyard.tracking import fluent as tracking

_client = Part(lambda backend: DataClient(backend.uri, settings=backend.settings))


def current_client() -> DataClient:
    """The data client of the current tracking URI (one per URI, shared)."""
    return _client(current_backend())


def log_dataset(
    data: Any,
    name: str,
    *,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    expectations: Expectations | None = None,
    context: str | None = None,
    run_id: str | None = None,
    profile: bool = True,
) -> DatasetVersion:
    """Store ``data`` (DataFrame, Arrow table, file or folder) as the next version of ``name``;
    inside an active run (or with ``run_id``) it is linked to the run as an input."""
    if run_id is None:
        active = tracking.active_run()
        if active is not None:
            run_id = active.info.run_id
    if run_id is not None:
        tracking.flush()
    return current_client().log_dataset(
        data,
        name,
        tags=tags,
        description=description,
        expectations=expectations,
        run_id=run_id,
        context=context,
        profile=profile,
    )


def get(name: str, version: int | None = None, *, digest: str | None = None) -> DatasetVersion:
    """A version of a dataset: the latest, ``version=3``, or the one with ``digest``."""
    return current_client().get(name, version, digest=digest)


def list_datasets(*, limit: int | None = None) -> list[DatasetInfo]:
    """Every dataset (or the first ``limit``), by name."""
    return current_client().list_datasets(limit=limit)


def versions(name: str, *, limit: int | None = None) -> list[DatasetVersion]:
    """Every version of ``name`` (or the first ``limit``), newest first, without profiles."""
    return current_client().versions(name, limit=limit)


def diff(name: str, a: int, b: int) -> DatasetDiff:
    result: DatasetDiff = current_client().diff(name, a, b)
    return result


def profile(data: Any) -> Profile:
    """Profile a DataFrame, Arrow table or Parquet/CSV path without storing anything."""
    source = tabular_source(data)
    return profile_batches(source.schema, source.batches())


def validate(data: Any, suite: Expectations | None = None) -> ValidationReport:
    """Validate data against a suite; a ``DatasetVersion`` may use its own stored suite."""
    return current_client().validate(data, suite)


def set_expectations(name: str, version: int, suite: Expectations | None) -> DatasetVersion:
    return current_client().set_expectations(name, version, suite)


def delete_version(name: str, version: int, *, force: bool = False) -> int:
    return current_client().delete_version(name, version, force=force)


def lineage(node: str, *, depth: int = 5) -> list[LineageEdge]:
    """Edges around ``dataset:<name>[@<version>]`` or ``run:<run id>``, ``depth`` hops out."""
    return current_client().lineage(node, depth=depth)
