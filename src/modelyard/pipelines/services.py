"""What a pipeline run uses of the platform, for the store the tracking URI names: the
pipelines store, the blob store outputs go in, the tracking client its runs are logged with,
datasets (read, and lineage) and models (saved from outputs, loaded back)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from modelyard.config import Settings
from modelyard.errors import Conflict
from modelyard.pipelines.backends import pipeline_backend
from modelyard.pipelines.decoding import Readers, decode
from modelyard.pipelines.entities import OutputRef
from modelyard.platform.backends import resolve
from modelyard.platform.current import chosen_uri
from modelyard.tracking.fluent import fluent_client

log = logging.getLogger("modelyard.pipelines")
EXPERIMENT_PREFIX = "pipelines/"


class Services:
    def __init__(self, settings: Settings | None = None, tracking_uri: str | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.uri = tracking_uri if tracking_uri is not None else chosen_uri(self.settings)
        backend = resolve(self.uri, self.settings)
        self.backend = backend
        self.tracking = fluent_client(backend)
        parts = pipeline_backend(backend)
        self.store = parts.store
        self.blobs = parts.blobs
        self.files_dir = self.settings.cache_dir.parent / "pipeline-files"

    # --- blobs ---------------------------------------------------------------------------
    def write_blobs(self, blobs: dict[str, bytes]) -> None:
        missing = set(self.blobs.missing(blobs))
        for digest in sorted(missing):
            self.blobs.put_hashed(digest, blobs[digest])  # digests from values.sha256

    def read_blob(self, digest: str) -> bytes:
        data = b"".join(self.blobs.read(digest))
        if hashlib.sha256(data).hexdigest() != digest:
            local = self.blobs.local_path(digest)
            if local is not None:  # a local copy that was altered: removed, so the next
                local.unlink(missing_ok=True)  # writer of these bytes stores them again
                log.warning("removed blob %s: its bytes no longer match its hash", local)
            raise Conflict(
                f"stored output {digest[:12]}… does not match its hash (altered on disk)",
                field="output",
            )
        return data

    def has_blobs(self, ref: OutputRef) -> bool:
        return not ref.blobs or not self.blobs.missing(ref.blobs)

    # --- values --------------------------------------------------------------------------
    def readers(self) -> Readers:
        return Readers(self.read_blob, self._load_model, self._dataset, Path(self.files_dir))

    def load(self, ref: OutputRef) -> Any:
        """The value a stored output holds (its document checked against its digest, blobs
        against their hashes)."""
        from modelyard.pipelines.checks import digest_matches

        if not digest_matches(ref):
            raise Conflict(
                f"stored output {ref.digest[:12]}… does not match its digest (altered)",
                field="output",
            )
        return decode(ref.doc, self.readers())

    def _load_model(self, doc: dict[str, Any]) -> Any:
        from modelyard.models.api import load

        return load(doc["$model"], tracking_uri=self.uri)

    def _dataset(self, name: str, version: int) -> Any:
        from modelyard.data.client import DataClient

        return DataClient(self.uri, settings=self.settings).get(name, version)

    def save_model(self, value: Any, run_id: str, path: str) -> dict[str, Any]:
        from modelyard.models.api import log_model

        info = log_model(value, path, run_id=run_id)
        return {"$model": info.model_uri, "digest": info.model_digest}

    # --- tracking ------------------------------------------------------------------------
    def experiment_id(self, pipeline: str) -> str:
        name = EXPERIMENT_PREFIX + pipeline
        found = self.tracking.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return self.tracking.create_experiment(name)
        except Exception:
            again = self.tracking.get_experiment_by_name(name)
            if again is None:
                raise
            return again.experiment_id

    def load_params(self, doc: Any) -> dict[str, Any]:
        """A run's stored parameters as values (for a retry)."""
        value = decode(doc, self.readers())
        return dict(value) if isinstance(value, dict) else {}
