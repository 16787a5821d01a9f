"""Downloads never write through a link: every download path (datasets and run artifacts,
from the SDK and the CLI, the store layer's ``download``, the data cache), embedded and
through a live server, against a table of links planted in the destination.

Canary files and folders live outside the destination; after each download they must hold
exactly what they held before, and nothing new may appear beside them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import modelyard as yard
from modelyard.cli.main import main
from modelyard.data.client import DataClient
from modelyard.errors import InvalidArgument
from modelyard.store.artifacts.local import LocalArtifactRepository
from modelyard.store.downloads import write_download

CANARY = b"canary: must never change\n"
PAYLOAD = b"downloaded bytes\n"


@dataclass
class Outside:
    """A folder outside the destination holding a canary file."""

    folder: Path

    @property
    def canary(self) -> Path:
        return self.folder / "canary.txt"

    def snapshot(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(self.folder.rglob("*"))
        }


@pytest.fixture
def outside(tmp_path: Path) -> Outside:
    folder = tmp_path / "outside"
    (folder / "sub").mkdir(parents=True)
    (folder / "canary.txt").write_bytes(CANARY)
    (folder / "sub" / "f.txt").write_bytes(CANARY)
    return Outside(folder)


# What an attacker (or an accident) leaves in the destination before the download of "f.txt"
# and "sub/f.txt": (name, how to plant it, whether the download must be refused)
Plant = Callable[[Path, Outside], None]


def _link_file(dest: Path, out: Outside) -> None:
    (dest / "f.txt").symlink_to(out.canary)


def _link_dangling(dest: Path, out: Outside) -> None:
    (dest / "f.txt").symlink_to(out.folder / "created-through-link.txt")


def _link_relative(dest: Path, out: Outside) -> None:
    (dest / "f.txt").symlink_to(os.path.relpath(out.canary, dest))


def _link_to_folder(dest: Path, out: Outside) -> None:
    (dest / "f.txt").symlink_to(out.folder)


def _hard_link(dest: Path, out: Outside) -> None:
    os.link(out.canary, dest / "f.txt")


def _link_chain(dest: Path, out: Outside) -> None:
    (dest / "hop").symlink_to(out.canary)
    (dest / "f.txt").symlink_to(dest / "hop")


def _old_temp_name(dest: Path, out: Outside) -> None:
    (dest / ".tmp-f.txt").symlink_to(out.canary)  # the temporary name downloads once used


def _parent_link_outside(dest: Path, out: Outside) -> None:
    (dest / "sub").symlink_to(out.folder / "sub")


def _parent_link_relative(dest: Path, out: Outside) -> None:
    (dest / "sub").symlink_to(os.path.relpath(out.folder / "sub", dest))


def _parent_link_dangling(dest: Path, out: Outside) -> None:
    (dest / "sub").symlink_to(out.folder / "not-yet")


def _parent_link_inside(dest: Path, out: Outside) -> None:
    (dest / "real").mkdir()
    (dest / "sub").symlink_to(dest / "real")


def _parent_is_file(dest: Path, out: Outside) -> None:
    (dest / "sub").write_bytes(b"a file where a folder goes")


PLANTS: list[tuple[str, Plant, bool]] = [
    ("link-to-file", _link_file, False),
    ("dangling-link", _link_dangling, False),
    ("relative-link", _link_relative, False),
    ("link-to-folder", _link_to_folder, False),
    ("hard-link", _hard_link, False),
    ("link-chain", _link_chain, False),
    ("old-temp-name", _old_temp_name, False),
    ("parent-link-outside", _parent_link_outside, True),
    ("parent-link-relative", _parent_link_relative, True),
    ("parent-link-dangling", _parent_link_dangling, True),
    ("parent-link-inside", _parent_link_inside, True),
    ("parent-is-a-file", _parent_is_file, True),
]
IDS = [p[0] for p in PLANTS]


def _check(dest: Path, out: Outside, before: dict[str, bytes], refused: bool) -> None:
    assert out.snapshot() == before, "a file outside the destination changed"
    assert not (out.folder / "created-through-link.txt").exists()
    assert not (out.folder / "not-yet").exists()
    if not refused:
        written = dest / "f.txt"
        assert not written.is_symlink() and written.read_bytes() == PAYLOAD
    assert not [p for p in dest.rglob(".tmp-*") if not p.is_symlink()], "a temp file was left"


def _prepare(tmp_path: Path, out: Outside, plant: Plant) -> tuple[Path, dict[str, bytes]]:
    dest = tmp_path / "dest"
    dest.mkdir()
    plant(dest, out)
    return dest, out.snapshot()


# --- the shared helper and the store layer --------------------------------------------------


@pytest.mark.parametrize(("name", "plant", "refused"), PLANTS, ids=IDS)
def test_the_download_helper(
    tmp_path: Path, outside: Outside, name: str, plant: Plant, refused: bool
) -> None:
    dest, before = _prepare(tmp_path, outside, plant)
    rel = "sub/f.txt" if refused else "f.txt"
    if refused:
        with pytest.raises(InvalidArgument) as err:
            write_download(dest, rel, [PAYLOAD])
        assert err.value.field == "path" and "sub" in err.value.message
    else:
        assert write_download(dest, rel, [PAYLOAD]) == dest / rel
    _check(dest, outside, before, refused)


AT_THE_NAME = [p for p in PLANTS if not p[2]]


@pytest.mark.parametrize(("name", "plant", "refused"), AT_THE_NAME, ids=[p[0] for p in AT_THE_NAME])
def test_the_artifact_repository_download(
    tmp_path: Path, outside: Outside, name: str, plant: Plant, refused: bool
) -> None:
    """``download(path, local_path)``: the caller names the whole local path (its folders
    are theirs); what is at the final name is replaced, never written through."""
    repo = LocalArtifactRepository(tmp_path / "repo")
    repo.write_bytes("m/f.txt", PAYLOAD)
    dest, before = _prepare(tmp_path, outside, plant)
    assert repo.download("m/f.txt", dest / "f.txt").size == len(PAYLOAD)
    _check(dest, outside, before, refused)


@pytest.mark.parametrize("rel", ["../f.txt", "/abs/f.txt", "a/../../f.txt", "", "a//b", "."])
def test_the_helper_refuses_a_path_that_climbs_out(tmp_path: Path, rel: str) -> None:
    with pytest.raises(InvalidArgument):
        write_download(tmp_path / "dest", rel, [PAYLOAD])
    assert not (tmp_path / "f.txt").exists()


def test_a_failed_download_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "f.txt").write_bytes(b"old")

    def broken() -> list[bytes]:
        raise OSError("connection reset")

    def chunks():  # type: ignore[no-untyped-def]
        yield b"new"
        broken()

    with pytest.raises(OSError):
        write_download(dest, "f.txt", chunks())
    assert (dest / "f.txt").read_bytes() == b"old"
    assert sorted(p.name for p in dest.iterdir()) == ["f.txt"]


# --- datasets and artifacts, embedded and through a live server -----------------------------


@pytest.fixture(params=["embedded", "server"])
def store_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", (tmp_path / "artifacts").as_uri())
    if request.param == "embedded":
        return f"sqlite:///{tmp_path}/yard.db"
    return str(request.getfixturevalue("server_factory")().url)


def _dataset(tmp_path: Path, uri: str) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "f.txt").write_bytes(PAYLOAD)
    (src / "sub" / "f.txt").write_bytes(PAYLOAD)
    DataClient(uri).log_dataset(src, "files")


def _run(uri: str) -> str:
    client = yard.Client(uri)
    run = client.create_run("0")
    client.log_bytes(run.info.run_id, PAYLOAD, "f.txt")
    client.log_bytes(run.info.run_id, PAYLOAD, "sub/f.txt")
    client.set_terminated(run.info.run_id)
    client.flush()
    return str(run.info.run_id)


Download = Callable[[str, Path], object]


def _datasets_sdk(uri: str, dest: Path) -> object:
    return DataClient(uri).download("files", dest)


def _datasets_cli(uri: str, dest: Path) -> object:
    code = main(["datasets", "get", "files", str(dest), "-t", uri])
    if code != 0:
        raise InvalidArgument(f"exit {code}")
    return code


def _artifacts_sdk(run_id: str, uri: str, dest: Path) -> object:
    return yard.Client(uri).download_artifacts(run_id, "", dest)


def _artifacts_sdk_one(run_id: str, uri: str, dest: Path) -> object:
    client = yard.Client(uri)
    client.download_artifacts(run_id, "f.txt", dest)
    return client.download_artifacts(run_id, "sub/f.txt", dest)


def _artifacts_cli(run_id: str, uri: str, dest: Path) -> object:
    code = main(["artifacts", "download", run_id, "--dst", str(dest), "-t", uri])
    if code != 0:
        raise InvalidArgument(f"exit {code}")
    return code


@pytest.mark.parametrize(("name", "plant", "refused"), PLANTS, ids=IDS)
@pytest.mark.parametrize("how", [_datasets_sdk, _datasets_cli], ids=["sdk", "cli"])
def test_datasets_get(
    tmp_path: Path,
    outside: Outside,
    store_uri: str,
    how: Callable[[str, Path], object],
    name: str,
    plant: Plant,
    refused: bool,
) -> None:
    _dataset(tmp_path, store_uri)
    dest, before = _prepare(tmp_path, outside, plant)
    if refused:
        with pytest.raises(InvalidArgument):
            how(store_uri, dest)
    else:
        how(store_uri, dest)
        assert (dest / "sub" / "f.txt").read_bytes() == PAYLOAD
    _check(dest, outside, before, refused)


@pytest.mark.parametrize(("name", "plant", "refused"), PLANTS, ids=IDS)
@pytest.mark.parametrize(
    "how", [_artifacts_sdk, _artifacts_sdk_one, _artifacts_cli], ids=["sdk", "sdk-file", "cli"]
)
def test_artifacts_download(
    tmp_path: Path,
    outside: Outside,
    store_uri: str,
    how: Callable[[str, str, Path], object],
    name: str,
    plant: Plant,
    refused: bool,
) -> None:
    run_id = _run(store_uri)
    dest, before = _prepare(tmp_path, outside, plant)
    if refused:
        with pytest.raises(InvalidArgument):
            how(run_id, store_uri, dest)
    else:
        how(run_id, store_uri, dest)
        assert (dest / "sub" / "f.txt").read_bytes() == PAYLOAD
    _check(dest, outside, before, refused)


def test_a_link_planted_in_the_data_cache_is_neither_read_nor_written(
    tmp_path: Path, outside: Outside, server_factory: Callable[..., object]
) -> None:
    """Through a server, blobs are copied into the local cache: a link planted at a blob's
    place (even to a file of the right size) is replaced by the verified bytes."""
    uri = str(server_factory().url)  # type: ignore[attr-defined]
    _dataset(tmp_path, uri)
    version = DataClient(uri).get("files")
    entry = version.manifest[0]
    decoy = outside.folder / "decoy.txt"
    decoy.write_bytes(b"x" * entry.size)
    before = outside.snapshot()
    cache = tmp_path / "cache" / "blobs" / entry.sha256[:2]
    cache.mkdir(parents=True)
    (cache / entry.sha256).symlink_to(decoy)
    folder = version.path
    assert (folder / "f.txt").read_bytes() == PAYLOAD
    assert not (cache / entry.sha256).is_symlink()
    assert outside.snapshot() == before
