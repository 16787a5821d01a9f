"""A full disk, as a user meets it: a real 2 MiB tmpfs under the artifact store or the
SQLite file. The write fails with ``InsufficientStorage`` naming the store, the same class on
the embedded store and through a server (HTTP 507, the body read to its end first, so the
client gets the answer, not a reset connection); nothing half-written is left; the next call
on the same client works."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.fixtures.tmpfs import tmpfs

import modelyard as yard
from modelyard.errors import InsufficientStorage


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (tests.fixtures.tmpfs)."""
    with tmpfs(tmp_path / "disk", "size=2m") as folder:
        yield folder


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("where", ["embedded", "server"])
def test_an_artifact_too_big_for_the_disk(
    where: str,
    small_disk: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server_factory: Callable[..., Any],
) -> None:
    artifacts = small_disk.as_uri()
    store = f"sqlite:///{tmp_path}/yard.db"
    if where == "server":
        uri = server_factory(store_uri=store, artifacts_uri=artifacts).url
    else:
        monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", artifacts)
        uri = store
    c = yard.Client(uri)
    run = c.create_run("0")
    c.flush()
    big, small = tmp_path / "big.bin", tmp_path / "notes.txt"
    big.write_bytes(os.urandom(3 << 20))
    small.write_text("kept")
    for _ in range(2):
        with pytest.raises(InsufficientStorage) as caught:
            c.log_artifact(run.info.run_id, big)
        assert caught.value.field == "storage"
        assert "artifact store" in caught.value.message and "out of space" in caught.value.message
    assert [f.path for f in c.list_artifacts(run.info.run_id)] == []
    assert not any("big.bin" in f for f in _files(small_disk))  # no temporary file left
    stored = c.log_artifact(run.info.run_id, small)  # the same client, the next call
    assert stored.size == 4
    assert [f.path for f in c.list_artifacts(run.info.run_id)] == ["notes.txt"]


def test_a_full_sqlite_store(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", (tmp_path / "art").as_uri())
    c = yard.Client(f"sqlite:///{small_disk}/yard.db")
    run = c.create_run("0")
    c.flush()
    value = "v" * 6000
    with pytest.raises(InsufficientStorage) as caught:
        for i in range(2000):  # about 12 MB of tags: far past 2 MiB
            c.set_tag(run.info.run_id, f"tag{i}", value)
            c.flush()
    assert caught.value.field == "storage" and "metadata database" in caught.value.message
    for _ in range(2):
        with pytest.raises(InsufficientStorage):
            c.set_tag(run.info.run_id, "one-more", value)
            c.flush()
    assert c.get_run(run.info.run_id).info.run_id == run.info.run_id  # reads still work


def test_a_full_spool_while_the_server_is_away(
    small_disk: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server is down and the spool folder is full: ``flush`` raises the one
    ``InsufficientStorage`` naming the spool (the class a full store behind a server gives),
    stderr has one line per event and no traceback, no temporary file is left, and what an
    earlier ``flush`` acknowledged as spooled is still there and is delivered later."""
    from dataclasses import replace

    from tests.fixtures.stores import ServerThread

    from modelyard.config import Settings

    monkeypatch.setenv("MODELYARD_SPOOL_DIR", str(small_disk))
    monkeypatch.setenv("MODELYARD_HTTP_RETRY_SECONDS", "0.2")
    settings = replace(Settings.from_env(), artifacts_uri=(tmp_path / "server-artifacts").as_uri())
    server = ServerThread(f"sqlite:///{tmp_path}/server.db", settings)  # not started yet
    c = yard.Client(server.url)
    run = c.create_run("0")
    rid = run.info.run_id
    c.log_param(rid, "lr", 0.1)
    c.flush()  # acknowledged: spooled
    kept = _files(small_disk)
    assert len(kept) == 1 and kept[0].endswith(".json")
    with pytest.raises(OSError), (small_disk / "filler").open("wb", buffering=0) as fh:
        while True:  # fill the disk to its last byte
            fh.write(b"\0" * 4096)
    caplog.clear()
    for attempt in range(2):
        for step in range(100):
            c.log_metric(rid, "loss", 1.0 / (step + 1), step=step + 100 * attempt)
        with pytest.raises(InsufficientStorage) as caught:
            c.flush()
        assert caught.value.field == "storage"
        assert str(c.tracking._writer._spool.dir) in caught.value.message  # type: ignore[union-attr]
        assert "out of space" in caught.value.message
        assert "not" in caught.value.message and "stored" in caught.value.message
        assert not [f for f in _files(small_disk) if ".tmp-" in f]  # no temporary file left
        assert set(kept) <= set(_files(small_disk))  # the acknowledged batch is kept
    assert not [r for r in caplog.records if r.exc_info]  # no traceback: not a bug
    said = [r.getMessage() for r in caplog.records]
    assert not [m for m in said if "background logging failed" in m]
    assert len([m for m in said if "out of space" in m]) == 1, said  # one line, not per batch
    (small_disk / "filler").unlink()
    c.log_metric(rid, "loss", 0.5, step=1000)
    c.flush()  # room again: spooled
    with server:
        c.set_terminated(rid)
        c.flush(durable=True)
        got = c.get_run(rid)
        assert got.data.params == {"lr": "0.1"} and got.info.status == "FINISHED"
        assert [m.step for m in c.get_metric_history(rid, "loss")] == [1000]
        c.close()
    assert [f for f in _files(small_disk) if f.endswith(".json")] == []
