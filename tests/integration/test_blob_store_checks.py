"""Content-addressed blobs on a folder and on an S3 bucket: a blob appears only when its bytes
hash to its name (one pass over them, by the repository's meter), a wrong upload leaves
nothing behind, and bytes hashed by this process (``put_hashed``) are stored as they are."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.data.blob_store import ArtifactBlobStore
from modelyard.data.manifest import blob_path
from modelyard.errors import Conflict
from modelyard.store.artifacts.base import ArtifactRepository
from modelyard.store.artifacts.local import LocalArtifactRepository
from modelyard.store.artifacts.s3 import S3ArtifactRepository

DATA = b"modelyard blob " * 1000
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture(params=["folder", "s3"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactRepository:
    if request.param == "folder":
        return LocalArtifactRepository(tmp_path / "root")
    uri = request.getfixturevalue("s3_bucket_uri")
    return S3ArtifactRepository(uri, endpoint_url=request.getfixturevalue("s3_server"))


def _chunks(data: bytes, size: int = 4096) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize(
    ("chunks", "digest", "size"),
    [
        pytest.param(lambda: [DATA[:-1] + b"?"], DIGEST, len(DATA), id="one byte changed"),
        pytest.param(lambda: [DATA], DIGEST, len(DATA) + 1, id="size larger than sent"),
        pytest.param(lambda: [DATA], DIGEST, len(DATA) - 1, id="size smaller than sent"),
        pytest.param(lambda: _chunks(DATA[:-10]), DIGEST, len(DATA), id="stream cut short"),
        pytest.param(lambda: _chunks(DATA + b"x"), DIGEST, len(DATA), id="stream too long"),
        pytest.param(lambda: [DATA], "0" * 64, len(DATA), id="another digest"),
        pytest.param(lambda: [b""], hashlib.sha256(b"x").hexdigest(), 0, id="empty for a digest"),
    ],
)
def test_a_wrong_upload_is_refused_and_leaves_nothing(
    repo: ArtifactRepository, chunks: object, digest: str, size: int
) -> None:
    store = ArtifactBlobStore(repo)
    for _ in range(2):
        with pytest.raises(Conflict, match="do not match sha256"):
            store.put(digest, chunks(), size)  # type: ignore[operator]
        assert store.missing([digest]) == [digest]
        assert not repo.exists(blob_path(digest))


def test_a_right_upload_is_stored_once_and_read_back(repo: ArtifactRepository) -> None:
    store = ArtifactBlobStore(repo)
    for _ in range(2):
        store.put(DIGEST, _chunks(DATA), len(DATA))
        assert store.missing([DIGEST]) == []
        assert b"".join(store.read(DIGEST)) == DATA
        assert store.size(DIGEST) == len(DATA)
    # a blob already there still demands its bytes: a wrong copy is refused, the blob kept
    with pytest.raises(Conflict):
        store.put(DIGEST, [b"not the bytes"], len(DATA))
    assert b"".join(store.read(DIGEST)) == DATA


def test_put_hashed_stores_bytes_this_process_hashed(repo: ArtifactRepository) -> None:
    store = ArtifactBlobStore(repo)
    for data in (DATA, b"", bytes(range(256)) * 5000):
        digest = hashlib.sha256(data).hexdigest()
        for _ in range(2):
            store.put_hashed(digest, data)
            assert b"".join(store.read(digest)) == data
            assert store.missing([digest]) == []


def test_known_digest_is_reported_without_hashing_again(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(tmp_path / "root")
    stored = repo.write_stream("a/b", [DATA], known_sha256=DIGEST)
    assert (stored.sha256, stored.size) == (DIGEST, len(DATA))
    assert repo.write_stream("a/c", [DATA]).sha256 == DIGEST  # hashed when not known


def test_an_upload_longer_than_declared_stops_at_the_size(repo: ArtifactRepository) -> None:
    """The bytes past the declared size are not read (nor written) before it is refused."""
    store = ArtifactBlobStore(repo)
    read = [0]

    def endless() -> Iterator[bytes]:
        while read[0] < 64 * 1024 * 1024:
            read[0] += 1024 * 1024
            yield b"x" * (1024 * 1024)

    with pytest.raises(Conflict, match="do not match sha256"):
        store.put(DIGEST, endless(), len(DATA))
    assert read[0] <= 2 * 1024 * 1024, read[0]
    assert store.missing([DIGEST]) == [DIGEST]
