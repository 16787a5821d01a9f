"""The S3 artifact repository against a real S3-compatible server (moto) on loopback."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from tests.fixtures.memory import PeakRss

from modelyard.errors import InvalidArgument, NotFound, PayloadTooLarge
from modelyard.store.artifacts.base import ArtifactEntry
from modelyard.store.artifacts.factory import open_repository
from modelyard.store.artifacts.s3 import S3ArtifactRepository

pytestmark = pytest.mark.s3

MiB = 1 << 20


@pytest.fixture
def repo(s3_bucket_uri: str, s3_server: str) -> S3ArtifactRepository:
    return S3ArtifactRepository(s3_bucket_uri, endpoint_url=s3_server)


def _keys(s3_server: str, repo: S3ArtifactRepository) -> list[str]:
    """Every object key in the repository's bucket, straight from the server."""
    bucket = repo.root_uri[len("s3://") :].split("/", 1)[0]
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def _uploads(s3_server: str, repo: S3ArtifactRepository) -> list[str]:
    bucket = repo.root_uri[len("s3://") :].split("/", 1)[0]
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def test_round_trip_with_sha256(repo: S3ArtifactRepository, s3_server: str) -> None:
    data = os.urandom(3 * MiB + 11)
    stored = repo.write_stream(
        "runs/1/model.bin", (data[i : i + 100_000] for i in range(0, len(data), 100_000))
    )
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert repo.read_bytes("runs/1/model.bin") == data
    assert b"".join(repo.read_stream("runs/1/model.bin", chunk_size=12345)) == data
    assert _keys(s3_server, repo) == ["artifacts/runs/1/model.bin"]
    assert repo.write_bytes("empty", b"").size == 0
    assert repo.read_bytes("empty") == b""


def test_write_file_and_download(repo: S3ArtifactRepository, tmp_path: Path) -> None:
    data = os.urandom(MiB + 3)
    src = tmp_path / "in.bin"
    src.write_bytes(data)
    seen: list[int] = []
    stored = repo.write_file("w/in.bin", src, progress=seen.append)
    assert seen == [MiB, 3]
    dest = tmp_path / "out" / "copy.bin"
    downloaded = repo.download("w/in.bin", dest)
    assert dest.read_bytes() == data
    assert downloaded.sha256 == stored.sha256 == hashlib.sha256(data).hexdigest()


def test_list_after_write_is_never_stale(repo: S3ArtifactRepository) -> None:
    assert repo.list() == []
    assert repo.list("a") == []
    repo.write_bytes("a/x.txt", b"x")
    assert repo.list("a") == [ArtifactEntry("a/x.txt", False, 1)]
    repo.write_bytes("a/y/z.txt", b"zzz")
    repo.write_bytes("b.txt", b"bb")
    repo.write_bytes("ab.txt", b"ab")
    assert repo.list("a") == [
        ArtifactEntry("a/x.txt", False, 1),
        ArtifactEntry("a/y", True, None),
    ]
    assert repo.list() == [
        ArtifactEntry("a", True, None),
        ArtifactEntry("ab.txt", False, 2),
        ArtifactEntry("b.txt", False, 2),
    ]
    assert repo.list("b.txt") == []
    repo.write_bytes("a/x.txt", b"longer")
    assert repo.list("a")[0] == ArtifactEntry("a/x.txt", False, 6)
    assert repo.size("a/x.txt") == 6
    repo.delete("a/x.txt")
    assert repo.list("a") == [ArtifactEntry("a/y", True, None)]
    assert not repo.exists("a/x.txt")


def test_exists_size_and_not_found(repo: S3ArtifactRepository) -> None:
    repo.write_bytes("d/f.bin", b"12345")
    assert repo.exists("d/f.bin")
    assert repo.exists("d")
    assert not repo.exists("d/g.bin")
    assert repo.size("d/f.bin") == 5
    with pytest.raises(NotFound):
        repo.size("d/g.bin")
    with pytest.raises(InvalidArgument, match="folder"):
        repo.size("d")
    with pytest.raises(NotFound) as info:
        repo.read_stream("d/g.bin")
    assert info.value.field == "path"
    with pytest.raises(InvalidArgument):
        repo.read_stream("../outside")


