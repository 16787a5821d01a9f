"""Writing downloaded files into a folder on this machine without following links in it.

The invariant: a file downloaded to ``root/rel`` lands there and nowhere else. Every folder
between ``root`` and the file is a real directory inside ``root`` (found or created; a symbolic
link or a file in its place is refused), the bytes go to a fresh temporary name created with
``O_EXCL | O_NOFOLLOW`` in the final folder, and ``os.replace`` puts it over the final name, so
an existing link there is replaced, never written through. Each step is taken relative to the
descriptor of the folder before it, so a link swapped in during a download changes nothing.
``root`` itself is the caller's choice and is used as it resolves.

Every download path (artifacts, datasets, models, the data cache) writes through here.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from modelyard.errors import InvalidArgument

TMP_PREFIX = ".tmp-"
_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)

Progress = Callable[[int], None]


def _segments(rel: str) -> list[str]:
    """The folder names and file name of ``rel``, a relative path that cannot climb out."""
    parts = rel.split("/") if isinstance(rel, str) else []
    if (
        not parts
        or rel.startswith("/")
        or "\x00" in rel
        or "\\" in rel
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise InvalidArgument(
            f"cannot download to {rel!r}: not a plain relative path inside the destination",
            field="path",
        )
    return parts


def _open_root(root: Path) -> int:
    try:
        Path(root).mkdir(parents=True, exist_ok=True)
        return os.open(root, _DIR_FLAGS)
    except (FileExistsError, NotADirectoryError):
        raise InvalidArgument(
            f"cannot download into {str(root)!r}: it is not a folder", field="dst_path"
        ) from None


def _open_folder(root_fd: int, root: Path, folders: list[str], rel: str) -> int:
    """A descriptor of ``root/folders``, each a real directory inside ``root``."""
    fd = os.dup(root_fd)
    walked: list[str] = []
    try:
        for name in folders:
            walked.append(name)
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o777, dir_fd=fd)
            try:
                inner = os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            except OSError:  # ELOOP: a symbolic link; ENOTDIR: a file
                shown = str(root / "/".join(walked))
                raise InvalidArgument(
                    f"refusing to download {rel!r}: {shown!r} is a symbolic link or a file, "
                    "not a folder inside the destination; remove it and try again",
                    field="path",
                ) from None
            os.close(fd)
            fd = inner
        return fd
    except BaseException:
        os.close(fd)
        raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_download(
    root: Path,
    rel: str,
    chunks: Iterable[bytes],
    *,
    progress: Progress | None = None,
    read_only: bool = False,
    fsync: bool = False,
) -> Path:
    """Write ``chunks`` to ``root/rel`` (see the module's invariant); the path written.

    An error from ``chunks`` (a broken download, a digest that does not match) leaves nothing
    behind but the folders made for it, and the file that was there before stays as it was."""
    parts = _segments(rel)
    root = Path(root)
    root_fd = _open_root(root)
    try:
        folder_fd = _open_folder(root_fd, root, parts[:-1], rel)
    finally:
        os.close(root_fd)
    tmp = f"{TMP_PREFIX}{secrets.token_hex(8)}"
    try:
        fd = os.open(tmp, _NEW_FILE, 0o666, dir_fd=folder_fd)
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
                if progress is not None:
                    progress(len(chunk))
            if read_only:
                os.fchmod(fd, 0o444)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, parts[-1], src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
        except IsADirectoryError:
            raise InvalidArgument(
                f"cannot download {rel!r}: {str(root / rel)!r} is a folder", field="path"
            ) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=folder_fd)
        raise
    finally:
        os.close(folder_fd)
    return root / rel


def file_chunks(source: Path, chunk_size: int = _CHUNK) -> Iterator[bytes]:
    with open(source, "rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


def copy_download(
    root: Path,
    rel: str,
    source: Path,
    *,
    progress: Progress | None = None,
    read_only: bool = False,
) -> Path:
    """Copy the local file ``source`` (a store's own file) to ``root/rel``, as
    ``write_download`` writes."""
    return write_download(root, rel, file_chunks(source), progress=progress, read_only=read_only)
