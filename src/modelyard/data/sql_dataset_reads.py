"""Reading datasets in SQL: a version (the latest, a number, or by digest), the datasets and
a dataset's versions a page at a time; only those of projects the caller may read."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.data.entities import DatasetInfo, DatasetVersion, FileEntry
from modelyard.data.manifest import check_dataset_name, check_sha256
from modelyard.data.store import (
    DATASETS_PAGE_DEFAULT,
    DATASETS_PAGE_MAX,
    VERSIONS_PAGE_DEFAULT,
    VERSIONS_PAGE_MAX,
)
from modelyard.data.tables import dataset_versions, datasets
from modelyard.errors import InvalidArgument, NotFound
from modelyard.platform.checks import check_count
from modelyard.platform.scope import require_in, where_visible
from modelyard.platform.search.paging import encode_page_token, list_fingerprint, page_offset
from modelyard.store.database import Database


def _load(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


class SqlDatasetReads:
    db: Database

    def _row_to_version(self, row: Any, name: str) -> DatasetVersion:
        return DatasetVersion(
            name=name,
            version=int(row["version"]),
            digest=row["digest"],
            format=row["format"],
            num_rows=row["num_rows"],
            num_bytes=int(row["num_bytes"]),
            manifest=[FileEntry(**f) for f in _load(row["manifest"])],
            schema_data=_load(row["schema"]),
            profile_data=_load(row.get("profile")),
            expectations_yaml=row["expectations"],
            tags=_load(row["tags"]) or {},
            source=row["source"],
            created_by=row["created_by"],
            created_time=int(row["created_time"]),
            version_id=row["version_id"],
        )

    def _by_id(self, version_id: str) -> DatasetVersion:
        with self.db.read() as conn:
            row = (
                conn.execute(
                    sa.select(dataset_versions, datasets.c.name)
                    .join(datasets, datasets.c.dataset_id == dataset_versions.c.dataset_id)
                    .where(dataset_versions.c.version_id == version_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"dataset version {version_id!r} not found", field="version_id")
        return self._row_to_version(row, row["name"])

    def _dataset(self, conn: Connection, name: str, action: str = "dataset.read") -> Any:
        check_dataset_name(name)
        row = (
            conn.execute(sa.select(datasets).where(datasets.c.name_key == name.lower()))
            .mappings()
            .first()
        )
        missing = NotFound(f"dataset {name!r} not found", field="name")
        if row is None:
            raise missing
        require_in(action, row["project"], missing)  # before a hint could name a hidden one
        if row["name"] != name:
            hint = f" (did you mean {row['name']!r}?)" if row is not None else ""
            raise NotFound(f"dataset {name!r} not found{hint}", field="name")
        return row

    def get_version(
        self,
        name: str,
        version: int | None = None,
        digest: str | None = None,
        *,
        action: str = "dataset.read",
    ) -> DatasetVersion:
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 1
        ):
            raise InvalidArgument(
                f"version must be an integer >= 1, got {version!r}", field="version"
            )
        if digest is not None:
            check_sha256(digest, "digest")
        with self.db.read() as conn:
            ds = self._dataset(conn, name, action)
            query = sa.select(dataset_versions).where(
                dataset_versions.c.dataset_id == ds["dataset_id"]
            )
            if version is not None:
                query = query.where(dataset_versions.c.version == version)
            if digest is not None:
                query = query.where(dataset_versions.c.digest == digest)
            row = (
                conn.execute(query.order_by(dataset_versions.c.version.desc()).limit(1))
                .mappings()
                .first()
            )
        if row is None:
            what = (
                f"version {version}"
                if version is not None
                else (f"version with digest {digest}" if digest else "versions")
            )
            raise NotFound(f"dataset {name!r} has no {what}", field="version")
        return self._row_to_version(row, ds["name"])

    def list_datasets_page(
        self, *, limit: int = DATASETS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[DatasetInfo], str | None]:
        check_count(limit, "limit", DATASETS_PAGE_MAX)
        fingerprint = list_fingerprint("datasets")
        offset = page_offset(page_token, fingerprint, "request")
        counts = (
            sa.select(
                dataset_versions.c.dataset_id,
                sa.func.count().label("n"),
                sa.func.max(dataset_versions.c.version).label("latest"),
            )
            .group_by(dataset_versions.c.dataset_id)
            .subquery()
        )
        query = where_visible(
            sa.select(datasets, counts.c.n, counts.c.latest).join(
                counts, counts.c.dataset_id == datasets.c.dataset_id
            ),
            datasets.c.project,
        )
        query = query.order_by(datasets.c.name, datasets.c.dataset_id).limit(limit + 1)
        query = query.offset(offset)
        with self.db.read() as conn:
            rows = conn.execute(query).mappings().all()
        token = encode_page_token(offset + limit, fingerprint) if len(rows) > limit else None
        found = [
            DatasetInfo(
                r["name"],
                r["kind"],
                int(r["latest"]),
                int(r["n"]),
                int(r["created_time"]),
                r["description"],
                r["project"],
            )
            for r in rows[:limit]
        ]
        return found, token

    def list_versions_page(
        self, name: str, *, limit: int = VERSIONS_PAGE_DEFAULT, page_token: str | None = None
    ) -> tuple[list[DatasetVersion], str | None]:
        check_count(limit, "limit", VERSIONS_PAGE_MAX)
        cols = [c for c in dataset_versions.c if c.name != "profile"]
        with self.db.read() as conn:
            ds = self._dataset(conn, name)
            fingerprint = list_fingerprint("dataset_versions", dataset=ds["dataset_id"])
            offset = page_offset(page_token, fingerprint, "name")
            rows = (
                conn.execute(
                    sa.select(*cols)
                    .where(dataset_versions.c.dataset_id == ds["dataset_id"])
                    .order_by(dataset_versions.c.version.desc())
                    .limit(limit + 1)
                    .offset(offset)
                )
                .mappings()
                .all()
            )
        token = encode_page_token(offset + limit, fingerprint) if len(rows) > limit else None
        return [self._row_to_version(r, ds["name"]) for r in rows[:limit]], token
