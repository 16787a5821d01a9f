"""Names, manifests and digests: the identity of a dataset version, checked the same everywhere.

The digest of a version is the sha256 of its format and its sorted (path, sha256, size)
list, so the same bytes under the same names give the same digest on every machine and
backend, and the server can recompute what a client claims.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

import orjson

from modelyard.data.entities import FORMATS, FileEntry
from modelyard.errors import InvalidArgument
from modelyard.store.artifacts.paths import safe_relpath

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,3}")
SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_FILES = 1_000_000


def check_dataset_name(name: object) -> str:
    if not isinstance(name, str) or len(name) > 256 or not NAME.fullmatch(name):
        raise InvalidArgument(
            f"dataset name {name!r} is not valid: use letters, digits, '.', '_' and '-' "
            "(up to 128 characters a part, 256 in all), in up to four '/'-separated parts "
            "(e.g. 'growth/churn-train')",
            field="name",
        )
    return name


def check_sha256(value: object, field: str = "sha256") -> str:
    if not isinstance(value, str) or not SHA256.fullmatch(value):
        raise InvalidArgument(f"{field} must be 64 lowercase hex characters", field=field)
    return value


def check_manifest(entries: Iterable[FileEntry], fmt: str) -> list[FileEntry]:
    if fmt not in FORMATS:
        raise InvalidArgument(
            f"format must be one of {', '.join(FORMATS)}, got {fmt!r}", field="format"
        )
    out = []
    seen: set[str] = set()
    for entry in entries:
        path = safe_relpath(entry.path)
        if path in seen:
            raise InvalidArgument(f"manifest lists {path!r} twice", field="manifest")
        seen.add(path)
        check_sha256(entry.sha256, "manifest.sha256")
        if not isinstance(entry.size, int) or entry.size < 0:
            raise InvalidArgument(f"size of {path!r} must be >= 0", field="manifest.size")
        out.append(FileEntry(path, entry.sha256, entry.size))
    if not out:
        raise InvalidArgument("a dataset version needs at least one file", field="manifest")
    if len(out) > MAX_FILES:
        raise InvalidArgument(f"a manifest holds at most {MAX_FILES} files", field="manifest")
    if fmt != "files" and len(out) != 1:
        raise InvalidArgument(f"a {fmt} table is stored as exactly one file", field="manifest")
    return sorted(out, key=lambda e: e.path)


def digest_of(fmt: str, entries: list[FileEntry]) -> str:
    body = orjson.dumps(
        {
            "format": fmt,
            "files": [[e.path, e.sha256, e.size] for e in sorted(entries, key=lambda e: e.path)],
        }
    )
    return hashlib.sha256(body).hexdigest()


def blob_path(sha256: str) -> str:
    """Where a blob lives under the datasets root: fanned out by its first two hex digits."""
    return f"blobs/{sha256[:2]}/{sha256}"
