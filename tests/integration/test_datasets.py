"""Datasets through the SDK on every backend: SQLite, PostgreSQL, and a server over HTTP."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import modelyard as yard
from modelyard.data import DataClient, Expectations
from modelyard.data.snapshot import LocalFile, hash_files, prepare
from modelyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound


def _frame(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer": np.arange(n),
            "tenure": rng.integers(0, 72, n),
            "charges": rng.normal(70, 20, n).round(2),
            "plan": rng.choice(["basic", "pro", "team"], n),
        }
    )


def test_log_get_and_identical_snapshots(tracking_uri: str) -> None:
    data = DataClient(tracking_uri)
    frame = _frame()
    v1 = data.log_dataset(frame, "churn-train", tags={"source": "crm"}, description="first")
    assert (v1.name, v1.version, v1.num_rows, v1.kind) == ("churn-train", 1, 500, "table")
    assert v1.schema is not None and v1.schema.names == list(frame.columns)
    assert v1.profile is not None and v1.profile["plan"].distinct == 3
    assert v1.tags == {"source": "crm"}
    again = data.log_dataset(frame.copy(), "churn-train")
    assert (again.version, again.digest) == (1, v1.digest)
    v2 = data.log_dataset(_frame(seed=1), "churn-train")
    assert v2.version == 2 and v2.digest != v1.digest
    assert data.get("churn-train").version == 2
    assert data.get("churn-train", digest=v1.digest).version == 1
    back = data.get("churn-train", 1).to_pandas()
    pd.testing.assert_frame_equal(back, frame)
    assert data.get("churn-train", 1).to_arrow().num_rows == 500
    assert [v.version for v in data.versions("churn-train")] == [2, 1]
    [info] = data.list_datasets()
    assert (info.name, info.latest_version, info.versions) == ("churn-train", 2, 2)


def test_files_and_folders_are_content_addressed(tracking_uri: str, tmp_path: Path) -> None:
    data = DataClient(tracking_uri)
    folder = tmp_path / "images"
    (folder / "cats").mkdir(parents=True)
    (folder / "cats" / "a.jpg").write_bytes(b"\xff\xd8cat-a")
    (folder / "cats" / "b.jpg").write_bytes(b"\xff\xd8cat-b")
    (folder / "labels.txt").write_text("a cat\nb cat\n")
    v1 = data.log_dataset(folder, "pets")
    assert (v1.kind, v1.num_files, v1.num_rows) == ("files", 3, None)
    (folder / "cats" / "c.jpg").write_bytes(b"\xff\xd8cat-c")
    v2 = data.log_dataset(folder, "pets")
    assert v2.version == 2 and v2.num_files == 4
    local = data.get("pets", 1).path
    assert sorted(
        p.relative_to(local).as_posix()
        for p in local.rglob("*")
        if p.is_file() and p.name != ".complete"
    ) == ["cats/a.jpg", "cats/b.jpg", "labels.txt"]
    assert (local / "cats" / "b.jpg").read_bytes() == b"\xff\xd8cat-b"
    d = data.diff("pets", 1, 2)
    assert d.files_added == ["cats/c.jpg"] and not d.files_removed and not d.files_changed
    single = tmp_path / "notes.bin"
    single.write_bytes(b"\x00\x01" * 1000)
    v = data.log_dataset(single, "notes")
    assert (v.path / "notes.bin").read_bytes() == single.read_bytes()  # files: a folder
    with pytest.raises(Conflict, match="holds files; a table snapshot needs another name"):
        data.log_dataset(_frame(), "pets")


def test_blobs_are_stored_once(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    data = DataClient(uri)
    folder = tmp_path / "f"
    folder.mkdir()
    big = bytes(range(256)) * 4096
    (folder / "one.bin").write_bytes(big)
    (folder / "two.bin").write_bytes(big)  # same content, other name
    data.log_dataset(folder, "dupes")
    (folder / "three.txt").write_text("new")
    data.log_dataset(folder, "dupes")
    blobs = [
        p
        for p in (tmp_path / "modelyard-artifacts" / "datasets" / "blobs").rglob("*")
        if p.is_file()
    ]
    assert len(blobs) == 2  # big once, three.txt once


def test_lineage_with_runs_and_guarded_deletes(tracking_uri: str) -> None:
    yard.set_tracking_uri(tracking_uri)
    frame = _frame()
    with yard.start_run(run_name="train-rf") as run:
        v = yard.data.log_dataset(frame, "churn-train", context="training")
        yard.data.log_dataset(_frame(seed=5), "churn-eval", context="evaluation")
    edges = yard.data.lineage("dataset:churn-train@1", depth=1)
    assert [(e.source.label, e.relation, e.context, e.target.id) for e in edges] == [
        ("churn-train@1", "input", "training", run.info.run_id)
    ]
    two_hops = yard.data.lineage("dataset:churn-train", depth=2)  # via the run to its inputs
    assert [e.source.label for e in two_hops] == ["churn-train@1", "churn-eval@1"]
    around_run = yard.data.lineage(f"run:{run.info.run_id}")
    assert sorted(e.source.label for e in around_run) == ["churn-eval@1", "churn-train@1"]
    assert {e.target.label for e in around_run} == {"train-rf"}
    with pytest.raises(Conflict, match="lineage edge"):
        yard.data.delete_version("churn-train", 1)
    assert yard.data.get("churn-train", 1).digest == v.digest  # still there
    assert yard.data.delete_version("churn-train", 1, force=True) == 1
    with pytest.raises(NotFound):
        yard.data.get("churn-train", 1)
    assert len(yard.data.lineage(f"run:{run.info.run_id}")) == 1
    with pytest.raises(NotFound):
        DataClient(tracking_uri).log_dataset(frame, "other", run_id="0" * 32)
    with pytest.raises(NotFound):
        yard.data.get("other")  # nothing half-written by the refused call


def test_expectations_are_versioned_with_the_data(tracking_uri: str) -> None:
    data = DataClient(tracking_uri)
    frame = _frame()
    v = data.log_dataset(frame, "churn-train")
    assert v.profile is not None
    suite = Expectations.from_profile(v.profile)
    stored = data.set_expectations("churn-train", 1, suite)
    assert stored.expectations is not None
    assert stored.expectations.to_dict() == suite.to_dict()
    assert data.validate(data.get("churn-train")).ok
    report = data.validate(frame.assign(tenure=frame.tenure + 100), stored.expectations)
    assert [f.label for f in report.failures] == ["range(tenure)", "range(tenure, mostly 0.98)"]
    bad = Expectations().add("range", "tenure", max=10)
    with pytest.raises(InvalidArgument, match="fails its own expectations"):
        data.log_dataset(_frame(seed=3), "strict", expectations=bad)
    with pytest.raises(NotFound):
        data.get("strict")


def test_names_are_checked_and_unique_ignoring_case(tracking_uri: str) -> None:
    data = DataClient(tracking_uri)
    data.log_dataset(_frame(50), "Churn-Train")
    with pytest.raises(AlreadyExists, match="collides with the existing dataset 'Churn-Train'"):
        data.log_dataset(_frame(60), "churn-train")
    with pytest.raises(NotFound, match="did you mean 'Churn-Train'"):
        data.get("churn-train")
    for bad in ("", "../escape", "a b", "x" * 200, "/lead"):
        with pytest.raises(InvalidArgument) as err:
            data.log_dataset(_frame(10), bad)
        assert err.value.field == "name"
    assert data.log_dataset(_frame(10), "growth/churn").name == "growth/churn"
    with pytest.raises(InvalidArgument, match="no rows"):
        data.log_dataset(pd.DataFrame({"a": []}), "empty")
    with pytest.raises(InvalidArgument, match="'m' mixes value types"):
        data.log_dataset(pd.DataFrame({"m": [1, "x"]}), "mixed")
    with pytest.raises(InvalidArgument, match="unsupported type"):
        data.log_dataset(pa.table({"l": [[1], [2]]}), "lists")
    assert [d.name for d in data.list_datasets()] == ["Churn-Train", "growth/churn"]


def test_diff_counts_rows_and_statistics(tracking_uri: str) -> None:
    data = DataClient(tracking_uri)
    frame = _frame(300)
    data.log_dataset(frame, "d")
    changed = pd.concat([frame.iloc[20:], _frame(10, seed=9).assign(customer=range(1000, 1010))])
    changed = changed.assign(region="eu").reset_index(drop=True)
    data.log_dataset(changed, "d")
    d = data.diff("d", 1, 2)
    assert (d.rows_a, d.rows_b, d.rows_added, d.rows_removed) == (300, 290, 10, 20)
    assert d.columns_added == ["region"] and d.columns_removed == []
    assert "customer" in d.stat_changes and "max" in d.stat_changes["customer"]
    assert data.diff("d", 1, 1).same


def test_file_changing_while_hashed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "growing.csv"
    path.write_text("a,b\n" + "1,2\n" * 200_000)
    snap = prepare(path)

    def append_once(_n: int, done: list[bool] = []) -> None:  # noqa: B006 - one-shot flag
        if not done:
            done.append(True)
            with open(path, "a") as handle:
                handle.write("3,4\n")

    with pytest.raises(Conflict, match="changed while it was being read"):
        hash_files(snap.files, append_once)
    data = DataClient(f"sqlite:///{tmp_path}/yard.db")
    item = LocalFile("x.bin", path, path.stat().st_size, path.stat().st_mtime_ns, "0" * 64)
    with pytest.raises(Conflict, match="changed while it was being stored"):
        data.blobs.put(item.sha256, [path.read_bytes()], item.size)
    assert data.blobs.missing(["0" * 64]) == ["0" * 64]


def test_concurrent_writers_of_one_dataset(tmp_path: Path, tracking_uri: str) -> None:
    frames = [_frame(100, seed=s) for s in range(4)]
    results: list[int] = []
    errors: list[BaseException] = []

    def log(frame: pd.DataFrame) -> None:
        try:
            results.append(DataClient(tracking_uri).log_dataset(frame, "shared").version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=log, args=(f,)) for f in frames + frames[:2]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    versions = DataClient(tracking_uri).versions("shared")
    assert sorted(v.version for v in versions) == [1, 2, 3, 4]
    assert len({v.digest for v in versions}) == 4


def test_same_data_new_suite_and_deleting_the_last_version(tracking_uri: str) -> None:
    data = DataClient(tracking_uri)
    frame = _frame(100)
    data.log_dataset(frame, "suited")
    suite = Expectations().add("not_null", "plan")
    again = data.log_dataset(frame, "suited", expectations=suite)
    assert again.version == 1 and again.expectations is not None
    assert again.expectations.to_dict() == suite.to_dict()
    assert data.delete_version("suited", 1) == 0
    assert [d.name for d in data.list_datasets()] == []
    assert data.log_dataset(_frame(10), "SUITED").version == 1  # the name is free again
