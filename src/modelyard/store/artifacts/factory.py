"""Choice of artifact backend from a URI.

Owns the mapping from URI scheme to repository class; it holds no storage logic itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from modelyard.errors import InvalidArgument
from modelyard.store.artifacts.base import ArtifactRepository
from modelyard.store.artifacts.local import LocalArtifactRepository
from modelyard.store.artifacts.s3 import S3ArtifactRepository

SUPPORTED_SCHEMES = ("file", "s3")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def _local_root(uri: str) -> Path:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise InvalidArgument(
            f"file URI {uri!r} names host {parts.netloc!r}; use file:///absolute/path",
            field="uri",
        )
    if not parts.path.startswith("/"):
        raise InvalidArgument(f"file URI {uri!r} must hold an absolute path", field="uri")
    return Path(unquote(parts.path))


def open_repository(
    uri: str, *, s3_endpoint_url: str | None = None, fsync: bool = False
) -> ArtifactRepository:
    """The repository for ``uri``: ``file:///dir`` or a plain path (local), ``s3://bucket/p``.

    ``fsync`` makes local writes durable before they return (S3 uploads always are)."""
    if not uri or not uri.strip():
        raise InvalidArgument("artifact repository URI is empty", field="uri")
    match = _SCHEME.match(uri)
    if match is None:
        return LocalArtifactRepository(Path(uri).absolute(), fsync=fsync)
    scheme = match.group(1).lower()
    if scheme == "file":
        return LocalArtifactRepository(_local_root(uri), fsync=fsync)
    if scheme == "s3":
        return S3ArtifactRepository(uri, endpoint_url=s3_endpoint_url)
    raise InvalidArgument(
        f"unsupported artifact URI scheme {scheme!r} in {uri!r}; supported: "
        + ", ".join(f"{name}://" for name in SUPPORTED_SCHEMES)
        + " or a plain folder path",
        field="uri",
    )
