"""The SQL dataset store and the artifact-repository blob store (embedded, and the server's).

Creating a version is one write transaction: the dataset row (created on first use, its
lower-cased name unique so 'Churn' and 'churn' cannot both exist), the next version number,
the version row and its lineage edge land together or not at all. Two writers logging the
same snapshot at once get one version: the loser finds the winner's row by digest.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.data.blob_holders import held, hold
from modelyard.data.drafts import check_draft
from modelyard.data.entities import DatasetVersion, FileEntry, NewVersion
from modelyard.data.lineage_rows import add_edge
from modelyard.data.manifest import check_dataset_name, check_manifest, digest_of
from modelyard.data.sql_dataset_reads import SqlDatasetReads
from modelyard.data.sql_lineage import NODE_DATASET, NODE_RUN, SqlLineageReads
from modelyard.data.store import (
    BlobStore,
    DatasetStore,
)
from modelyard.data.tables import dataset_versions, datasets, lineage_edges
from modelyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from modelyard.identity import current_actor
from modelyard.platform.access import sees
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    require_in,
)
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database
from modelyard.store.migrate import upgrade
from modelyard.tracking.store import TrackingStore

RELATIONS = ("input", "output")


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _load(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


def _project_named(conn: Connection, name: str) -> str | None:
    found = conn.execute(
        sa.select(datasets.c.project).where(datasets.c.name_key == name.lower())
    ).scalar()
    return None if found is None else str(found)


def _project_of_version(conn: Connection, version_id: str) -> str | None:
    found = conn.execute(
        sa.select(datasets.c.project)
        .join(dataset_versions, datasets.c.dataset_id == dataset_versions.c.dataset_id)
        .where(dataset_versions.c.version_id == version_id)
    ).scalar()
    return None if found is None else str(found)


class SqlDatasetStore(SqlLineageReads, SqlDatasetReads, DatasetStore):
    def __init__(self, db: Database, runs: TrackingStore, blobs: BlobStore) -> None:
        self.db = db
        self.runs = runs
        self.blobs = blobs
        upgrade(db)

    # --- writes --------------------------------------------------------------------------
    def create_version(
        self, draft: NewVersion, *, run_id: str | None = None, context: str | None = None
    ) -> tuple[DatasetVersion, bool]:
        name = check_dataset_name(draft.name)
        manifest = check_manifest(draft.manifest, draft.format)
        check_draft(draft)
        if digest_of(draft.format, manifest) != draft.digest:
            raise InvalidArgument(
                "digest does not match the manifest (sha256 of format and files)", field="digest"
            )
        if run_id is not None:
            self.runs.get_run(run_id)  # NotFound for an unknown run, before anything is written
        absent = []
        # a blob no project of the caller holds is not stored, to it: naming a hash is not
        # holding the bytes (else a manifest would hand over another project's file)
        mine = held(self.db, [e.sha256 for e in manifest])
        for entry in manifest:  # one size lookup per file answers "stored?" and "intact?"
            if entry.sha256 not in mine:
                absent.append(entry.sha256)
                continue
            try:
                stored = self.blobs.size(entry.sha256)
            except NotFound:
                absent.append(entry.sha256)
                continue
            if stored != entry.size:
                raise InvalidArgument(
                    f"manifest says {entry.path!r} has {entry.size} bytes; the stored file "
                    f"with its sha256 has {stored}",
                    field="manifest.size",
                )
        if absent:
            raise Conflict(
                f"{len(absent)} file(s) of the manifest are not stored yet (first: "
                f"{absent[0]}); upload every blob before registering the version",
                field="manifest",
            )
        kind = "files" if draft.format == "files" else "table"
        draft = replace(draft, project=new_object_project(draft.project, "dataset.write"))
        for attempt in range(5):
            try:
                version_id, created = self.db.run_write(
                    self._create, name, kind, draft, manifest, run_id, context
                )
                break
            except sa.exc.IntegrityError:
                # a concurrent writer created the dataset row first: its row now exists and
                # is locked by the next attempt, which then sees that writer's version
                if attempt == 4:
                    raise
        return self._by_id(version_id), created

    def _create(
        self,
        conn: Connection,
        name: str,
        kind: str,
        draft: NewVersion,
        manifest: list[FileEntry],
        run_id: str | None,
        context: str | None,
    ) -> tuple[str, bool]:
        dataset_id, last = self._lock_dataset(conn, name, kind, draft)
        existing = conn.execute(
            sa.select(dataset_versions.c.version_id).where(
                dataset_versions.c.dataset_id == dataset_id,
                dataset_versions.c.digest == draft.digest,
            )
        ).first()
        if existing is not None:
            version_id, created = existing[0], False
        else:
            version_id, created = uuid.uuid4().hex, True
            self._insert_version(conn, version_id, dataset_id, name, last + 1, draft, manifest)
        if run_id is not None:
            self._link(conn, version_id, run_id, "input", context)
        project = conn.execute(
            sa.select(datasets.c.project).where(datasets.c.dataset_id == dataset_id)
        ).scalar_one()
        hold(conn, [e.sha256 for e in manifest], str(project))  # its files are the project's
        return version_id, created

    def _lock_dataset(
        self, conn: Connection, name: str, kind: str, draft: NewVersion
    ) -> tuple[str, int]:
        """The dataset's id and last version number, its row created when new and locked."""
        # FOR UPDATE: writers of one dataset take turns (SQLite writers already do)
        row = (
            conn.execute(
                sa.select(datasets).where(datasets.c.name_key == name.lower()).with_for_update()
            )
            .mappings()
            .first()
        )
        if row is not None and not sees(current_actor(), row["project"]):
            # names are global (a dataset's address); one held where the caller cannot see
            raise AlreadyExists(f"the dataset name {name!r} is taken", field="name")
        if row is None:
            project = str(draft.project)
            check_project_exists(conn, project)
            dataset_id = uuid.uuid4().hex
            conn.execute(
                datasets.insert().values(
                    dataset_id=dataset_id,
                    project=project,
                    name=name,
                    name_key=name.lower(),
                    kind=kind,
                    description=draft.description,
                    created_time=now_ms(),
                    last_version=0,
                )
            )
            return dataset_id, 0
        if row["name"] != name:
            raise AlreadyExists(
                f"dataset name {name!r} collides with the existing dataset {row['name']!r} "
                "(names are unique ignoring case)",
                field="name",
            )
        require_in(
            "dataset.write", row["project"], NotFound(f"dataset {name!r} not found", field="name")
        )
        if row["kind"] != kind:
            raise Conflict(
                f"dataset {name!r} holds {row['kind']}; a {kind} snapshot needs another name",
                field="data",
            )
        return row["dataset_id"], int(row["last_version"])

    def _insert_version(
        self,
        conn: Connection,
        version_id: str,
        dataset_id: str,
        name: str,
        version: int,
        draft: NewVersion,
        manifest: list[FileEntry],
    ) -> None:
        """Store a new version, make it the dataset's last and audit it."""
        conn.execute(
            dataset_versions.insert().values(
                version_id=version_id,
                dataset_id=dataset_id,
                version=version,
                digest=draft.digest,
                format=draft.format,
                num_rows=draft.num_rows,
                num_bytes=sum(e.size for e in manifest),
                num_files=len(manifest),
                manifest=_json([e.to_dict() for e in manifest]),
                schema=_json(draft.schema),
                profile=_json(draft.profile),
                expectations=draft.expectations,
                tags=_json(draft.tags) or "{}",
                source=(draft.source or "")[:2000] or None,
                created_by=draft.created_by,
                created_time=now_ms(),
            )
        )
        conn.execute(
            datasets.update()
            .where(datasets.c.dataset_id == dataset_id)
            .values(last_version=version)
        )
        audit.record(
            conn,
            [
                AuditEvent(
                    "dataset_version.create",
                    NODE_DATASET,
                    version_id,
                    after={"dataset": name, "version": version, "digest": draft.digest},
                    project=_project_named(conn, name),
                )
            ],
            time_ms=now_ms(),
        )

    def _link(
        self, conn: Connection, version_id: str, run_id: str, relation: str, context: str | None
    ) -> None:
        if relation not in RELATIONS:
            raise InvalidArgument(
                f"relation must be one of {', '.join(RELATIONS)}, got {relation!r}",
                field="relation",
            )
        if context is not None and (not isinstance(context, str) or len(context) > 64):
            raise InvalidArgument(
                "context must be a string of at most 64 characters", field="context"
            )
        src, dst = ((NODE_DATASET, version_id), (NODE_RUN, run_id))
        if relation == "output":
            src, dst = dst, src
        if add_edge(conn, src, dst, relation, context):
            audit.record(
                conn,
                [
                    AuditEvent(
                        "lineage.link",
                        NODE_DATASET,
                        version_id,
                        after={"run_id": run_id, "relation": relation, "context": context},
                        project=_project_of_version(conn, version_id),
                    )
                ],
                time_ms=now_ms(),
            )

    def link(
        self, name: str, version: int, run_id: str, *, relation: str, context: str | None
    ) -> None:
        found = self.get_version(name, version, action="dataset.write")
        self.runs.get_run(run_id)
        self.db.run_write(self._link, found.version_id, run_id, relation, context)

    def set_expectations(self, name: str, version: int, suite_yaml: str | None) -> DatasetVersion:
        found = self.get_version(name, version, action="dataset.write")

        def write(conn: Connection) -> None:
            conn.execute(
                dataset_versions.update()
                .where(dataset_versions.c.version_id == found.version_id)
                .values(expectations=suite_yaml)
            )
            audit.record(
                conn,
                [
                    AuditEvent(
                        "dataset_version.set_expectations",
                        NODE_DATASET,
                        found.version_id,
                        before={"expectations": found.expectations_yaml is not None},
                        after={"expectations": suite_yaml is not None},
                        project=_project_named(conn, found.name),
                    )
                ],
                time_ms=now_ms(),
            )

        self.db.run_write(write)
        return self._by_id(found.version_id)

    def delete_version(self, name: str, version: int, *, force: bool = False) -> int:
        found = self.get_version(name, version, action="dataset.delete")

        def write(conn: Connection) -> int:
            project = _project_named(conn, found.name)  # before the last version takes it
            # the check and the delete share one transaction: an edge added meanwhile either
            # blocks the delete or waits for it, never dangles
            touching = sa.or_(
                sa.and_(
                    lineage_edges.c.source_type == NODE_DATASET,
                    lineage_edges.c.source_id == found.version_id,
                ),
                sa.and_(
                    lineage_edges.c.target_type == NODE_DATASET,
                    lineage_edges.c.target_id == found.version_id,
                ),
            )
            conn.execute(
                sa.select(datasets.c.dataset_id)
                .where(datasets.c.name_key == found.name.lower())
                .with_for_update()
            )
            uses = conn.execute(sa.select(lineage_edges).where(touching)).mappings().all()
            if uses and not force:
                others = sorted(
                    {
                        f"{r['target_type']}:{r['target_id']}"
                        if r["source_id"] == found.version_id
                        else f"{r['source_type']}:{r['source_id']}"
                        for r in uses
                    }
                )
                raise Conflict(
                    f"{found.uri} has {len(uses)} lineage edge(s) ({', '.join(others)}); "
                    "deleting it would orphan them. Pass force=True (--force) to delete the "
                    "version and its edges.",
                    field="version",
                )
            removed = conn.execute(lineage_edges.delete().where(touching)).rowcount
            conn.execute(
                dataset_versions.delete().where(dataset_versions.c.version_id == found.version_id)
            )
            left = conn.execute(
                sa.select(sa.func.count())
                .select_from(dataset_versions)
                .join(datasets, datasets.c.dataset_id == dataset_versions.c.dataset_id)
                .where(datasets.c.name_key == found.name.lower())
            ).scalar_one()
            if not left:  # the last version: the name is free again
                conn.execute(datasets.delete().where(datasets.c.name_key == found.name.lower()))
            audit.record(
                conn,
                [
                    AuditEvent(
                        "dataset_version.delete",
                        NODE_DATASET,
                        found.version_id,
                        before={"dataset": found.name, "version": found.version},
                        after={"edges_removed": int(removed or 0)},
                        project=project,
                    )
                ],
                time_ms=now_ms(),
            )
            return int(removed or 0)

        return int(self.db.run_write(write))

    def close(self) -> None:
        self.db.dispose()
