"""The local repository's kernel-copy path for large files, and its opt-in fsync."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from modelyard.errors import PayloadTooLarge
from modelyard.store.artifacts.local import LocalArtifactRepository


@pytest.mark.parametrize("fsync", [False, True])
def test_large_file_is_copied_whole_with_its_hash(tmp_path: Path, fsync: bool) -> None:
    data = os.urandom(9 << 20) + b"tail"
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    repo = LocalArtifactRepository(tmp_path / "store", fsync=fsync)
    seen: list[int] = []
    stored = repo.write_file("models/big.bin", src, progress=seen.append)
    assert stored.size == len(data) and sum(seen) == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert repo.read_bytes("models/big.bin") == data
    assert not [p for p in (tmp_path / "store").rglob("*") if p.name.startswith(".tmp-")]


def test_large_file_over_the_limit_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(b"\0" * (9 << 20))
    repo = LocalArtifactRepository(tmp_path / "store")
    with pytest.raises(PayloadTooLarge, match="limit"):
        repo.write_file("big.bin", src, max_bytes=1 << 20)
    assert not repo.exists("big.bin")
    assert not list((tmp_path / "store").rglob("*.bin"))
