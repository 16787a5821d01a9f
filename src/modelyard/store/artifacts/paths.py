"""Validation of user-supplied artifact paths and enumeration of local upload folders.

Owns the one rule every artifact backend relies on: a path that passes ``safe_relpath`` is a
plain relative POSIX path that cannot escape its root, in any of its percent-decoded forms.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from urllib.parse import unquote

from modelyard.errors import InvalidArgument
from modelyard.unicode_text import hidden_character

MAX_PATH_CHARS = 1024
MAX_SEGMENT_BYTES = 255
MAX_DECODE_ROUNDS = 5

_DRIVE = re.compile(r"^[A-Za-z]:")
_SHOWN_CHARS = 120


def _show(path: str) -> str:
    """The path as quoted in messages: ``repr``, cut short when very long."""
    if len(path) > _SHOWN_CHARS:
        return repr(path[:_SHOWN_CHARS]) + f"... ({len(path)} chars)"
    return repr(path)


def _shape_fault(path: str) -> str | None:
    """The reason ``path`` is not a safe relative path, or ``None`` when it is."""
    if path == "":
        return "it is empty"
    if len(path) > MAX_PATH_CHARS:
        return f"it is longer than {MAX_PATH_CHARS} characters"
    for char in path:
        if 0xD800 <= ord(char) <= 0xDFFF:
            return "it contains a lone surrogate and is not valid UTF-8"
    hidden = hidden_character(path)
    if hidden is not None:
        return f"it contains {hidden}"
    if "\\" in path:
        return "it contains a backslash; use '/' to separate folders"
    if path.startswith("/"):
        return "it is absolute; artifact paths are relative to the repository root"
    if _DRIVE.match(path):
        return "it starts with a Windows drive letter"
    if path.endswith("/"):
        return "it ends with '/'"
    for segment in path.split("/"):
        if segment == "":
            return "it contains an empty segment ('//')"
        if segment in (".", ".."):
            return f"it contains a {segment!r} segment"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"a segment is longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def safe_relpath(path: str, *, field: str = "path") -> str:
    """Return ``path`` as a validated relative POSIX path, or raise ``InvalidArgument``.

    The checks apply to the path as given and to every form obtained by percent-decoding it
    again and again, so encoded traversal (``%2e%2e/x``, ``%252e%252e%252fx``) is refused too.
    """
    if not isinstance(path, str):
        raise InvalidArgument(
            f"artifact path must be a string, got {type(path).__name__}", field=field
        )
    fault = _shape_fault(path)
    if fault is not None:
        raise InvalidArgument(f"invalid artifact path {_show(path)}: {fault}", field=field)
    depth = path.count("/")
    current = path
    for _ in range(MAX_DECODE_ROUNDS):
        decoded = unquote(current)
        if decoded == current:
            return path
        fault = _shape_fault(decoded)
        if fault is None and decoded.count("/") != depth:
            fault = "it contains a percent-encoded '/'; send 'a/b' to mean a folder"
        if fault is not None:
            raise InvalidArgument(
                f"invalid artifact path {_show(path)}: it percent-decodes to "
                f"{_show(decoded)} and {fault}",
                field=field,
            )
        current = decoded
    raise InvalidArgument(
        f"invalid artifact path {_show(path)}: it is percent-encoded more than "
        f"{MAX_DECODE_ROUNDS} times",
        field=field,
    )


def safe_prefix(prefix: str, *, field: str = "prefix") -> str:
    """Like ``safe_relpath``, but ``""`` (the repository root) is allowed and returned as is."""
    if prefix == "":
        return ""
    return safe_relpath(prefix, field=field)


def join_relpath(prefix: str, name: str) -> str:
    """Join a validated folder prefix (``""`` = root) and a validated relative name."""
    head = safe_prefix(prefix)
    tail = safe_relpath(name)
    if head == "":
        return tail
    return safe_relpath(f"{head}/{tail}")


def iter_upload_files(local_dir: Path) -> list[tuple[Path, str]]:
    """Every regular file under ``local_dir`` with its relative POSIX path, sorted by that path.

    Symbolic links (to anything, anywhere) and special files are refused rather than skipped,
    so an upload never silently differs from the folder the caller sees.
    """
    root = Path(local_dir)
    if not root.is_dir():
        raise InvalidArgument(f"{str(root)!r} is not a directory", field="local_dir")
    found: list[tuple[Path, str]] = []
    pending: list[tuple[Path, str]] = [(root, "")]
    while pending:
        folder, rel_folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = f"{rel_folder}{entry.name}"
                full = Path(entry.path)
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    raise InvalidArgument(
                        f"refusing to upload {str(full)!r}: it is a symbolic link",
                        field="local_dir",
                    )
                if stat.S_ISDIR(mode):
                    pending.append((full, f"{rel}/"))
                elif stat.S_ISREG(mode):
                    found.append((full, safe_relpath(rel, field="local_dir")))
                else:
                    raise InvalidArgument(
                        f"refusing to upload {str(full)!r}: it is not a regular file",
                        field="local_dir",
                    )
    found.sort(key=lambda item: item[1])
    return found
