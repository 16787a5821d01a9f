"""Durable local spool for run ops that could not reach the server.

One JSON file per undelivered batch, written atomically (temp file, fsync, rename) under
``<spool dir>/<hash of the tracking URI>/``; names sort in the order the batches were made.
``replay`` delivers files oldest first and deletes each only after the server accepted it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from modelyard.errors import ModelyardError
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
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{_next_seq():08d}.json"
        final = self.dir / name
        tmp = self.dir / f".tmp-{name}"
        body = {"tracking_uri": self.tracking_uri, "ops": encode_ops(ops)}
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(body))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(final)
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return final

    def files(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(p for p in self.dir.glob("*.json") if not p.name.startswith(".tmp-"))

    @staticmethod
    def read(path: Path) -> tuple[str, list[Op]]:
        body: Any = orjson.loads(path.read_bytes())
        return str(body["tracking_uri"]), decode_ops(body["ops"])

    def replay(
        self, apply: Callable[[list[Op]], None], files: Sequence[Path] | None = None
    ) -> tuple[int, list[tuple[Path, str]]]:
        """Deliver spooled batches oldest first; returns (delivered, [(set aside, why)]).

        A file another process delivered meanwhile is skipped. A file that cannot be read, or
        that the server refuses as invalid, is moved to ``rejected/`` beside the spool and
        reported once, so it never blocks the files behind it. Delivery stops at the first
        file that fails for lack of a server (order matters), raising ``Unavailable``.
        """
        delivered = 0
        rejected: list[tuple[Path, str]] = []
        for path in files if files is not None else self.files():
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
        target = self.dir / "rejected" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.replace(target)
        except FileNotFoundError:
            return path
        return target


def spool_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
