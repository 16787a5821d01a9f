"""The artifact repository interface that every storage backend implements.

Owns the contract (paths validated first, streaming writes hashed on the way, size limits that
leave nothing behind) and the operations built on it once for all backends.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from modelyard.errors import InvalidArgument, PayloadTooLarge
from modelyard.store.artifacts.paths import safe_relpath
from modelyard.store.downloads import write_download

CHUNK_SIZE = 1 << 20

Progress = Callable[[int], None]


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative posix path under the repository root
    size: int
    sha256: str  # hex


Commit = Callable[["StoredFile"], None]  # checks a stored file before it takes its place


@dataclass(frozen=True)
class ArtifactEntry:
    path: str  # relative posix path under the repository root
    is_dir: bool
    size: int | None  # None for directories


class StreamMeter:
    """Counts and hashes the bytes of one stream, enforcing an optional size limit."""

    def __init__(
        self, path: str, max_bytes: int | None = None, known_sha256: str | None = None
    ) -> None:
        if max_bytes is not None and max_bytes < 0:
            raise InvalidArgument(f"max_bytes must be >= 0, got {max_bytes}", field="max_bytes")
        self.path = path
        self.max_bytes = max_bytes
        self.size = 0
        self.known_sha256 = known_sha256  # the caller hashed these bytes: not hashed again
        self._hash = hashlib.sha256()

    def feed(self, chunk: bytes) -> None:
        """Account for ``chunk``; raise ``PayloadTooLarge`` once the limit is passed."""
        self.size += len(chunk)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"artifact {self.path!r} is larger than the limit of {self.max_bytes} bytes",
                field="path",
            )
        if self.known_sha256 is None:
            self._hash.update(chunk)

    def result(self) -> StoredFile:
        digest = self.known_sha256 or self._hash.hexdigest()
        return StoredFile(path=self.path, size=self.size, sha256=digest)


def read_file_chunks(
    local_path: Path, chunk_size: int = CHUNK_SIZE, progress: Progress | None = None
) -> Iterator[bytes]:
    """Yield the content of a local file in chunks, reporting each chunk's size."""
    with open(local_path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            if progress is not None:
                progress(len(chunk))
            yield chunk


class ArtifactRepository(ABC):
    """Files addressed by relative POSIX paths under one root (a folder or a bucket prefix)."""

    root_uri: str

    @abstractmethod
    def write_stream(
        self,
        path: str,
        chunks: Iterable[bytes],
        *,
        max_bytes: int | None = None,
        before_commit: Commit | None = None,
        known_sha256: str | None = None,
    ) -> StoredFile:
        """Store ``chunks`` at ``path`` atomically; the file appears only once complete.
        ``before_commit(stored)`` runs once every byte is written and hashed, just before
        the file takes its place: if it raises, nothing at ``path`` changes.
        ``known_sha256``: the digest the caller computed in this process from these very
        (immutable) bytes; the repository reports it instead of hashing them again."""

    @abstractmethod
    def read_stream(self, path: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Iterate over the content at ``path``; ``NotFound`` is raised before iteration."""

    @abstractmethod
    def size(self, path: str) -> int:
        """Size in bytes of the file at ``path``; ``NotFound`` when missing."""

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether a file or a non-empty folder exists at ``path``."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[ArtifactEntry]:
        """Direct children of ``prefix`` (``""`` = root), sorted by path; ``[]`` if missing."""

    @abstractmethod
    def delete(self, prefix: str = "") -> None:
        """Delete a file or a folder recursively (``""`` = everything); no error if missing."""

    @abstractmethod
    def child(self, prefix: str) -> ArtifactRepository:
        """A repository of the same backend rooted at ``root/prefix``."""

    def local_file(self, path: str) -> Path | None:
        """The file at ``path`` on this machine's disk, to read in place; None if the backend
        is not a local folder (or nothing is there)."""
        return None

    def write_bytes(self, path: str, data: bytes) -> StoredFile:
        return self.write_stream(path, [data])

    def write_file(
        self,
        path: str,
        local_path: Path,
        *,
        progress: Progress | None = None,
        max_bytes: int | None = None,
        before_commit: Commit | None = None,
    ) -> StoredFile:
        rel, source = self._file_arguments(path, local_path)
        return self.write_stream(
            rel,
            read_file_chunks(source, CHUNK_SIZE, progress),
            max_bytes=max_bytes,
            before_commit=before_commit,
        )

    @staticmethod
    def _file_arguments(path: str, local_path: Path) -> tuple[str, Path]:
        """The checks every ``write_file`` starts with: a safe destination, a regular file."""
        source = Path(local_path)
        if not source.is_file():
            raise InvalidArgument(f"{str(source)!r} is not a regular file", field="local_path")
        return safe_relpath(path), source

    def read_bytes(self, path: str) -> bytes:
        return b"".join(self.read_stream(path))

    def download(
        self, path: str, local_path: Path, *, progress: Progress | None = None
    ) -> StoredFile:
        """Copy the file at ``path`` to ``local_path``, replacing it atomically (a link there is
        replaced, never written through: ``store.downloads``)."""
        rel = safe_relpath(path)
        chunks = self.read_stream(rel)
        target = Path(local_path).absolute()
        meter = StreamMeter(rel)

        def metered() -> Iterator[bytes]:
            for chunk in chunks:
                meter.feed(chunk)
                yield chunk

        write_download(target.parent, target.name, metered(), progress=progress, fsync=True)
        return meter.result()
