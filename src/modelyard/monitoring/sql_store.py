"""The monitoring store in SQL: the prediction file catalog and labels.

Labels are upserted (delete and insert in one transaction, in batches), so a label sent
twice keeps the last value and is counted as replaced; nothing is half-written.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from modelyard.data.manifest import check_sha256
from modelyard.errors import Conflict, InvalidArgument, NotFound
from modelyard.identity import current_actor
from modelyard.monitoring.entities import (
    MAX_LABELS,
    Label,
    PredictionFile,
    check_labels,
    check_request_id,
)
from modelyard.monitoring.sql_monitors import SqlMonitors
from modelyard.monitoring.store import FILES_PAGE_DEFAULT, FILES_PAGE_MAX, MonitoringStore
from modelyard.monitoring.tables import prediction_files, prediction_labels
from modelyard.platform.access import sees
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    restricted,
    where_visible,
)
from modelyard.platform.search.paging import encode_page_token, list_fingerprint, page_offset
from modelyard.store.database import Database
from modelyard.store.migrate import upgrade

_CHUNK = 500  # ids per IN (...) clause


def _file(row: Any) -> PredictionFile:
    return PredictionFile(
        sha256=row["sha256"],
        size=int(row["size"]),
        model=row["model"],
        version=row["version"],
        endpoint=row["endpoint"],
        rows=int(row["rows"]),
        first_time=int(row["first_time"]),
        last_time=int(row["last_time"]),
        file_id=row["file_id"],
        created_time=int(row["created_time"]),
        project=row["project"],
    )


def check_file(meta: PredictionFile) -> PredictionFile:
    if not isinstance(meta.sha256, str):
        raise InvalidArgument("sha256 must be 64 hex digits", field="sha256")
    check_sha256(meta.sha256)
    for name in ("size", "rows", "first_time", "last_time"):
        value = getattr(meta, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
            raise InvalidArgument(f"{name} must be a whole number from 0", field=name)
    if meta.last_time < meta.first_time:
        raise InvalidArgument("last_time is before first_time", field="last_time")
    for name, limit in (("model", 256), ("endpoint", 256)):
        value = getattr(meta, name)
        if not isinstance(value, str) or not 0 < len(value) <= limit:
            raise InvalidArgument(f"{name} must be text of 1 to {limit} characters", field=name)
    if meta.version is not None and (not isinstance(meta.version, str) or len(meta.version) > 64):
        raise InvalidArgument("version must be text of at most 64 characters", field="version")
    return meta


_blob_holders = sa.table("blob_holders", sa.column("sha256"), sa.column("project"))


class SqlMonitoringStore(SqlMonitors, MonitoringStore):
    def __init__(self, db: Database) -> None:
        self.db = db
        upgrade(db)

    def add_prediction_file(self, meta: PredictionFile) -> PredictionFile:
        meta = check_file(meta)
        actor = current_actor().name
        meta = replace(meta, project=new_object_project(meta.project, "prediction.write"))

        def write(conn: Connection) -> None:
            check_project_exists(conn, str(meta.project))
            if restricted():  # naming a hash is not holding the bytes
                mine = conn.execute(
                    where_visible(
                        sa.select(_blob_holders.c.sha256).where(
                            _blob_holders.c.sha256 == meta.sha256
                        ),
                        _blob_holders.c.project,
                    )
                ).first()
                if mine is None:
                    raise NotFound(
                        f"blob {meta.sha256} is not stored: upload the file first",
                        field="sha256",
                    )
            known = conn.execute(
                sa.select(prediction_files.c.file_id, prediction_files.c.project).where(
                    prediction_files.c.sha256 == meta.sha256
                )
            ).first()
            if known is not None:
                if not sees(current_actor(), known.project):
                    raise NotFound(
                        f"blob {meta.sha256} is not stored: upload the file first",
                        field="sha256",
                    )
                return  # shipped twice (a retry after a lost answer): listed once
            values = meta.to_dict()
            values.update(file_id=uuid.uuid4().hex, created_time=now_ms(), created_by=actor)
            conn.execute(prediction_files.insert().values(**values))
            # the file is a dataset blob: its project holds it (data's blob_holders)
            holder = {"sha256": meta.sha256, "project": meta.project}
            dialect = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
            conn.execute(dialect(_blob_holders).values(holder).on_conflict_do_nothing())

        with contextlib.suppress(sa.exc.IntegrityError):  # a concurrent shipper won
            self.db.run_write(write)
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(prediction_files).where(prediction_files.c.sha256 == meta.sha256)
                )
                .mappings()
                .one()
            )
        return _file(row)

    def prediction_files_page(
        self,
        *,
        model: str | None = None,
        version: str | None = None,
        endpoint: str | None = None,
        since: int | None = None,
        until: int | None = None,
        limit: int = FILES_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[PredictionFile], str | None]:
        check_count(limit, "limit", FILES_PAGE_MAX)
        fingerprint = list_fingerprint(
            "prediction_files",
            model=model,
            version=version,
            endpoint=endpoint,
            since=since,
            until=until,
        )
        offset = page_offset(page_token, fingerprint, "model, version, endpoint, since and until")
        t = prediction_files.c
        query = where_visible(sa.select(prediction_files), t.project)
        for column, value in ((t.model, model), (t.version, version), (t.endpoint, endpoint)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(t.last_time >= since)
        if until is not None:
            query = query.where(t.first_time < until)
        query = query.order_by(t.first_time, t.file_id).limit(limit + 1).offset(offset)
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        more = len(rows) > limit
        token = encode_page_token(offset + limit, fingerprint) if more else None
        return [_file(r) for r in rows[:limit]], token

    def log_labels(self, labels: Sequence[Label], project: str | None = None) -> tuple[int, int]:
        """Upsert: for one request id and row the label with the latest ``time`` stays (a
        correction sent straight to the store is not undone by an older label shipped
        later from a server's log; on a tie the one written last wins). ``(recorded,
        replaced)``: rows written, and of those the ones whose stored label was replaced; a
        label older than the one stored for its row is neither, and a row sent twice in one
        call is written once (with the label of the latest time)."""
        clean = check_labels(list(labels))
        actor, t = current_actor().name, now_ms()
        where = new_object_project(project, "prediction.write")
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        for label in clean:
            row = {
                "request_id": label.request_id,
                "row_index": label.row,
                "label": orjson.dumps(label.label).decode(),
                "time": label.time if label.time is not None else t,
                "recorded_by": actor,
                "recorded_time": t,
                "project": where,
            }
            key = (label.request_id, label.row)
            if key not in latest or row["time"] >= latest[key]["time"]:
                latest[key] = row
        insert = sqlite_insert if self.db.is_sqlite else pg_insert
        c = prediction_labels.c

        outdated = [0]  # labels older than the one stored for their row

        def write(conn: Connection) -> int:
            check_project_exists(conn, where)
            outdated[0] = 0
            replaced = 0
            rows = list(latest.values())
            for start in range(0, len(rows), _CHUNK):
                part = rows[start : start + _CHUNK]
                keys = sa.tuple_(c.request_id, c.row_index)
                held = conn.execute(
                    sa.select(c.request_id, c.row_index, c.project, c.time).where(
                        keys.in_([(r["request_id"], r["row_index"]) for r in part])
                    )
                ).all()
                other = [rid for rid, _, p, _ in held if p != where]
                if other:  # request ids are unique across projects: another's is not ours
                    raise Conflict(
                        f"request id {other[0]!r} is labelled in another project; a label "
                        f"goes in the project of its prediction (this one: {where!r})",
                        field="labels",
                    )
                # a stored label newer than the one sent stays: neither replaced nor recorded
                newest = {(rid, ri): int(tm) for rid, ri, _, tm in held}
                for r in part:
                    before = newest.get((r["request_id"], r["row_index"]))
                    if before is None:
                        continue
                    if before <= r["time"]:
                        replaced += 1
                    else:
                        outdated[0] += 1
                stmt = insert(prediction_labels).values(part)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[c.request_id, c.row_index],
                        set_={
                            k: stmt.excluded[k]
                            for k in ("label", "time", "recorded_by", "recorded_time")
                        },
                        # and never across projects, even one that labelled it meanwhile
                        where=sa.and_(stmt.excluded.time >= c.time, c.project == where),
                    )
                )
            return replaced

        replaced = self.db.run_write(write) if latest else 0
        # a row labelled twice in one call is written once, with the label of the latest time
        return len(latest) - outdated[0], int(replaced)

    def get_labels(self, request_ids: Sequence[str]) -> list[Label]:
        ids = list(dict.fromkeys(check_request_id(r, "request_ids") for r in request_ids))
        if len(ids) > 100 * MAX_LABELS:
            raise InvalidArgument("ask for at most 1,000,000 request ids", field="request_ids")
        found: list[Label] = []
        t = prediction_labels.c
        with self.db.read() as conn:
            for start in range(0, len(ids), _CHUNK):
                query = sa.select(t.request_id, t.row_index, t.label, t.time).where(
                    t.request_id.in_(ids[start : start + _CHUNK])
                )
                rows = conn.execute(where_visible(query, t.project))
                found += [Label(r[0], orjson.loads(r[2]), int(r[1]), int(r[3])) for r in rows]
        return found

    def close(self) -> None:
        self.db.dispose()
