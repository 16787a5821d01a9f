"""The data client: log, fetch, compare and validate dataset versions, embedded or remote.

Written once against ``DatasetStore`` and ``BlobStore``; ``backends.py`` picks SQL + artifact
store or the REST client. Logging a snapshot: hash every file (streaming, with a progress
bar), return the existing version if the digest is known, upload only the blobs the store
lacks (verified by hash on arrival), then register the version in one transaction.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from modelyard.config import Settings
from modelyard.data.backends import DataBackend, data_backend
from modelyard.data.blob_store import verified
from modelyard.data.entities import DatasetInfo, DatasetVersion, FileEntry, LineageEdge, NewVersion
from modelyard.data.expectations import Expectations
from modelyard.data.graph import walk
from modelyard.data.manifest import check_dataset_name, check_manifest, check_sha256, digest_of
from modelyard.data.profiling import profile_batches
from modelyard.data.schema import Schema
from modelyard.data.snapshot import Snapshot, file_chunks, hash_files, prepare
from modelyard.data.store import (
    DATASETS_PAGE_DEFAULT,
    VERSIONS_PAGE_DEFAULT,
    BlobStore,
    DatasetStore,
)
from modelyard.data.validation import ValidationReport, validate
from modelyard.errors import InvalidArgument
from modelyard.identity import ActingAs, settings_actor
from modelyard.platform.backends import resolve
from modelyard.platform.checks import check_tags
from modelyard.platform.current import chosen_uri
from modelyard.store.downloads import copy_download, write_download
from modelyard.terminal import transfer_progress


class DataClient:
    """Datasets in the store at ``tracking_uri`` (default: the current tracking URI)."""

    def __init__(self, tracking_uri: str | None = None, *, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self.tracking_uri = tracking_uri if tracking_uri is not None else chosen_uri(self.settings)
        self._backend: DataBackend = data_backend(resolve(self.tracking_uri, self.settings))
        # every write (and its audit entry) is made as this client's user, on any thread
        self.store = cast(
            DatasetStore,
            ActingAs(self._backend.store, settings_actor(self.settings)),
        )
        self.blobs: BlobStore = self._backend.blobs

    # --- logging -------------------------------------------------------------------------
    def log_dataset(
        self,
        data: Any,
        name: str,
        *,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        expectations: Expectations | None = None,
        run_id: str | None = None,
        context: str | None = None,
        profile: bool = True,
    ) -> DatasetVersion:
        """Store an immutable snapshot of ``data`` as the next version of ``name``.

        ``data``: a pandas DataFrame, an Arrow table, a Parquet/CSV file, any file or a folder.
        An identical snapshot returns the existing version. With ``run_id`` the version is
        recorded as an input of the run (``context``: training, evaluation, ...)."""
        check_dataset_name(name)
        clean_tags = check_tags({str(k): str(v) for k, v in (tags or {}).items()})
        if expectations is not None and not isinstance(expectations, Expectations):
            raise InvalidArgument(
                "expectations must be an Expectations suite", field="expectations"
            )
        snap = prepare(data)
        try:
            return self._log(
                snap, name, clean_tags, description, expectations, run_id, context, profile
            )
        finally:
            snap.cleanup()

    def _log(
        self,
        snap: Snapshot,
        name: str,
        tags: dict[str, str],
        description: str | None,
        expectations: Expectations | None,
        run_id: str | None,
        context: str | None,
        with_profile: bool,
    ) -> DatasetVersion:
        with transfer_progress(f"hash {name}", snap.total_bytes) as advance:
            hash_files(snap.files, advance)
        manifest = snap.manifest()
        digest = digest_of(snap.format, manifest)
        prof = schema = None
        if snap.table is not None:
            built = None
            known = self._known(name, digest)
            if known is not None and known.profile_data is not None:
                prof, schema = known.profile_data, known.schema_data
            elif with_profile:
                built = profile_batches(snap.table.schema, snap.table.batches())
                prof, schema = built.to_dict(), Schema.from_profile(built).to_dict()
            if expectations is not None:
                report = validate(snap.table, expectations, profile=built)
                if not report.ok:
                    labels = ", ".join(r.label for r in report.failures[:5])
                    raise InvalidArgument(
                        f"the data fails its own expectations ({labels}); fix the data or the "
                        "suite before logging",
                        field="expectations",
                    )
        missing = set(self.blobs.missing(e.sha256 for e in manifest))
        upload = [f for f in snap.files if f.sha256 in missing]
        if upload:
            total = sum(f.size for f in upload)
            with transfer_progress(f"store {name}", total) as advance:
                for item in upload:
                    self.blobs.put(item.sha256, file_chunks(item, advance), item.size)
                    missing.discard(item.sha256)
        draft = NewVersion(
            name=name,
            digest=digest,
            format=snap.format,
            num_rows=snap.table.num_rows if snap.table is not None else None,
            manifest=manifest,
            schema=schema,
            profile=prof,
            expectations=expectations.to_yaml() if expectations is not None else None,
            tags=tags,
            source=snap.source,
            created_by=self.settings.user,
            description=description,
            project=self.settings.project,
        )
        version, created = self.store.create_version(draft, run_id=run_id, context=context)
        if not created and draft.expectations and draft.expectations != version.expectations_yaml:
            # the same data with a new suite: the suite is the version's to keep
            version = self.store.set_expectations(name, version.version, draft.expectations)
        return self._attach(version)

    def _known(self, name: str, digest: str) -> DatasetVersion | None:
        from modelyard.errors import NotFound

        try:
            return self.store.get_version(name, digest=digest)
        except NotFound:
            return None

    # --- reading -------------------------------------------------------------------------
    def get(
        self, name: str, version: int | None = None, *, digest: str | None = None
    ) -> DatasetVersion:
        return self._attach(self.store.get_version(name, version, digest))

    def list_datasets(self, *, limit: int | None = None) -> list[DatasetInfo]:
        """Every dataset (or the first ``limit``), by name, read a page at a time."""
        return self.store.list_datasets(limit=limit)

    def list_datasets_page(
        self, *, limit: int = DATASETS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[DatasetInfo], str | None]:
        """One page of datasets (``limit``, up to 10,000) and the token of the next page
        (None after the last)."""
        return self.store.list_datasets_page(limit=limit, page_token=page_token)

    def versions(self, name: str, *, limit: int | None = None) -> list[DatasetVersion]:
        """Every version of ``name`` (or the first ``limit``), newest first, read a page at
        a time; profiles are left out (``get`` has them)."""
        return [self._attach(v) for v in self.store.list_versions(name, limit=limit)]

    def versions_page(
        self, name: str, *, limit: int = VERSIONS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[DatasetVersion], str | None]:
        """One page of versions (``limit``, up to 1,000), newest first, and the next token."""
        found, token = self.store.list_versions_page(name, limit=limit, page_token=page_token)
        return [self._attach(v) for v in found], token

    def _attach(self, version: DatasetVersion) -> DatasetVersion:
        version._materialize = self._materialize
        return version

    def _blob_file(self, entry: FileEntry) -> Path:
        """A local path holding the blob: in place for a local store, else a verified copy."""
        local = self.blobs.local_path(entry.sha256)
        if local is not None:
            return local
        root = self.settings.cache_dir / "blobs"
        rel = f"{entry.sha256[:2]}/{entry.sha256}"
        target = root / rel
        if target.is_file() and not target.is_symlink() and target.stat().st_size == entry.size:
            return target
        # the digest is checked as the last chunk passes: a corrupted blob never appears
        chunks = verified(self.blobs.read(entry.sha256), entry.sha256, entry.size)
        return write_download(root, rel, chunks)

    def _materialize(self, version: DatasetVersion) -> Path:
        # what a server sent is checked like what a user sent: no path leaves the cache
        digest = check_sha256(version.digest, "digest")
        manifest = check_manifest(version.manifest, version.format)
        folder = self.settings.cache_dir / "versions" / digest
        if version.format != "files":
            entry = manifest[0]
            blob = self._blob_file(entry)
            if version.format == "parquet":
                return blob  # read in place (Parquet readers do not need a suffix)
            # readers pick the format from the suffix: give them the original name
            target = folder / Path(entry.path).name
            if not target.is_file() or target.is_symlink():
                copy_download(folder, target.name, blob, read_only=True)
            return target
        if folder.is_dir() and not folder.is_symlink():
            return folder  # folders appear only complete (renamed from a staging folder)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=_mkdir(folder.parent)))
        try:
            for entry in manifest:
                copy_download(staging, entry.path, self._blob_file(entry), read_only=True)
            try:
                staging.rename(folder)
            except OSError:
                if not folder.is_dir():
                    raise
                shutil.rmtree(staging, ignore_errors=True)  # another process finished first
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return folder

    def download(
        self,
        name: str,
        dest: str | Path,
        version: int | None = None,
        *,
        digest: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[Path]:
        """Copy a version's files into the folder ``dest`` (created if needed); the paths
        written. Each file is written under a temporary name and renamed over its final
        name: a symbolic link already in ``dest`` is replaced, never written through, and a
        link in place of a folder inside ``dest`` is refused."""
        found = self.get(name, version, digest=digest)
        manifest = check_manifest(found.manifest, found.format)
        root = Path(dest)
        written = []
        if found.format == "files":
            for entry in manifest:
                blob = self._blob_file(entry)
                written.append(copy_download(root, entry.path, blob, progress=progress))
        else:
            entry = manifest[0]
            blob = self._blob_file(entry)
            name_only = Path(entry.path).name
            written.append(copy_download(root, name_only, blob, progress=progress))
        return written

    # --- comparing, validating, governing ------------------------------------------------
    def diff(self, name: str, a: int, b: int) -> Any:
        from modelyard.data.compare import diff_versions

        return diff_versions(self.get(name, a), self.get(name, b))

    def validate(self, data: Any, suite: Expectations | None = None) -> ValidationReport:
        """Validate data (or a dataset version) against ``suite`` or the version's own suite."""
        if isinstance(data, DatasetVersion):
            suite = suite or data.expectations
            if suite is None:
                raise InvalidArgument(f"{data.uri} has no expectation suite", field="suite")
            if data.kind != "table":
                raise InvalidArgument(f"{data.uri} is not a table", field="data")
            return validate(data.path, suite, profile=data.profile)
        if suite is None:
            raise InvalidArgument("give an expectation suite to validate against", field="suite")
        return validate(data, suite)

    def set_expectations(
        self, name: str, version: int, suite: Expectations | None
    ) -> DatasetVersion:
        text = suite.to_yaml() if suite is not None else None
        return self._attach(self.store.set_expectations(name, version, text))

    def delete_version(self, name: str, version: int, *, force: bool = False) -> int:
        return self.store.delete_version(name, version, force=force)

    def link_run(
        self,
        name: str,
        version: int,
        run_id: str,
        *,
        relation: str = "input",
        context: str | None = None,
    ) -> None:
        self.store.link(name, version, run_id, relation=relation, context=context)

    def lineage(self, node: str, *, depth: int = 5) -> list[LineageEdge]:
        return walk(self.store, node, depth=depth)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
