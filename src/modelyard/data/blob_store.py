"""Dataset blobs on an artifact repository: ``datasets/blobs/ab/<sha256>``, verified on write.

A blob becomes visible only once its bytes are known to hash to its name: the check runs as the
last chunk passes, so a wrong upload aborts the (atomic) write instead of being deleted later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from modelyard.data.manifest import blob_path, check_sha256
from modelyard.data.store import BlobStore
from modelyard.errors import Conflict, NotFound, PayloadTooLarge
from modelyard.store.artifacts.base import ArtifactRepository, StoredFile


def verified(chunks: Iterable[bytes], sha256: str, size: int) -> Iterator[bytes]:
    """Pass ``chunks`` through, raising at the end if they do not hash to ``sha256``: the
    writer consuming them then aborts, so a wrong blob never becomes visible."""
    digest = hashlib.sha256()
    total = 0
    for chunk in chunks:
        digest.update(chunk)
        total += len(chunk)
        if total > size:
            break
        yield chunk
    if total != size or digest.hexdigest() != sha256:
        raise _mismatch(sha256, size)


def _matches(sha256: str, size: int) -> Callable[[StoredFile], None]:
    """The check a write runs on the hash its repository computed as the bytes went by (one
    pass over them), before the blob takes its place."""

    def check(stored: StoredFile) -> None:
        if stored.size != size or stored.sha256 != sha256:
            raise _mismatch(sha256, size)

    return check


def _mismatch(sha256: str, size: int) -> Conflict:
    return Conflict(
        f"the bytes received do not match sha256 {sha256[:12]}… and size {size}: "
        "the file changed while it was being stored (or the upload was altered)",
        field="sha256",
    )


class ArtifactBlobStore(BlobStore):
    """Blobs under ``<artifact root>/datasets/blobs/ab/<sha256>``, written atomically."""

    def __init__(self, repo: ArtifactRepository) -> None:
        self.repo = repo

    def missing(self, digests: Iterable[str]) -> list[str]:
        wanted = [check_sha256(d) for d in dict.fromkeys(digests)]
        return [d for d in wanted if not self.repo.exists(blob_path(d))]

    def put(self, sha256: str, chunks: Iterable[bytes], size: int) -> None:
        check_sha256(sha256)
        path = blob_path(sha256)
        if self.repo.exists(path):
            # read to the end and checked all the same: who sends a blob proves they hold it
            # (a project holds a blob only once one of its members sent the bytes)
            for _ in verified(chunks, sha256, size):
                pass
            return
        try:  # reading stops past the size declared: more bytes cannot be these
            self.repo.write_stream(
                path, chunks, max_bytes=size, before_commit=_matches(sha256, size)
            )
        except PayloadTooLarge:
            raise _mismatch(sha256, size) from None

    def put_hashed(self, sha256: str, data: bytes) -> None:
        path = blob_path(check_sha256(sha256))
        if not self.repo.exists(path):
            self.repo.write_stream(path, [data], known_sha256=sha256)

    def size(self, sha256: str) -> int:
        path = blob_path(check_sha256(sha256))
        if not self.repo.exists(path):  # the repository's own error names its root: not this
            raise NotFound(f"dataset blob {sha256} is not stored", field="sha256")
        return self.repo.size(path)

    def read(self, sha256: str) -> Iterator[bytes]:
        check_sha256(sha256)
        path = blob_path(sha256)
        if not self.repo.exists(path):
            raise NotFound(f"dataset blob {sha256} is not stored", field="sha256")
        return self.repo.read_stream(path)

    def local_path(self, sha256: str) -> Path | None:
        return self.repo.local_file(blob_path(check_sha256(sha256)))
