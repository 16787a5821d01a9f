"""Artifact path validation: every unsafe form is refused with a message naming it."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.errors import InvalidArgument
from modelyard.store.artifacts.local import LocalArtifactRepository
from modelyard.store.artifacts.paths import iter_upload_files, join_relpath, safe_relpath

REJECTED = [
    pytest.param("", id="empty"),
    pytest.param("a" * 1025, id="too-long"),
    pytest.param("a/" + "b" * 256, id="segment-too-long"),
    pytest.param("/a", id="absolute"),
    pytest.param("//a", id="double-slash-absolute"),
    pytest.param("C:", id="drive"),
    pytest.param("c:\\x", id="drive-backslash"),
    pytest.param("C:/x", id="drive-slash"),
    pytest.param("a:b", id="drive-relative"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\nb", id="newline"),
    pytest.param("a\x1fb", id="unit-separator"),
    pytest.param("a\x7fb", id="del"),
    pytest.param(".", id="dot"),
    pytest.param("..", id="dotdot"),
    pytest.param("a/./b", id="inner-dot"),
    pytest.param("a/../b", id="inner-dotdot"),
    pytest.param("../x", id="leading-dotdot"),
    pytest.param("a//b", id="empty-segment"),
    pytest.param("a/", id="trailing-slash"),
    pytest.param("%2e%2e/x", id="encoded-dotdot"),
    pytest.param("..%2fx", id="encoded-slash-after-dotdot"),
    pytest.param("%252e%252e%252fx", id="double-encoded"),
    pytest.param("%2fetc/passwd", id="encoded-absolute"),
    pytest.param("a%00b", id="encoded-nul"),
    pytest.param("%5c", id="encoded-backslash"),
    pytest.param("a%2Fb", id="encoded-slash"),
    pytest.param("a%2fb", id="encoded-slash-lower"),
    pytest.param("%43:/x", id="encoded-drive"),
    pytest.param("%25252525252e", id="encoded-too-deep"),
]


@pytest.mark.parametrize("path", REJECTED)
def test_rejected_paths_name_the_path(path: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        safe_relpath(path)
    assert info.value.field == "path"
    assert repr(path)[:60] in info.value.message


def test_field_is_passed_through() -> None:
    with pytest.raises(InvalidArgument) as info:
        safe_relpath("../x", field="artifact_path")
    assert info.value.field == "artifact_path"


def test_encoded_slash_message_says_what_it_decodes_to() -> None:
    with pytest.raises(InvalidArgument, match="'a/b'"):
        safe_relpath("a%2Fb")


@pytest.mark.parametrize(
    "path",
    [
        "model.pkl",
        "a/b/c.txt",
        "report 100%.txt",
        "a%zz",
        "a%20b",
        ".hidden",
        "..dots",
        "dots..",
        "x" * 255,
        "/".join(["d"] * 512)[:1023],
        "über/模型.bin",
        "ab:c",
    ],
)
def test_accepted_paths_are_returned_as_given(path: str) -> None:
    assert safe_relpath(path) == path


def test_join_relpath() -> None:
    assert join_relpath("", "a.txt") == "a.txt"
    assert join_relpath("runs/1", "model/a.txt") == "runs/1/model/a.txt"
    with pytest.raises(InvalidArgument):
        join_relpath("runs/1", "../2/a.txt")
    with pytest.raises(InvalidArgument):
        join_relpath("/runs", "a.txt")
    with pytest.raises(InvalidArgument):
        join_relpath("a" * 600, "b" * 200 + "/" + "c" * 250)


def _unsafe(text: str) -> bool:
    segments = text.split("/")
    return (
        ".." in segments
        or text.startswith("/")
        or "\\" in text
        or any(ord(char) < 32 or ord(char) == 127 for char in text)
    )


@given(st.text(alphabet=st.sampled_from(list("./\\%2530aefFcC:\x00\n")), max_size=30))
def test_property_accepted_paths_are_safe_in_every_decoding_dense(text: str) -> None:
    _check_property(text)


@given(st.text(max_size=60))
def test_property_accepted_paths_are_safe_in_every_decoding(text: str) -> None:
    _check_property(text)


def _check_property(text: str) -> None:
    try:
        result = safe_relpath(text)
    except InvalidArgument:
        return
    form = result
    for _ in range(10):
        assert not _unsafe(form), (text, form)
        decoded = unquote(form)
        if decoded == form:
            break
        form = decoded


def test_iter_upload_files_lists_regular_files_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_bytes(b"z")
    (tmp_path / "a.txt").write_bytes(b"a")
    (tmp_path / "b" / "c").mkdir()
    (tmp_path / "b" / "c" / "d.bin").write_bytes(b"d")
    (tmp_path / "empty").mkdir()
    assert iter_upload_files(tmp_path) == [
        (tmp_path / "a.txt", "a.txt"),
        (tmp_path / "b" / "c" / "d.bin", "b/c/d.bin"),
        (tmp_path / "b" / "z.txt", "b/z.txt"),
    ]


def test_iter_upload_files_refuses_file_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_bytes(b"s")
    src = tmp_path / "src"
    src.mkdir()
    (src / "link").symlink_to(outside)
    with pytest.raises(InvalidArgument, match="link"):
        iter_upload_files(src)


def test_iter_upload_files_refuses_dir_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x").write_bytes(b"x")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "dirlink").symlink_to(outside, target_is_directory=True)
    with pytest.raises(InvalidArgument, match="dirlink"):
        iter_upload_files(src)


def test_iter_upload_files_refuses_symlink_pointing_inside(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_bytes(b"r")
    (tmp_path / "alias.txt").symlink_to(tmp_path / "real.txt")
    with pytest.raises(InvalidArgument, match=r"alias\.txt"):
        iter_upload_files(tmp_path)


def test_iter_upload_files_refuses_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InvalidArgument, match="pipe"):
        iter_upload_files(tmp_path)


def test_iter_upload_files_refuses_socket(tmp_path: Path) -> None:
    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(sock_path))
        with pytest.raises(InvalidArgument, match=r"s\.sock"):
            iter_upload_files(tmp_path)


def test_iter_upload_files_refuses_non_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not a directory"):
        iter_upload_files(tmp_path / "missing")
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(InvalidArgument, match="not a directory"):
        iter_upload_files(tmp_path / "f")


def test_symlink_planted_in_store_is_refused_on_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"top secret")
    root = tmp_path / "store"
    repo = LocalArtifactRepository(root)
    repo.write_bytes("runs/1/ok.txt", b"fine")
    (root / "runs" / "1" / "leak.txt").symlink_to(secret)
    (root / "runs" / "escape").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(InvalidArgument, match="outside"):
        repo.read_bytes("runs/1/leak.txt")
    with pytest.raises(InvalidArgument, match="outside"):
        repo.read_stream("runs/escape/secret.txt")
    with pytest.raises(InvalidArgument, match="outside"):
        repo.size("runs/1/leak.txt")
    with pytest.raises(InvalidArgument, match="outside"):
        repo.list("runs/escape")
    with pytest.raises(InvalidArgument, match="outside"):
        repo.delete("runs/escape/secret.txt")
    with pytest.raises(InvalidArgument, match="outside"):
        repo.write_bytes("runs/escape/new.txt", b"x")
    assert secret.read_bytes() == b"top secret"
    assert not (tmp_path / "new.txt").exists()
    assert repo.read_bytes("runs/1/ok.txt") == b"fine"
