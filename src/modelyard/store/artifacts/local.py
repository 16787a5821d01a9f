"""Artifact repository on a local folder.

Writes go to a ``.tmp-`` file beside the target and are renamed into place, so a reader never
sees half a file; every operation refuses a path whose real location (symlinks resolved) leaves
the root. By default a write survives a crash of the process but not of the machine (the
durability of the SQLite store in WAL mode); ``fsync=True`` makes it durable before it returns.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import mmap
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from modelyard.errors import InvalidArgument, NotFound, PayloadTooLarge
from modelyard.store.artifacts.base import (
    CHUNK_SIZE,
    ArtifactEntry,
    ArtifactRepository,
    Commit,
    Progress,
    StoredFile,
    StreamMeter,
)
from modelyard.store.artifacts.paths import safe_prefix, safe_relpath
from modelyard.store.space import full, is_full

TMP_PREFIX = ".tmp-"
_KERNEL_COPY_MIN = 8 << 20  # below this, the streaming path is as fast
_SMALL_FILE = 1 << 20  # read whole: one read, one write


def _has_symlink_below(root: str | Path, rel: str) -> bool:
    """Whether any existing component of ``root/rel`` below ``root`` is a symbolic link
    (components that do not exist yet are not links)."""
    current = str(root)
    for part in rel.split("/"):
        current = f"{current}/{part}"
        try:
            mode = os.lstat(current).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return False
        if stat.S_ISLNK(mode):
            return True
    return False


def _hash_file(source: Path, digest: Any) -> None:
    """Hash straight from the page cache (mmap: no copies); hashlib releases the GIL."""
    with open(source, "rb") as handle:
        flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
        with mmap.mmap(handle.fileno(), 0, flags=flags, prot=mmap.PROT_READ) as view:
            digest.update(view)


_MKSTEMP_ATTEMPTS = 5


def _read_chunks(target: Path, chunk_size: int) -> Iterator[bytes]:
    with open(target, "rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts stored as plain files under ``root``; the folder is created on first write."""

    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self._root = Path(os.path.normpath(Path(root).absolute()))
        self.root_uri = self._root.as_uri()
        self.fsync = fsync
        self._resolved_root: Path | None = None

    def _real_root(self) -> Path:
        """The root with symlinks resolved; remembered once the folder exists."""
        if self._resolved_root is not None:
            return self._resolved_root
        real = Path(os.path.realpath(self._root))
        if real.is_dir():
            self._resolved_root = real
        return real

    @property
    def root(self) -> Path:
        return self._root

    def __repr__(self) -> str:
        return f"LocalArtifactRepository({self.root_uri!r})"

    # -- path handling -------------------------------------------------------------------------

    def _locate(self, rel: str, *, field: str = "path") -> Path:
        """The on-disk path for validated ``rel`` ("" = root), refused if it resolves outside."""
        if any(part.startswith(TMP_PREFIX) for part in rel.split("/")):
            raise InvalidArgument(
                f"invalid artifact path {rel!r}: names starting with {TMP_PREFIX!r} are reserved",
                field=field,
            )
        real_root = self._real_root()
        target = real_root / rel if rel else real_root
        if rel and not _has_symlink_below(real_root, rel):
            return target  # rel has no '..' (validated) and nothing below the root is a link
        resolved = Path(os.path.realpath(target))
        if not resolved.is_relative_to(real_root):
            raise InvalidArgument(
                f"artifact path {rel!r} resolves outside the repository root", field=field
            )
        return target

    def _prune_empty_parents(self, folder: Path) -> None:
        """Remove empty folders from ``folder`` up to, not including, the root."""
        real_root = self._real_root()
        current = folder
        while current != real_root and current.is_relative_to(real_root):
            try:
                current.rmdir()
            except OSError:
                return
            current = current.parent

    def _open_temp(self, folder: Path, rel: str) -> tuple[int, str]:
        """Create ``folder`` as needed and a temp file in it, tolerating a concurrent prune."""
        for attempt in range(_MKSTEMP_ATTEMPTS):
            if not folder.is_dir():
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except (FileExistsError, NotADirectoryError):
                    raise InvalidArgument(
                        f"cannot write artifact {rel!r}: a parent of it is a file", field="path"
                    ) from None
                except OSError as exc:
                    if is_full(exc):
                        raise full(f"the artifact store ({self.root})", exc) from None
                    raise
                self._locate(rel)  # the folder just created must still resolve inside the root
            try:
                return tempfile.mkstemp(prefix=TMP_PREFIX, dir=folder)
            except FileNotFoundError:
                if attempt == _MKSTEMP_ATTEMPTS - 1:
                    raise
            except OSError as exc:
                if is_full(exc):
                    raise full(f"the artifact store ({self.root})", exc) from None
                raise
        raise AssertionError("unreachable")

    # -- writes --------------------------------------------------------------------------------

    def write_stream(
        self,
        path: str,
        chunks: Iterable[bytes],
        *,
        max_bytes: int | None = None,
        before_commit: Commit | None = None,
        known_sha256: str | None = None,
    ) -> StoredFile:
        rel = safe_relpath(path)
        target = self._locate(rel)
        meter = StreamMeter(rel, max_bytes, known_sha256)
        if target.is_dir() and not target.is_symlink():
            raise InvalidArgument(f"cannot write artifact {rel!r}: it is a folder", field="path")
        fd, tmp_name = self._open_temp(target.parent, rel)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    meter.feed(chunk)
                    handle.write(chunk)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            if before_commit is not None:
                before_commit(meter.result())
            Path(tmp_name).replace(target)
        except BaseException as exc:
            Path(tmp_name).unlink(missing_ok=True)
            self._prune_empty_parents(target.parent)
            if is_full(exc):
                raise full(f"the artifact store ({self.root})", exc) from None
            raise
        if self.fsync:
            _fsync_dir(target.parent)
        return meter.result()

    def write_file(
        self,
        path: str,
        local_path: Path,
        *,
        progress: Progress | None = None,
        max_bytes: int | None = None,
        before_commit: Commit | None = None,
    ) -> StoredFile:
        """Large local files are copied by the kernel (``sendfile``) while a thread hashes the
        source, so a copy costs about what ``cp`` does; small ones take the streaming path."""
        rel, source = self._file_arguments(path, local_path)
        size = source.stat().st_size
        if size <= _SMALL_FILE:
            with open(source, "rb") as handle:
                return self.write_stream(
                    rel, [handle.read()], max_bytes=max_bytes, before_commit=before_commit
                )
        if size < _KERNEL_COPY_MIN or not hasattr(os, "sendfile"):
            return super().write_file(
                rel, source, progress=progress, max_bytes=max_bytes, before_commit=before_commit
            )
        if max_bytes is not None and size > max_bytes:
            raise PayloadTooLarge(
                f"artifact {rel!r} is {size} bytes; the limit is {max_bytes}", field="path"
            )
        target = self._locate(rel)
        if target.is_dir() and not target.is_symlink():
            raise InvalidArgument(f"cannot write artifact {rel!r}: it is a folder", field="path")
        digest = hashlib.sha256()
        hasher = threading.Thread(target=_hash_file, args=(source, digest), daemon=True)
        hasher.start()
        fd, tmp_name = self._open_temp(target.parent, rel)
        try:
            with open(source, "rb") as src:
                copied = 0
                while copied < size:
                    sent = os.sendfile(fd, src.fileno(), copied, min(size - copied, 1 << 30))
                    if sent == 0:
                        break
                    copied += sent
                    if progress is not None:
                        progress(sent)
            if self.fsync:
                os.fsync(fd)
            os.close(fd)
            fd = -1
            hasher.join()
            if copied != size or source.stat().st_size != size:
                raise InvalidArgument(
                    f"{str(source)!r} changed while it was being stored", field="local_path"
                )
            if before_commit is not None:
                before_commit(StoredFile(path=rel, size=size, sha256=digest.hexdigest()))
            Path(tmp_name).replace(target)
        except BaseException as exc:
            if fd >= 0:
                os.close(fd)
            Path(tmp_name).unlink(missing_ok=True)
            self._prune_empty_parents(target.parent)
            if is_full(exc):
                raise full(f"the artifact store ({self.root})", exc) from None
            raise
        if self.fsync:
            _fsync_dir(target.parent)
        return StoredFile(path=rel, size=size, sha256=digest.hexdigest())

    # -- reads ---------------------------------------------------------------------------------

    def read_stream(self, path: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        rel = safe_relpath(path)
        if chunk_size <= 0:
            raise InvalidArgument(f"chunk_size must be > 0, got {chunk_size}", field="chunk_size")
        target = self._locate(rel)
        if not target.is_file():
            if target.is_dir():
                raise InvalidArgument(f"artifact {rel!r} is a folder, not a file", field="path")
            raise NotFound(f"artifact {rel!r} not found in {self.root_uri}", field="path")
        return _read_chunks(target, chunk_size)

    def local_file(self, path: str) -> Path | None:
        rel = safe_relpath(path)
        target = self._locate(rel)
        return target if target.is_file() else None

    def size(self, path: str) -> int:
        rel = safe_relpath(path)
        target = self._locate(rel)
        if target.is_file():
            return target.stat().st_size
        if target.is_dir():
            raise InvalidArgument(f"artifact {rel!r} is a folder, not a file", field="path")
        raise NotFound(f"artifact {rel!r} not found in {self.root_uri}", field="path")

    def exists(self, path: str) -> bool:
        rel = safe_relpath(path)
        return self._locate(rel).exists()

    def list(self, prefix: str = "") -> builtins.list[ArtifactEntry]:
        rel = safe_prefix(prefix)
        folder = self._locate(rel, field="prefix")
        if not folder.is_dir():
            return []
        entries: builtins.list[ArtifactEntry] = []
        with os.scandir(folder) as children:
            for child in children:
                if child.name.startswith(TMP_PREFIX):
                    continue
                child_rel = f"{rel}/{child.name}" if rel else child.name
                try:
                    safe_relpath(child_rel)
                except InvalidArgument:
                    continue  # not addressable through this interface; never written by it
                if child.is_dir(follow_symlinks=False):
                    entries.append(ArtifactEntry(path=child_rel, is_dir=True, size=None))
                elif child.is_file(follow_symlinks=False):
                    size = child.stat(follow_symlinks=False).st_size
                    entries.append(ArtifactEntry(path=child_rel, is_dir=False, size=size))
        entries.sort(key=lambda entry: entry.path)
        return entries

    # -- deletes -------------------------------------------------------------------------------

    def delete(self, prefix: str = "") -> None:
        rel = safe_prefix(prefix)
        target = self._locate(rel, field="prefix")
        if rel == "":
            if not target.is_dir():
                return
            with os.scandir(target) as children:
                for child in children:
                    self._remove(Path(child.path))
            return
        self._remove(target)
        self._prune_empty_parents(target.parent)

    @staticmethod
    def _remove(target: Path) -> None:
        if target.is_dir() and not target.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(target)
        else:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()

    def child(self, prefix: str) -> LocalArtifactRepository:
        rel = safe_relpath(prefix, field="prefix")
        target = self._locate(rel, field="prefix")
        if target.is_file():
            raise InvalidArgument(
                f"artifact prefix {rel!r} is a file, not a folder", field="prefix"
            )
        return LocalArtifactRepository(self._root / rel)
