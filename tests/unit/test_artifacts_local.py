"""The local-folder artifact repository: atomic writes, limits, listing, memory bounds."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fixtures.memory import PeakRss

from modelyard.errors import InvalidArgument, NotFound, PayloadTooLarge
from modelyard.store.artifacts.base import ArtifactEntry
from modelyard.store.artifacts.factory import open_repository
from modelyard.store.artifacts.local import LocalArtifactRepository

MiB = 1 << 20


@pytest.fixture
def repo(tmp_path: Path) -> LocalArtifactRepository:
    return LocalArtifactRepository(tmp_path / "store")


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_round_trip_with_sha256(repo: LocalArtifactRepository) -> None:
    data = os.urandom(3 * MiB + 17)
    stored = repo.write_stream(
        "runs/1/model.bin", (data[i : i + 65536] for i in range(0, len(data), 65536))
    )
    assert stored.path == "runs/1/model.bin"
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert repo.read_bytes("runs/1/model.bin") == data
    assert b"".join(repo.read_stream("runs/1/model.bin", chunk_size=1000)) == data
    assert (repo.root / "runs" / "1" / "model.bin").read_bytes() == data


def test_root_uri_is_absolute_file_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    repo = LocalArtifactRepository(Path("rel/store"))
    assert repo.root_uri == (tmp_path / "rel" / "store").as_uri()
    assert repo.root_uri.startswith("file:///")


def test_write_bytes_and_overwrite(repo: LocalArtifactRepository) -> None:
    repo.write_bytes("a.txt", b"one")
    stored = repo.write_bytes("a.txt", b"second")
    assert stored.size == 6
    assert repo.read_bytes("a.txt") == b"second"
    assert repo.write_bytes("empty", b"").sha256 == hashlib.sha256(b"").hexdigest()
    assert repo.read_bytes("empty") == b""


def test_write_file_and_download_with_progress(
    repo: LocalArtifactRepository, tmp_path: Path
) -> None:
    data = os.urandom(2 * MiB + 5)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    seen: list[int] = []
    stored = repo.write_file("m/w.bin", src, progress=seen.append)
    assert seen == [MiB, MiB, 5]
    assert stored.sha256 == hashlib.sha256(data).hexdigest()

    dest = tmp_path / "out" / "deep" / "copy.bin"
    got: list[int] = []
    downloaded = repo.download("m/w.bin", dest, progress=got.append)
    assert dest.read_bytes() == data
    assert sum(got) == len(data)
    assert downloaded.size == len(data)
    assert downloaded.sha256 == stored.sha256
    assert [p.name for p in dest.parent.iterdir()] == ["copy.bin"]


def test_download_missing_leaves_destination_untouched(
    repo: LocalArtifactRepository, tmp_path: Path
) -> None:
    dest = tmp_path / "keep.txt"
    dest.write_bytes(b"old")
    with pytest.raises(NotFound):
        repo.download("nope.bin", dest)
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_failing_stream_leaves_no_temp_file(repo: LocalArtifactRepository) -> None:
    repo.write_bytes("keep/old.bin", b"old")

    def chunks() -> Iterator[bytes]:
        yield b"x" * MiB
        yield b"y" * MiB
        raise RuntimeError("source broke halfway")

    with pytest.raises(RuntimeError, match="halfway"):
        repo.write_stream("keep/old.bin", chunks())
    with pytest.raises(RuntimeError, match="halfway"):
        repo.write_stream("fresh/dir/new.bin", chunks())
    assert repo.read_bytes("keep/old.bin") == b"old"
    assert _all_files(repo.root) == ["keep", "keep/old.bin"]


def test_max_bytes_breach_leaves_nothing(repo: LocalArtifactRepository) -> None:
    chunks = (b"z" * 1000 for _ in range(10))
    with pytest.raises(PayloadTooLarge, match="5000") as info:
        repo.write_stream("big/blob.bin", chunks, max_bytes=5000)
    assert info.value.field == "path"
    assert not repo.exists("big/blob.bin")
    assert not repo.root.exists() or _all_files(repo.root) == []
    assert repo.write_stream("ok.bin", [b"z" * 5000], max_bytes=5000).size == 5000


def test_list_exists_size(repo: LocalArtifactRepository) -> None:
    assert repo.list() == []
    repo.write_bytes("b.txt", b"bb")
    repo.write_bytes("a/x.txt", b"x")
    repo.write_bytes("a/y/z.txt", b"zzz")
    (repo.root / "a" / ".tmp-leftover").write_bytes(b"partial")
    assert repo.list() == [
        ArtifactEntry("a", True, None),
        ArtifactEntry("b.txt", False, 2),
    ]
    assert repo.list("a") == [
        ArtifactEntry("a/x.txt", False, 1),
        ArtifactEntry("a/y", True, None),
    ]
    assert repo.list("a/y") == [ArtifactEntry("a/y/z.txt", False, 3)]
    assert repo.list("missing") == []
    assert repo.list("b.txt") == []
    assert repo.exists("a") and repo.exists("a/y/z.txt")
    assert not repo.exists("a/nope")
    assert repo.size("a/y/z.txt") == 3
    with pytest.raises(NotFound):
        repo.size("a/nope")
    with pytest.raises(InvalidArgument, match="folder"):
        repo.size("a")
    with pytest.raises(InvalidArgument):
        repo.list("../")


def test_read_missing_raises_not_found_eagerly(repo: LocalArtifactRepository) -> None:
    with pytest.raises(NotFound) as info:
        repo.read_stream("no/such.bin")
    assert info.value.field == "path"
    with pytest.raises(NotFound):
        repo.read_bytes("no/such.bin")
    with pytest.raises(InvalidArgument):
        repo.read_stream("../etc/passwd")


def test_reserved_temp_names_are_refused(repo: LocalArtifactRepository) -> None:
    with pytest.raises(InvalidArgument, match="reserved"):
        repo.write_bytes("a/.tmp-x", b"")


def test_write_conflicts_with_existing_folder_or_file(repo: LocalArtifactRepository) -> None:
    repo.write_bytes("d/f.txt", b"1")
    with pytest.raises(InvalidArgument, match="folder"):
        repo.write_bytes("d", b"x")
    with pytest.raises(InvalidArgument, match="file"):
        repo.write_bytes("d/f.txt/g", b"x")


def test_delete_file_folder_and_everything(repo: LocalArtifactRepository) -> None:
    repo.write_bytes("a/b/c.txt", b"c")
    repo.write_bytes("a/d.txt", b"d")
    repo.write_bytes("e.txt", b"e")
    repo.delete("a/b/c.txt")
    assert not repo.exists("a/b/c.txt")
    assert not repo.exists("a/b")  # emptied folders go too
    assert repo.exists("a/d.txt")
    repo.delete("a")
    assert repo.list() == [ArtifactEntry("e.txt", False, 1)]
    repo.delete("missing/thing")
    repo.delete("")
    assert repo.list() == []
    assert repo.root.is_dir()
    repo.delete("")


def test_child_is_rooted_below(repo: LocalArtifactRepository) -> None:
    repo.write_bytes("runs/7/m.bin", b"m")
    child = repo.child("runs/7")
    assert child.root_uri == repo.root_uri + "/runs/7"
    assert child.read_bytes("m.bin") == b"m"
    child.write_bytes("sub/n.bin", b"n")
    assert repo.read_bytes("runs/7/sub/n.bin") == b"n"
    assert [e.path for e in child.list()] == ["m.bin", "sub"]
    with pytest.raises(InvalidArgument):
        child.read_bytes("../8/m.bin")
    with pytest.raises(InvalidArgument):
        repo.child("")
    with pytest.raises(InvalidArgument):
        repo.child("runs/../..")
    child.delete("")
    assert repo.list("runs") == [ArtifactEntry("runs/7", True, None)]


def test_every_method_validates_its_path(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    bad = "a/../../x"
    for call in (
        lambda: repo.write_bytes(bad, b""),
        lambda: repo.write_stream(bad, []),
        lambda: repo.write_file(bad, tmp_path),
        lambda: repo.read_stream(bad),
        lambda: repo.read_bytes(bad),
        lambda: repo.download(bad, tmp_path / "x"),
        lambda: repo.size(bad),
        lambda: repo.exists(bad),
        lambda: repo.list(bad),
        lambda: repo.delete(bad),
        lambda: repo.child(bad),
        lambda: repo.read_stream(""),
        lambda: repo.exists(""),
    ):
        with pytest.raises(InvalidArgument):
            call()
    assert not (tmp_path / "x").exists()


def test_open_repository_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    by_uri = open_repository((tmp_path / "s").as_uri())
    assert isinstance(by_uri, LocalArtifactRepository)
    assert by_uri.root_uri == (tmp_path / "s").as_uri()
    monkeypatch.chdir(tmp_path)
    plain = open_repository("relative/store")
    assert isinstance(plain, LocalArtifactRepository)
    assert plain.root_uri == (tmp_path / "relative" / "store").as_uri()
    with pytest.raises(InvalidArgument, match=r"'gs'.*file://.*s3://"):
        open_repository("gs://bucket/x")
    with pytest.raises(InvalidArgument):
        open_repository("")
    with pytest.raises(InvalidArgument, match="host"):
        open_repository("file://otherhost/x")


@pytest.mark.slow
def test_one_gib_stream_keeps_memory_bounded(repo: LocalArtifactRepository) -> None:
    chunk = bytes(range(256)) * (MiB // 256)
    count = 1024
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)

    with PeakRss() as rss:
        stored = repo.write_stream("big/one-gib.bin", (chunk for _ in range(count)))
        assert stored.size == count * MiB
        assert stored.sha256 == expected.hexdigest()
        got = hashlib.sha256()
        total = 0
        for part in repo.read_stream("big/one-gib.bin"):
            got.update(part)
            total += len(part)
    assert total == count * MiB
    assert got.hexdigest() == expected.hexdigest()
    assert rss.growth < 100 * MiB, f"RSS grew by {rss.growth / MiB:.1f} MiB"
    repo.delete("big")
