"""Datasets over HTTP as a hostile client sees them, and on an S3 artifact store."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.fixtures.http import error_of
from tests.fixtures.stores import ServerThread

from modelyard.data import DataClient
from modelyard.data.entities import FileEntry
from modelyard.data.manifest import digest_of


@pytest.fixture
def server(server_factory: Callable[..., ServerThread]) -> ServerThread:
    return server_factory()


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _put_blob(http: httpx.Client, data: bytes, sha: str | None = None) -> httpx.Response:
    sha = sha or hashlib.sha256(data).hexdigest()
    return http.put(
        f"/api/v1/datasets/blobs/{sha}",
        params={"size": len(data)},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def _version_body(entries: list[FileEntry], fmt: str = "files", **extra: object) -> dict:
    return {
        "name": "raw",
        "format": fmt,
        "digest": digest_of(fmt, entries),
        "manifest": [e.to_dict() for e in entries],
        **extra,
    }


def test_blob_upload_is_verified(http: httpx.Client) -> None:
    data = b"hello blobs" * 100
    sha = hashlib.sha256(data).hexdigest()
    resp = http.post("/api/v1/datasets/blobs/missing", json={"digests": [sha]})
    assert resp.json() == {"missing": [sha]}
    wrong = _put_blob(http, data, sha="0" * 64)
    assert wrong.status_code == 409 and error_of(wrong)["field"] == "sha256"
    assert http.post("/api/v1/datasets/blobs/missing", json={"digests": ["0" * 64]}).json() == {
        "missing": ["0" * 64]
    }
    assert _put_blob(http, data).status_code == 201
    assert http.post("/api/v1/datasets/blobs/missing", json={"digests": [sha]}).json() == {
        "missing": []
    }
    assert http.get(f"/api/v1/datasets/blobs/{sha}").content == data
    missing = http.get(f"/api/v1/datasets/blobs/{'1' * 64}")
    assert missing.status_code == 404 and error_of(missing)["code"] == "NOT_FOUND"
    bad = http.get("/api/v1/datasets/blobs/..%2F..%2Fetc%2Fpasswd")
    assert bad.status_code in (400, 404)


def test_versions_are_checked_before_anything_is_written(http: httpx.Client) -> None:
    data = b"a,b\n1,2\n"
    sha = hashlib.sha256(data).hexdigest()
    entry = FileEntry("data.csv", sha, len(data))
    # the blob is not stored yet
    resp = http.post("/api/v1/datasets/versions", json=_version_body([entry]))
    assert resp.status_code in (400, 404, 409), resp.text
    assert _put_blob(http, data).status_code == 201
    cases = [
        (_version_body([entry], digest="f" * 64), "digest"),
        (_version_body([FileEntry("../escape.csv", sha, len(data))]), "path"),
        (_version_body([entry], fmt="excel"), "format"),
        ({**_version_body([entry]), "manifest": "nope"}, "manifest"),
        ({**_version_body([entry]), "name": "../x"}, "name"),
        ({**_version_body([entry]), "tags": {"a": 1}}, "tags"),
        ({**_version_body([entry]), "run_id": "f" * 32}, None),
    ]
    for body, field in cases:
        resp = http.post("/api/v1/datasets/versions", json=body)
        assert 400 <= resp.status_code < 500, (body, resp.text)
        err = error_of(resp)
        if field is not None:
            assert err["field"] == field, (field, err)
    assert http.get("/api/v1/datasets").json() == {"datasets": [], "next_page_token": None}
    ok = http.post("/api/v1/datasets/versions", json=_version_body([entry]))
    assert ok.status_code == 201 and ok.json()["version"]["version"] == 1
    again = http.post("/api/v1/datasets/versions", json=_version_body([entry]))
    assert again.status_code == 200 and again.json()["created"] is False
    bad_suite = http.put(
        "/api/v1/datasets/expectations",
        json={"name": "raw", "version": 1, "expectations": "expectations: [{rule: nope}]"},
    )
    assert bad_suite.status_code == 400 and "unknown rule" in error_of(bad_suite)["message"]
    gone = http.get("/api/v1/datasets/version", params={"name": "raw", "version": 9})
    assert gone.status_code == 404


def test_datasets_on_an_s3_artifact_store(
    tmp_path: Path, s3_bucket_uri: str, s3_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", s3_bucket_uri)
    monkeypatch.setenv("MODELYARD_S3_ENDPOINT_URL", s3_server)
    data = DataClient(f"sqlite:///{tmp_path}/yard.db")
    frame = pd.DataFrame({"x": np.arange(1000), "y": np.linspace(0, 1, 1000)})
    v = data.log_dataset(frame, "on-s3")
    assert data.log_dataset(frame, "on-s3").version == 1
    pd.testing.assert_frame_equal(data.get("on-s3").to_pandas(), frame)
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha")
    files = data.log_dataset(folder, "files-on-s3")
    assert (files.path / "a.txt").read_text() == "alpha"
    assert data.blobs.local_path(v.manifest[0].sha256) is None  # read through the cache


def test_server_checks_what_clients_claim(http: httpx.Client) -> None:
    data = b"x" * 10
    sha = hashlib.sha256(data).hexdigest()
    assert _put_blob(http, data).status_code == 201
    entry = FileEntry("a.parquet", sha, len(data))
    cases = [
        (_version_body([FileEntry("a.bin", sha, 999)]), "manifest.size"),
        (_version_body([entry], fmt="parquet", profile={"junk": 1}), "profile"),
        (_version_body([entry], fmt="parquet", num_rows=2**64), None),
        ({**_version_body([entry], fmt="parquet"), "tags": {"k" * 300: "v"}}, None),
        ({**_version_body([entry]), "name": "/".join(["a" * 100] * 3)}, "name"),
    ]
    for body, field in cases:
        resp = http.post("/api/v1/datasets/versions", json=body)
        assert 400 <= resp.status_code < 500, (body.get("name"), resp.text)
        if field is not None:
            assert error_of(resp)["field"] == field
    weird = http.put(
        "/api/v1/datasets/expectations",
        json={"name": "x", "version": 1, "expectations": "expectations: [{rule: {a: 1}}]"},
    )
    assert weird.status_code == 400, weird.text
    assert http.get("/api/v1/datasets").json() == {"datasets": [], "next_page_token": None}


def test_client_refuses_a_manifest_that_escapes(tmp_path: Path) -> None:
    from modelyard.data.rest_store import _checked
    from modelyard.errors import InvalidArgument

    good = {
        "name": "x",
        "version": 1,
        "digest": "a" * 64,
        "format": "files",
        "num_bytes": 1,
        "manifest": [{"path": "ok.txt", "sha256": "b" * 64, "size": 1}],
    }
    assert _checked(good).manifest[0].path == "ok.txt"
    for bad in (
        {**good, "digest": "../../etc"},
        {**good, "manifest": [{"path": "/home/u/.bashrc", "sha256": "b" * 64, "size": 1}]},
        {**good, "manifest": [{"path": "../up.txt", "sha256": "b" * 64, "size": 1}]},
    ):
        with pytest.raises(InvalidArgument):
            _checked(bad)
