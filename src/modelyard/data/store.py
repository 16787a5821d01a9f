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
from modelyard.platform.search.paging import read_pages

DATASETS_PAGE_DEFAULT = 1_000  # datasets in one page, unless asked
DATASETS_PAGE_MAX = 10_000  # the most one page holds
VERSIONS_PAGE_DEFAULT = 100  # versions in one page: each carries its file list
VERSIONS_PAGE_MAX = 1_000
EDGES_PAGE_DEFAULT = 1_000  # lineage edges in one page
EDGES_PAGE_MAX = 10_000


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
    def list_datasets_page(
        self, *, limit: int = DATASETS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[DatasetInfo], str | None]:
        """One page (``limit``, 1 to 10,000) of the datasets, by name, and the token of the
        next page (None: the last)."""

    def list_datasets(self, *, limit: int | None = None) -> list[DatasetInfo]:
        """Every dataset (or the first ``limit``), by name: the pages followed to the end."""
        return read_pages(
            lambda size, token: self.list_datasets_page(limit=size, page_token=token),
            DATASETS_PAGE_MAX,
            limit,
        )

    @abstractmethod
    def list_versions_page(
        self, name: str, *, limit: int = VERSIONS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[DatasetVersion], str | None]:
        """One page (``limit``, 1 to 1,000) of the versions of a dataset, newest first,
        without their profiles, and the token of the next page."""

    def list_versions(self, name: str, *, limit: int | None = None) -> list[DatasetVersion]:
        """Every version (or the first ``limit``), newest first, without their profiles."""
        return read_pages(
            lambda size, token: self.list_versions_page(name, limit=size, page_token=token),
            VERSIONS_PAGE_MAX,
            limit,
        )

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
    def edges_page(
        self,
        node_type: str,
        node_id: str,
        *,
        limit: int = EDGES_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[LineageEdge], str | None]:
        """One page (``limit``, 1 to 10,000) of the edges that start or end at the node, in
        the order they were made, and the token of the next page."""

    def edges(self, node_type: str, node_id: str, *, limit: int | None = None) -> list[LineageEdge]:
        """Every edge (or the first ``limit``) that starts or ends at the node."""
        return read_pages(
            lambda size, token: self.edges_page(node_type, node_id, limit=size, page_token=token),
            EDGES_PAGE_MAX,
            limit,
        )

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

    def put_hashed(self, sha256: str, data: bytes) -> None:
        """Store ``data``, whose sha256 this process computed from this very (immutable)
        object: a store that checks what it is sent may trust it instead of hashing again."""
        self.put(sha256, [data], len(data))

    @abstractmethod
    def size(self, sha256: str) -> int:
        """Size of a stored blob; ``NotFound`` when missing."""

    @abstractmethod
    def read(self, sha256: str) -> Iterator[bytes]:
        """The bytes of a blob; ``NotFound`` when missing."""

    def local_path(self, sha256: str) -> Path | None:
        """A path to read the blob in place, when the store is a local folder."""
        return None
