"""Run artifacts stored through an artifact repository and catalogued in SQL.

The file is written under a temporary name and hashed; its size and sha256 are catalogued
(while the run is active and the path is not in a registered folder) just before it takes
its place, so a refused upload changes nothing; a listing reads the catalog, so S3 is never
asked to list a prefix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from modelyard.errors import InvalidArgument, NotFound, PayloadTooLarge
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import require_in
from modelyard.store import audit
from modelyard.store.artifacts.base import ArtifactRepository, StoredFile
from modelyard.store.artifacts.factory import open_repository
from modelyard.store.artifacts.paths import safe_relpath
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database
from modelyard.tracking import seals
from modelyard.tracking.entities import ArtifactInfo, LifecycleStage
from modelyard.tracking.store import RunArtifacts
from modelyard.tracking.tables import experiments, run_artifacts, runs
from modelyard.tracking.validation import check_run_id

_CACHE_LIMIT = 4096


@functools.lru_cache(maxsize=4)
def _catalog_statement(dialect: str) -> Any:
    """INSERT ... SELECT ... WHERE the run is active and the path not sealed, ON CONFLICT
    update: built once."""
    names = ("run_uuid", "path", "size", "sha256", "created_time")
    values: Any = sa.select(*[sa.bindparam(n) for n in names]).where(
        sa.exists().where(
            runs.c.run_uuid == sa.bindparam("run_uuid"),
            runs.c.lifecycle_stage == LifecycleStage.ACTIVE.value,
        ),
        ~seals.covering(sa.bindparam("run_uuid"), sa.bindparam("path", type_=sa.String)),
    )
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(run_artifacts).from_select(list(names), values)
    return stmt.on_conflict_do_update(
        index_elements=["run_uuid", "path"],
        set_={n: stmt.excluded[n] for n in ("size", "sha256", "created_time")},
    )


class SqlRunArtifacts(RunArtifacts):
    def __init__(
        self,
        db: Database,
        *,
        max_bytes: int | None = None,
        s3_endpoint_url: str | None = None,
        fsync: bool = False,
    ) -> None:
        self.db = db
        self.max_bytes = max_bytes
        self.s3_endpoint_url = s3_endpoint_url
        self.fsync = fsync
        self._repos: dict[str, ArtifactRepository] = {}
        # a run's artifact URI and project never change
        self._run_uris: dict[str, tuple[str, str]] = {}

    def _run_repo(self, run_id: str, action: str) -> ArtifactRepository:
        """The run's artifact repository, once the caller may ``action`` in its project."""
        check_run_id(run_id)
        missing = NotFound(f"run {run_id} does not exist", field="run_id")
        known = self._run_uris.get(run_id)
        if known is None:
            with self.db.read() as conn:
                found = conn.execute(
                    sa.select(runs.c.artifact_uri, experiments.c.project)
                    .select_from(
                        runs.join(experiments, runs.c.experiment_id == experiments.c.experiment_id)
                    )
                    .where(runs.c.run_uuid == run_id)
                ).first()
            if found is None:
                raise missing
            known = (str(found.artifact_uri), str(found.project))
            if len(self._run_uris) >= _CACHE_LIMIT:
                self._run_uris.clear()
            self._run_uris[run_id] = known
        uri, project = known
        require_in(action, project, missing)
        repo = self._repos.get(uri)
        if repo is None:
            if len(self._repos) >= _CACHE_LIMIT:
                self._repos.clear()
            repo = open_repository(uri, s3_endpoint_url=self.s3_endpoint_url, fsync=self.fsync)
            self._repos[uri] = repo
        return repo

    def _check_unsealed(self, run_id: str, path: str) -> None:
        """Conflict before anything is written when ``path`` is in a registered folder."""
        with self.db.read() as conn:
            seals.refuse_sealed(conn, run_id, path)

    def _record(self, run_id: str, stored: StoredFile) -> None:
        """Catalog a file, written but not yet in its place, in one statement that only
        inserts while the run is active and the path unsealed; when the run was deleted (or
        removed) or the folder registered meanwhile, this raises and the file never takes
        its place (the stored one, sealed or not, stays as it was)."""
        created = now_ms()
        params = {
            "run_uuid": run_id,
            "path": stored.path,
            "size": stored.size,
            "sha256": stored.sha256,
            "created_time": created,
        }

        def _write(conn: Connection) -> int:
            count = int(conn.execute(_catalog_statement(conn.dialect.name), params).rowcount)
            if count:
                after = {"path": stored.path, "size": stored.size, "sha256": stored.sha256}
                project = self._run_uris.get(run_id, ("", None))[1]
                event = AuditEvent("run.log_artifact", "run", run_id, after=after, project=project)
                audit.record(conn, [event], time_ms=created)
            return count

        if self.db.run_write(_write) == 0:
            self._check_unsealed(run_id, stored.path)
            raise InvalidArgument(
                f"run {run_id} is deleted; restore it before logging to it", field="run_id"
            )

    def _check_size(self, path: str, size: int | None) -> None:
        if self.max_bytes is not None and size is not None and size > self.max_bytes:
            raise PayloadTooLarge(
                f"artifact {path!r} is {size} bytes; the limit is {self.max_bytes}", field="path"
            )

    def upload(
        self,
        run_id: str,
        path: str,
        chunks: Iterator[bytes] | Sequence[bytes],
        *,
        size_hint: int | None = None,
    ) -> StoredFile:
        path = safe_relpath(path)
        self._check_size(path, size_hint)
        repo = self._run_repo(run_id, "artifact.write")
        self._check_unsealed(run_id, path)
        return repo.write_stream(
            path,
            chunks,
            max_bytes=self.max_bytes,
            before_commit=lambda stored: self._record(run_id, stored),
        )

    def upload_file(
        self,
        run_id: str,
        path: str,
        local_path: Path,
        progress: Callable[[int], None] | None = None,
    ) -> StoredFile:
        path = safe_relpath(path)
        self._check_size(path, local_path.stat().st_size)
        repo = self._run_repo(run_id, "artifact.write")
        self._check_unsealed(run_id, path)
        return repo.write_file(
            path,
            local_path,
            progress=progress,
            max_bytes=self.max_bytes,
            before_commit=lambda stored: self._record(run_id, stored),
        )

    def stat(self, run_id: str, path: str) -> ArtifactInfo:
        path = safe_relpath(path)
        self._run_repo(run_id, "artifact.read")
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(run_artifacts.c.size, run_artifacts.c.sha256).where(
                    run_artifacts.c.run_uuid == run_id, run_artifacts.c.path == path
                )
            ).first()
        if row is None:
            raise NotFound(f"run {run_id} has no artifact {path!r}", field="path")
        return ArtifactInfo(path=path, is_dir=False, size=row.size, sha256=row.sha256)

    def download_stream(self, run_id: str, path: str) -> Iterator[bytes]:
        info = self.stat(run_id, path)
        return self._run_repo(run_id, "artifact.read").read_stream(info.path)

    def list(self, run_id: str, path: str = "") -> list[ArtifactInfo]:
        prefix = safe_relpath(path) + "/" if path else ""
        self._run_repo(run_id, "artifact.read")  # NotFound for an unknown or hidden run
        c = run_artifacts.c
        q = sa.select(c.path, c.size, c.sha256).where(c.run_uuid == run_id)
        if prefix:
            q = q.where(sa.func.substr(c.path, 1, len(prefix)) == prefix)
        entries: dict[str, ArtifactInfo] = {}
        with self.db.read() as conn:
            for rel, size, sha in conn.execute(q):
                rest = rel[len(prefix) :]
                head, sep, _ = rest.partition("/")
                if sep:
                    entries.setdefault(head, ArtifactInfo(prefix + head, True))
                else:
                    entries[head] = ArtifactInfo(rel, False, size, sha)
        return [entries[k] for k in sorted(entries)]
