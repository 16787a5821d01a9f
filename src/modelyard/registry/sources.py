"""Where a registered version's files live: always the platform's own artifact store.

A version's source is ``runs:/<run id>/<path>``: a model folder among that run's artifacts.
When the version is created the folder is checked against the store's catalogue (which holds
the sha256 the store computed as each file arrived): ``model.yaml`` is there, every file it
lists is there with the sha256 it records, and nothing else is; the version's digest is the
sha256 of that ``model.yaml``. A path on some host (``/abs``, ``file://``, ``../x``) or another
URL is refused: the host that later loads the version would read whatever that path holds
there, unverified. A folder elsewhere is uploaded first (``modelyard.models.register_model`` and
``modelyard models register FOLDER`` do that), so one rule holds for the SDK, the CLI and HTTP.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import Conflict, InvalidArgument, NotFound
from modelyard.plain_yaml import load_plain
from modelyard.store.artifacts.paths import safe_relpath
from modelyard.tracking import seals
from modelyard.tracking.store import RunArtifacts
from modelyard.tracking.tables import run_artifacts
from modelyard.tracking.validation import check_run_id

MODEL_FILE = "model.yaml"
MAX_MODEL_FILE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class CheckedSource:
    run_id: str
    path: str
    digest: str  # sha256 of model.yaml
    flavor: str | None  # as model.yaml records them: the version's, whatever a caller says
    signature: dict[str, Any] | None
    files: dict[str, str]  # every file of the folder (model.yaml too) -> its sha256


def split_runs_uri(source: str) -> tuple[str, str]:
    """``runs:/<run id>/<path>`` -> (run id, path); InvalidArgument for anything else."""
    if not source.startswith("runs:/"):
        raise InvalidArgument(
            f"source must be runs:/<run id>/<path>, a model logged to this store, not "
            f"{source[:200]!r}; register a folder with modelyard.models.register_model("
            "FOLDER, NAME) or `modelyard models register NAME FOLDER`, which upload it first",
            field="source",
        )
    run_id, _, rel = source[len("runs:/") :].partition("/")
    if not run_id or not rel:
        raise InvalidArgument(
            f"source {source[:200]!r} must look like runs:/<run id>/<path>", field="source"
        )
    try:
        check_run_id(run_id)
        rel = safe_relpath(rel, field="source")
    except InvalidArgument as exc:
        raise InvalidArgument(f"source {source[:200]!r}: {exc.message}", field="source") from None
    return run_id, rel


def _catalogue(artifacts: RunArtifacts, run_id: str, folder: str) -> dict[str, str | None]:
    """Every file under ``folder`` (relative to it) -> the sha256 the store recorded."""
    found: dict[str, str | None] = {}
    pending = [folder]
    while pending:
        for info in artifacts.list(run_id, pending.pop()):
            if info.is_dir:
                pending.append(info.path)
            else:
                found[info.path[len(folder) + 1 :]] = info.sha256
    return found


def _read(artifacts: RunArtifacts, run_id: str, path: str) -> bytes:
    data = bytearray()
    for chunk in artifacts.download_stream(run_id, path):
        data += chunk
        if len(data) > MAX_MODEL_FILE_BYTES:
            raise InvalidArgument(f"{path} is larger than 16 MiB", field="source")
    return bytes(data)


def _sha256(artifacts: RunArtifacts, run_id: str, path: str) -> str:
    digest = hashlib.sha256()
    for chunk in artifacts.download_stream(run_id, path):
        digest.update(chunk)
    return digest.hexdigest()


def _listed(text: bytes, where: str) -> tuple[dict[str, str], dict[str, Any]]:
    doc: Any = load_plain(text, where=where, field="source")
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, dict) or doc.get("format_version") != 1:
        raise InvalidArgument(f"{where} is not a model description: no files", field="source")
    listed = {}
    for rel, digest in files.items():
        clean = safe_relpath(str(rel), field="source")
        if not isinstance(digest, str) or len(digest) != 64:
            raise InvalidArgument(f"{where}: bad sha256 for {clean!r}", field="source")
        listed[clean] = digest.lower()
    return listed, doc


def check_model_source(
    artifacts: RunArtifacts, source: str, run_id: str | None, digest: str | None
) -> CheckedSource:
    """The verified source of a new version, or the error naming what is wrong with it."""
    source_run, folder = split_runs_uri(source)
    if run_id is not None and run_id != source_run:
        raise InvalidArgument(
            f"run_id {run_id!r} is not the run of source {source!r}", field="run_id"
        )
    try:
        present = _catalogue(artifacts, source_run, folder)
    except NotFound as exc:
        raise NotFound(f"source {source!r}: {exc.message}", field="source") from None
    where = f"{source}/{MODEL_FILE}"
    if MODEL_FILE not in present:
        raise InvalidArgument(
            f"{source} is not a model folder: it has no {MODEL_FILE}", field="source"
        )
    text = _read(artifacts, source_run, f"{folder}/{MODEL_FILE}")
    actual = hashlib.sha256(text).hexdigest()
    if digest is not None and digest.lower() != actual:
        raise InvalidArgument(
            f"model_digest {digest[:12]}... is not the sha256 of {where} ({actual[:12]}...)",
            field="model_digest",
        )
    listed, doc = _listed(text, where)
    present.pop(MODEL_FILE)
    for rel in sorted(set(listed) | set(present)):
        if rel not in present:
            raise InvalidArgument(f"{where} lists {rel!r}, which is not stored", field="source")
        if rel not in listed:
            raise InvalidArgument(f"{source}/{rel} is not listed in {MODEL_FILE}", field="source")
        stored = present[rel] or _sha256(artifacts, source_run, f"{folder}/{rel}")
        if stored != listed[rel]:
            raise InvalidArgument(
                f"{source}/{rel} does not match its sha256 in {MODEL_FILE}", field="source"
            )
    flavor = doc.get("flavor")
    signature = doc.get("signature")
    return CheckedSource(
        source_run,
        folder,
        actual,
        flavor if isinstance(flavor, str) else None,
        signature if isinstance(signature, dict) else None,
        {**listed, MODEL_FILE: actual},
    )


def seal_checked(conn: Connection, checked: CheckedSource, *, actor: str, time_ms: int) -> None:
    """Seal the folder, then confirm in the same transaction that the catalogue still holds
    exactly the files that were verified (an upload that landed in between is caught here)."""
    seals.seal(conn, checked.run_id, checked.path, actor=actor, time_ms=time_ms)
    c = run_artifacts.c
    prefix = checked.path + "/"
    rows = conn.execute(
        sa.select(c.path, c.sha256).where(
            c.run_uuid == checked.run_id,
            sa.func.substr(c.path, 1, len(prefix)) == prefix,
        )
    )
    now = {str(path)[len(prefix) :]: sha for path, sha in rows}
    if set(now) != set(checked.files) or any(
        sha is not None and sha != checked.files[rel] for rel, sha in now.items()
    ):
        raise Conflict(
            f"runs:/{checked.run_id}/{checked.path} changed while it was being registered; "
            "try again",
            field="source",
        )
