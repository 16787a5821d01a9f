"""A full disk, said once, the same way everywhere: ``InsufficientStorage`` naming the store.

Out of space shows up as an ``OSError`` (ENOSPC, EDQUOT, EFBIG) from a file write, as SQLite's
"database or disk is full" and as PostgreSQL's DISK FULL (SQLSTATE 53100). Each store turns
it into this one error of the root (HTTP 507, exit code 7), so the SDK on the embedded store
and a client of a server see the same class, and nothing half-written is left behind (the
writes are atomic: a temporary file renamed, or a transaction rolled back).
"""

from __future__ import annotations

import errno
from typing import Any

from modelyard.errors import InsufficientStorage

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_PG_DISK_FULL = "53100"


def is_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or the database error it wraps) means out of space."""
    if isinstance(exc, OSError) and (
        exc.errno in FULL_ERRNOS
        or any(text in str(exc) for text in ("No space left on device", "Disk quota exceeded"))
    ):  # pyarrow's IO errors carry the text, not the errno
        return True
    orig: Any = getattr(exc, "orig", None)
    if orig is None:
        return False
    if getattr(orig, "sqlstate", None) == _PG_DISK_FULL:
        return True
    return "database or disk is full" in str(orig)


def full(
    where: str, exc: BaseException, then: str = "free space, then retry"
) -> InsufficientStorage:
    """The error to raise instead of ``exc``: which store, and what to do (``then``)."""
    reason = getattr(exc, "strerror", None) or "no space left"
    return InsufficientStorage(
        f"{where} is out of space ({reason}); nothing was written: {then}", field="storage"
    )
