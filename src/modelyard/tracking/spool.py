"""Durable local spool for run ops that could not reach the server.

One JSON file per undelivered batch, written atomically (temp file, fsync, rename) under
``<spool dir>/<hash of the tracking URI>/``; names sort in the order the batches were made.
A write that fails (a full disk) leaves no file behind and raises an error of the root
naming the folder. ``replay`` delivers files oldest first and deletes each only after the
server accepted it, holding the folder's lock: two processes never deliver one folder at once,
so a later batch (a tag changed again, a run ended) is never overtaken by an earlier one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from modelyard.errors import ModelyardError, Unavailable
from modelyard.store.space import full, is_full
from modelyard.tracking.ops import Op, decode_ops, encode_ops

_seq_lock = threading.Lock()
_seq = 0


def _next_seq() -> int:
    global _seq
    with _seq_lock:
        _seq += 1
        return _seq


# folders a system clears (a reboot, a tmp cleaner): only compared with, never written to
TEMPORARY_ROOTS = ("/tmp", "/var/tmp", "/dev/shm", "/run")  # noqa: S108


class Spool:
    def __init__(self, root: Path, tracking_uri: str) -> None:
        self.root = root
        self.tracking_uri = tracking_uri
        digest = hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]
        self.dir = root / digest

    @property
    def temporary(self) -> bool:
        """Whether the spool lies where the system may clear it (a reboot, a tmp cleaner)."""
        import tempfile

        roots = {*TEMPORARY_ROOTS, tempfile.gettempdir()}
        where = os.path.realpath(self.root)
        return any(where == r or where.startswith(r.rstrip("/") + "/") for r in roots)

    def write(self, ops: Sequence[Op]) -> Path:
        """Spool ``ops`` as one file, or raise (``InsufficientStorage`` for a full disk)
        leaving nothing behind: a batch is spooled whole or not at all."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{_next_seq():08d}.json"
        final = self.dir / name
        tmp = self.dir / f".tmp-{name}"
        body = orjson.dumps({"tracking_uri": self.tracking_uri, "ops": encode_ops(ops)})
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(final)
            dir_fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            for left in (tmp, final):
                with contextlib.suppress(OSError):
                    left.unlink(missing_ok=True)
            raise self._write_error(exc) from None
        return final

    def _write_error(self, exc: OSError) -> ModelyardError:
        where = f"the local spool {self.dir}"
        if is_full(exc):
            return full(
                where, exc, "free space there, or set MODELYARD_SPOOL_DIR to a folder with room"
            )
        return ModelyardError(
            f"cannot write {where} ({exc.strerror or exc}); nothing was written: set "
            "MODELYARD_SPOOL_DIR to a folder this process can write",
            field="spool",
        )

    def files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.glob("*.json") if not p.name.startswith(".tmp-"))

    @staticmethod
    def read(path: Path) -> tuple[str, list[Op]]:
        body: Any = orjson.loads(path.read_bytes())
        return str(body["tracking_uri"]), decode_ops(body["ops"])

    @contextlib.contextmanager
    def _delivering(self, wait: float) -> Iterator[None]:
        """Hold the folder's delivery lock (released when the process dies, too); raise
        ``Unavailable`` if another process keeps it longer than ``wait`` seconds. Where the
        lock file cannot be made (no inode left), delivery goes on without it."""
        try:
            fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            yield
            return
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Unavailable(
                            f"another process is delivering the local spool {self.dir}; "
                            "its batches are delivered when it is done"
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)

    def replay(
        self,
        apply: Callable[[list[Op]], None],
        files: Sequence[Path] | None = None,
        *,
        wait: float = 30.0,
        stop: Callable[[], bool] | None = None,
    ) -> tuple[int, list[tuple[Path, str]]]:
        """Deliver spooled batches oldest first; returns (delivered, [(set aside, why)]).

        Only one process delivers a folder at a time (``wait``: how long to wait for another
        to finish); a file another process delivered meanwhile is skipped. A file that cannot
        be read, or that the server refuses as invalid, is moved to ``rejected/`` beside the
        spool and reported once, so it never blocks the files behind it. Delivery stops at
        the first file that fails for lack of a server (order matters), raising
        ``Unavailable``, and before the next file once ``stop()`` is true.
        """
        if not (self.files() if files is None else files) or not self.dir.is_dir():
            return 0, []  # nothing to do: no lock file made
        with self._delivering(wait):
            todo = self.files() if files is None else list(files)
            return self._replay_locked(apply, todo, stop)

    def _replay_locked(
        self,
        apply: Callable[[list[Op]], None],
        todo: list[Path],
        stop: Callable[[], bool] | None,
    ) -> tuple[int, list[tuple[Path, str]]]:
        delivered = 0
        rejected: list[tuple[Path, str]] = []
        for path in todo:
            if stop is not None and stop():
                break
            try:
                _, ops = self.read(path)
            except FileNotFoundError:
                continue
            except (ModelyardError, ValueError, KeyError, TypeError) as exc:
                rejected.append((self._quarantine(path), f"unreadable spool file: {exc}"))
                continue
            try:
                apply(ops)
            except ModelyardError as exc:
                if exc.code == "UNAVAILABLE":
                    raise
                rejected.append((self._quarantine(path), exc.message))
                continue
            path.unlink(missing_ok=True)
            delivered += 1
        return delivered, rejected

    def _quarantine(self, path: Path) -> Path:
        """Move ``path`` to ``rejected/``; where that fails (a full disk) it is left in place
        and offered again at the next delivery."""
        target = self.dir / "rejected" / path.name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
        except OSError:
            return path
        return target


def spool_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