def test_failing_stream_leaves_no_object(repo: S3ArtifactRepository, s3_server: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"q" * MiB
        raise RuntimeError("source broke halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        repo.write_stream("broken.bin", chunks())
    assert not repo.exists("broken.bin")
    assert _keys(s3_server, repo) == []
    assert _uploads(s3_server, repo) == []


def test_max_bytes_breach_leaves_no_object(repo: S3ArtifactRepository, s3_server: str) -> None:
    big = (b"z" * MiB for _ in range(20))
    with pytest.raises(PayloadTooLarge, match=str(10 * MiB)):
        repo.write_stream("big.bin", big, max_bytes=10 * MiB)
    small = (b"z" * 1000 for _ in range(10))
    with pytest.raises(PayloadTooLarge):
        repo.write_stream("small.bin", small, max_bytes=5000)
    assert not repo.exists("big.bin")
    assert not repo.exists("small.bin")
    assert _keys(s3_server, repo) == []
    assert _uploads(s3_server, repo) == []
    assert repo.list() == []


def test_delete_file_folder_and_everything(repo: S3ArtifactRepository, s3_server: str) -> None:
    repo.write_bytes("a/b/c.txt", b"c")
    repo.write_bytes("a/d.txt", b"d")
    repo.write_bytes("ab.txt", b"keep me")
    repo.write_bytes("e.txt", b"e")
    repo.delete("a/b/c.txt")
    assert not repo.exists("a/b")
    repo.delete("a")
    assert _keys(s3_server, repo) == ["artifacts/ab.txt", "artifacts/e.txt"]
    repo.delete("missing/thing")
    repo.delete("")
    assert repo.list() == []
    assert _keys(s3_server, repo) == []


def test_delete_root_keeps_sibling_prefixes(s3_bucket_uri: str, s3_server: str) -> None:
    repo = S3ArtifactRepository(s3_bucket_uri, endpoint_url=s3_server)
    sibling = S3ArtifactRepository(s3_bucket_uri + "-other", endpoint_url=s3_server)
    repo.write_bytes("x.txt", b"x")
    sibling.write_bytes("y.txt", b"y")
    repo.delete("")
    assert sibling.read_bytes("y.txt") == b"y"
    assert repo.list() == []


def test_child_is_rooted_below(repo: S3ArtifactRepository) -> None:
    repo.write_bytes("runs/7/m.bin", b"m")
    child = repo.child("runs/7")
    assert child.root_uri == repo.root_uri + "/runs/7"
    assert child.read_bytes("m.bin") == b"m"
    child.write_bytes("sub/n.bin", b"n")
    assert repo.read_bytes("runs/7/sub/n.bin") == b"n"
    assert [e.path for e in child.list()] == ["m.bin", "sub"]
    with pytest.raises(InvalidArgument):
        repo.child("../x")


def test_open_repository_s3(s3_bucket_uri: str, s3_server: str) -> None:
    repo = open_repository(s3_bucket_uri, s3_endpoint_url=s3_server)
    assert isinstance(repo, S3ArtifactRepository)
    assert repo.root_uri == s3_bucket_uri
    repo.write_bytes("hello.txt", b"hi")
    assert repo.read_bytes("hello.txt") == b"hi"
    bucket_root = open_repository(s3_bucket_uri.rsplit("/", 1)[0], s3_endpoint_url=s3_server)
    assert bucket_root.list() == [ArtifactEntry("artifacts", True, None)]
    assert bucket_root.read_bytes("artifacts/hello.txt") == b"hi"


def test_bad_uris_are_refused() -> None:
    for uri in ("s3://", "s3://Bad_Bucket/x", "s3://bucket/../x", "s3://bucket/a%2fb"):
        with pytest.raises(InvalidArgument):
            S3ArtifactRepository(uri, endpoint_url="http://127.0.0.1:9")


def test_missing_bucket_is_not_found(s3_server: str) -> None:
    repo = S3ArtifactRepository("s3://no-such-bucket-here/x", endpoint_url=s3_server)
    with pytest.raises(NotFound):
        repo.write_bytes("a.txt", b"a")
    assert repo.list() == []


@pytest.mark.slow
def test_streamed_128_mib_write_keeps_memory_bounded(repo: S3ArtifactRepository) -> None:
    # Memory must follow the multipart block size (8 MiB, a few in flight), not the file size:
    # buffering even half of the file would break the bound below.
    chunk = bytes(range(256)) * (MiB // 256)
    count = 128
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)
    # A first multipart round trip settles imports, connection pools and allocator arenas.
    repo.write_stream("warmup.bin", (chunk for _ in range(24)))
    for _ in repo.read_stream("warmup.bin"):
        pass
    with PeakRss() as rss:
        stored = repo.write_stream("big/128.bin", (chunk for _ in range(count)))
        got = hashlib.sha256()
        for part in repo.read_stream("big/128.bin"):
            got.update(part)
    assert stored.size == count * MiB
    assert stored.sha256 == expected.hexdigest()
    assert got.hexdigest() == expected.hexdigest()
    assert repo.size("big/128.bin") == count * MiB
    assert rss.growth < count * MiB // 2, f"RSS grew by {rss.growth / MiB:.1f} MiB"
