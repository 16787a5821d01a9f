"""Artifact repository on an S3 bucket prefix, through fsspec/s3fs.

Writes stream as a multipart upload that becomes visible only when completed and is aborted on
any failure; listing caches are disabled so reads after writes are never stale.
"""

from __future__ import annotations

import builtins
import contextlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from modelyard.errors import InvalidArgument, NotFound, PermissionDenied
from modelyard.store.artifacts.base import (
    CHUNK_SIZE,
    ArtifactEntry,
    ArtifactRepository,
    Commit,
    StoredFile,
    StreamMeter,
)
from modelyard.store.artifacts.paths import safe_prefix, safe_relpath

UPLOAD_BLOCK_SIZE = 8 * 1024 * 1024
READ_BLOCK_SIZE = 8 * 1024 * 1024
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/prefix`` into a checked bucket name and a validated prefix."""
    if not uri.startswith("s3://"):
        raise InvalidArgument(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)", field="uri")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not _BUCKET.fullmatch(bucket):
        raise InvalidArgument(f"invalid S3 bucket name {bucket!r} in {uri!r}", field="uri")
    if prefix.endswith("/"):
        prefix = prefix[:-1]
    return bucket, safe_prefix(prefix, field="uri")


def _storage_error(err: OSError, what: str) -> Exception:
    """Translate an s3fs error into the modelyard hierarchy where one fits."""
    if isinstance(err, FileNotFoundError):
        return NotFound(f"{what} not found", field="path")
    if isinstance(err, PermissionError):
        return PermissionDenied(f"access to {what} was denied by the object store", field="path")
    return err


class S3ArtifactRepository(ArtifactRepository):
    """Artifacts stored as objects under ``s3://bucket/prefix``."""

    def __init__(
        self,
        uri: str,
        *,
        endpoint_url: str | None = None,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        bucket, prefix = parse_s3_uri(uri)
        try:
            import s3fs
        except ImportError:
            raise InvalidArgument(
                "S3 artifact storage needs s3fs: pip install 'modelyard[s3]'", field="uri"
            ) from None
        options: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
        options.update(storage_options or {})
        if endpoint_url is not None:
            options["endpoint_url"] = endpoint_url
        self._init(s3fs.S3FileSystem(**options), bucket, prefix)

    def _init(self, fs: Any, bucket: str, prefix: str) -> None:
        self._fs = fs
        self._bucket = bucket
        self._prefix = prefix
        self._base = f"{bucket}/{prefix}" if prefix else bucket
        self.root_uri = f"s3://{self._base}"

    def __repr__(self) -> str:
        return f"S3ArtifactRepository({self.root_uri!r})"

    def _key(self, rel: str) -> str:
        return f"{self._base}/{rel}" if rel else self._base

    def _file_info(self, rel: str) -> dict[str, Any]:
        key = self._key(rel)
        try:
            info: dict[str, Any] = self._fs.info(key)
        except OSError as err:
            raise _storage_error(err, f"artifact {rel!r} in {self.root_uri}") from None
        if info.get("type") != "file":
            raise InvalidArgument(f"artifact {rel!r} is a folder, not a file", field="path")
        return info

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
        meter = StreamMeter(rel, max_bytes, known_sha256)
        key = self._key(rel)
        try:
            handle = self._fs.open(key, "wb", block_size=UPLOAD_BLOCK_SIZE)
        except OSError as err:
            raise _storage_error(err, f"bucket {self._bucket!r}") from None
        try:
            for chunk in chunks:
                meter.feed(chunk)
                handle.write(chunk)
            if before_commit is not None:
                before_commit(meter.result())
            handle.close()  # completes the upload: the object appears only now
        except BaseException as exc:
            with contextlib.suppress(Exception):  # the original error matters more
                handle.discard()  # aborts the multipart upload, drops the buffer
            handle.closed = True
            if isinstance(exc, (FileNotFoundError, PermissionError)):
                raise _storage_error(exc, f"bucket {self._bucket!r}") from exc
            raise
        finally:
            self._fs.invalidate_cache(key)
        return meter.result()

    # -- reads ---------------------------------------------------------------------------------

    def read_stream(self, path: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        rel = safe_relpath(path)
        if chunk_size <= 0:
            raise InvalidArgument(f"chunk_size must be > 0, got {chunk_size}", field="chunk_size")
        self._file_info(rel)
        return self._read_chunks(self._key(rel), chunk_size)

    def _read_chunks(self, key: str, chunk_size: int) -> Iterator[bytes]:
        block = max(chunk_size, READ_BLOCK_SIZE)
        with self._fs.open(key, "rb", block_size=block, cache_type="readahead") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    def size(self, path: str) -> int:
        return int(self._file_info(safe_relpath(path))["size"])

    def exists(self, path: str) -> bool:
        return bool(self._fs.exists(self._key(safe_relpath(path))))

    def list(self, prefix: str = "") -> builtins.list[ArtifactEntry]:
        rel = safe_prefix(prefix)
        key = self._key(rel)
        try:
            items: builtins.list[dict[str, Any]] = self._fs.ls(key, detail=True, refresh=True)
        except FileNotFoundError:
            return []
        found: dict[str, ArtifactEntry] = {}
        for item in items:
            name = str(item["name"]).rstrip("/")
            if not name.startswith(key + "/"):
                continue  # the prefix itself (a file or a folder marker)
            child_rel = name[len(self._base) + 1 :]
            try:
                safe_relpath(child_rel)
            except InvalidArgument:
                continue  # written by something else; not addressable through this interface
            if item.get("type") == "directory":
                found[child_rel] = ArtifactEntry(path=child_rel, is_dir=True, size=None)
            else:
                found.setdefault(
                    child_rel, ArtifactEntry(path=child_rel, is_dir=False, size=int(item["size"]))
                )
        return [found[name] for name in sorted(found)]

    # -- deletes -------------------------------------------------------------------------------

    def delete(self, prefix: str = "") -> None:
        rel = safe_prefix(prefix)
        key = self._key(rel)
        try:
            names: builtins.list[str] = self._fs.find(key)
        except FileNotFoundError:
            return
        doomed = [name for name in names if name == key or name.startswith(key + "/")]
        if doomed:
            self._fs.rm(doomed)
        self._fs.invalidate_cache(key)

    def child(self, prefix: str) -> S3ArtifactRepository:
        rel = safe_relpath(prefix, field="prefix")
        repo = S3ArtifactRepository.__new__(S3ArtifactRepository)
        repo._init(self._fs, self._bucket, f"{self._prefix}/{rel}" if self._prefix else rel)
        return repo
