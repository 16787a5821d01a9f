"""The contract of a dataset store, and of the content-addressed blob store beside it.

Two implementations of each: SQL + artifact repository (embedded, and what the server runs)
and REST (a client of the server). The client logic in ``client.py`` is written once against
these interfaces.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

from modelyard.data.entities import DatasetInfo, DatasetVersion, LineageEdge, NewVersion


class DatasetStore(ABC):
    @abstractmethod
    def create_version(
        self, draft: NewVersion, *, run_id: str | None = None, context: str | None = None
    ) -> tuple[DatasetVersion, bool]:
        """Register a snapshot whose files are all stored; (version, created).

        An identical snapshot (same digest) returns the existing version with created=False.
        With ``run_id`` the version is linked to the run as an input (``context``)."""

    @abstractmethod
    def get_version(
        self, name: str, version: int | None = None, digest: str | None = None
    ) -> DatasetVersion:
        """One version: the latest, a number, or the one with ``digest``."""

    @abstractmethod
    def list_datasets(self) -> list[DatasetInfo]: ...

    @abstractmethod
    def list_versions(self, name: str) -> list[DatasetVersion]:
        """Versions of a dataset, newest first, without their profiles."""

    @abstractmethod
    def set_expectations(self, name: str, version: int, suite_yaml: str | None) -> DatasetVersion:
        """Attach (or with None, remove) the expectation suite of a version."""

    @abstractmethod
    def delete_version(self, name: str, version: int, *, force: bool = False) -> int:
        """Delete a version; refused while lineage edges use it unless ``force`` (which also
        deletes those edges). Returns the number of edges deleted."""

    @abstractmethod
    def link(
        self, name: str, version: int, run_id: str, *, relation: str, context: str | None
    ) -> None:
        """Record an edge between a dataset version and a run (input or output)."""

    @abstractmethod
    def edges(self, node_type: str, node_id: str) -> list[LineageEdge]:
        """Every edge that starts or ends at the node."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class BlobStore(ABC):
    """Files stored once by their sha256."""

    @abstractmethod
    def missing(self, digests: Iterable[str]) -> list[str]:
        """Those of ``digests`` that are not stored yet."""

    @abstractmethod
    def put(self, sha256: str, chunks: Iterable[bytes], size: int) -> None:
        """Store a blob; refused (and nothing kept) if the bytes do not hash to ``sha256``."""

    @abstractmethod
    def size(self, sha256: str) -> int:
        """Size of a stored blob; ``NotFound`` when missing."""

    @abstractmethod
    def read(self, sha256: str) -> Iterator[bytes]:
        """The bytes of a blob; ``NotFound`` when missing."""

    def local_path(self, sha256: str) -> Path | None:
        """A path to read the blob in place, when the store is a local folder."""
        return None
