"""Run artifacts through the SDK on every backend, and on S3 as the artifact root."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

import modelyard as yard
from modelyard import Client
from modelyard.errors import InvalidArgument, NotFound

matplotlib.use("Agg")


@pytest.fixture
def client(tracking_uri: str) -> Iterator[Client]:
    with Client(tracking_uri) as c:
        yield c


def _tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.bin").write_bytes(os.urandom(3000))
    (root / "sub" / "deeper" / "c.json").write_text('{"c": 1}')
    return root


def test_file_and_folder_round_trip(client: Client, tmp_path: Path) -> None:
    rid = client.create_run("0").info.run_id
    src = _tree(tmp_path / "src")
    stored = client.log_artifact(rid, src / "a.txt")
    assert stored.path == "a.txt" and stored.size == 5
    assert stored.sha256 == hashlib.sha256(b"alpha").hexdigest()
    client.log_artifacts(rid, src / "sub", artifact_path="data")
    top = client.list_artifacts(rid)
    assert [(f.path, f.is_dir) for f in top] == [("a.txt", False), ("data", True)]
    inner = client.list_artifacts(rid, "data")
    assert [(f.path, f.is_dir) for f in inner] == [("data/b.bin", False), ("data/deeper", True)]
    info = client.artifact_info(rid, "data/b.bin")
    assert info.size == 3000
    assert info.sha256 == hashlib.sha256((src / "sub" / "b.bin").read_bytes()).hexdigest()
    out = client.download_artifacts(rid, "data", tmp_path / "out")
    assert (out / "b.bin").read_bytes() == (src / "sub" / "b.bin").read_bytes()
    assert (out / "deeper" / "c.json").read_text() == '{"c": 1}'
    one = client.download_artifacts(rid, "a.txt", tmp_path / "one")
    assert one.read_text() == "alpha"
    everything = client.download_artifacts(rid, "", tmp_path / "all")
    assert sorted(str(p.relative_to(everything)) for p in everything.rglob("*") if p.is_file()) == [
        "a.txt",
        "data/b.bin",
        "data/deeper/c.json",
    ]


def test_typed_loggers(tracking_uri: str) -> None:
    import matplotlib.pyplot as plt

    yard.set_tracking_uri(tracking_uri)
    with yard.start_run() as run:
        yard.log_dict({"layers": [64, 32], "lr": 0.1}, "config.json")
        yard.log_dict({"a": 1}, "config.yaml")
        yard.log_text("hello", "notes/readme.txt")
        frame = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
        yard.log_table(frame, "errors.parquet")
        yard.log_table(frame, "errors.csv")
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        yard.log_figure(fig, "curve.png")
        plt.close(fig)
        with pytest.raises(InvalidArgument, match=r"parquet, \.csv or \.json"):
            yard.log_table(frame, "errors.xlsx")
    c = yard.Client()
    rid = run.run_id
    assert json.loads(c.read_artifact(rid, "config.json")) == {"layers": [64, 32], "lr": 0.1}
    assert c.read_artifact(rid, "config.yaml") == b"a: 1\n"
    assert c.read_artifact(rid, "notes/readme.txt") == b"hello"
    back = pd.read_parquet(c.download_artifacts(rid, "errors.parquet", "dl"))
    pd.testing.assert_frame_equal(back, frame)
    assert c.read_artifact(rid, "curve.png").startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "bad",
    [
        "../escape.txt",
        "/abs.txt",
        "a/../../b",
        "C:\\win.txt",
        "a\\b",
        "a\x00b",
        "%2e%2e/x",
        "%252e%252e%252fx",
        "a%2Fb",
    ],
)
def test_artifact_paths_cannot_leave_the_run(client: Client, tmp_path: Path, bad: str) -> None:
    rid = client.create_run("0").info.run_id
    with pytest.raises(InvalidArgument) as err:
        client.log_bytes(rid, b"x", bad)
    assert err.value.field in ("path", "artifact_file")
    with pytest.raises(InvalidArgument):
        client.read_artifact(rid, bad)
    assert client.list_artifacts(rid) == []
    assert not list(tmp_path.rglob("escape.txt")) and not list(tmp_path.rglob("abs.txt"))


def test_symlinks_in_uploaded_folders_are_refused(client: Client, tmp_path: Path) -> None:
    rid = client.create_run("0").info.run_id
    src = _tree(tmp_path / "src")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not upload")
    (src / "sub" / "link.txt").symlink_to(secret)
    with pytest.raises(InvalidArgument, match=r"link\.txt"):
        client.log_artifacts(rid, src)
    assert client.list_artifacts(rid) == []  # nothing half-uploaded
    with pytest.raises(InvalidArgument, match=r"symbolic link"):
        client.log_artifact(rid, src / "sub" / "link.txt")


def test_missing_artifacts(client: Client) -> None:
    rid = client.create_run("0").info.run_id
    with pytest.raises(NotFound, match="no artifact"):
        client.read_artifact(rid, "nothing.txt")
    with pytest.raises(NotFound):
        client.log_bytes("e" * 32, b"x", "a.txt")


@pytest.mark.s3
def test_artifacts_on_s3(
    s3_server: str,
    s3_bucket_uri: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server_factory,
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MODELYARD_S3_ENDPOINT_URL", s3_server)
    for uri in (f"sqlite:///{tmp_path}/s3.db", server_factory(artifacts_uri=s3_bucket_uri).url):
        monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", s3_bucket_uri)
        with Client(uri) as client:
            rid = client.create_run("0").info.run_id
            assert client.get_run(rid).info.artifact_uri.startswith(s3_bucket_uri)
            data = os.urandom(5 * 1024 * 1024 + 7)
            (tmp_path / "blob.bin").write_bytes(data)
            stored = client.log_artifact(rid, tmp_path / "blob.bin", "models")
            assert stored.sha256 == hashlib.sha256(data).hexdigest()
            assert client.read_artifact(rid, "models/blob.bin") == data
            assert [f.path for f in client.list_artifacts(rid, "models")] == ["models/blob.bin"]
