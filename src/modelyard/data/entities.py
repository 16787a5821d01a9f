"""What the data domain hands to users: dataset versions, manifests, lineage graphs.

A ``DatasetVersion`` is immutable metadata plus a reader that fetches its bytes on demand
(from the local artifact store directly, or through the cache for S3 and remote servers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import InvalidArgument

if TYPE_CHECKING:  # heavy (Arrow, numpy): loaded when a profile or the data is used
    import pyarrow as pa

    from modelyard.data.expectations import Expectations
    from modelyard.data.profiling import Profile
    from modelyard.data.schema import Schema

KINDS = ("table", "files")
FORMATS = ("parquet", "csv", "files")


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass
class DatasetVersion:
    name: str
    version: int
    digest: str
    format: str
    num_rows: int | None
    num_bytes: int
    manifest: list[FileEntry]
    schema_data: dict[str, Any] | None = None
    profile_data: dict[str, Any] | None = None
    expectations_yaml: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    created_by: str | None = None
    created_time: int = 0
    version_id: str = ""
    _materialize: Callable[[DatasetVersion], Path] | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "files" if self.format == "files" else "table"

    @property
    def uri(self) -> str:
        return f"dataset:{self.name}@{self.version}"

    @property
    def num_files(self) -> int:
        return len(self.manifest)

    @cached_property
    def profile(self) -> Profile | None:
        from modelyard.data.profiling import Profile

        return Profile.from_dict(self.profile_data) if self.profile_data else None

    @cached_property
    def schema(self) -> Schema | None:
        from modelyard.data.schema import Schema

        return Schema.from_dict(self.schema_data) if self.schema_data else None

    @property
    def expectations(self) -> Expectations | None:
        from modelyard.data.expectations import Expectations

        return Expectations.from_yaml(self.expectations_yaml) if self.expectations_yaml else None

    @property
    def path(self) -> Path:
        """A local path to the snapshot: the data file of a table, the folder of files."""
        if self._materialize is None:
            raise InvalidArgument(
                "this dataset version is not attached to a store; get it with "
                "yard.data.get(name, version=...) to read its data",
                field="version",
            )
        return self._materialize(self)

    def to_arrow(self) -> pa.Table:
        if self.kind != "table":
            raise InvalidArgument(
                f"{self.uri} is a set of files, not a table; use .path", field="format"
            )
        import pyarrow.parquet as pq
        from pyarrow import csv

        from modelyard.data.frames import without_index

        if self.format != "parquet":
            return csv.read_csv(self.path)
        return without_index(pq.read_table(self.path))  # the columns pd.read_parquet gives

    def to_pandas(self) -> Any:
        """The frame as logged: pandas' index stored in the file is its index again."""
        if self.kind == "table" and self.format == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(self.path).to_pandas()
        return self.to_arrow().to_pandas()

    def to_dict(self, *, with_profile: bool = True) -> dict[str, Any]:
        data = {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "kind": self.kind,
            "format": self.format,
            "num_rows": self.num_rows,
            "num_bytes": self.num_bytes,
            "num_files": self.num_files,
            "manifest": [f.to_dict() for f in self.manifest],
            "schema": self.schema_data,
            "expectations": self.expectations_yaml,
            "tags": self.tags,
            "source": self.source,
            "created_by": self.created_by,
            "created_time": self.created_time,
            "version_id": self.version_id,
        }
        if with_profile:
            data["profile"] = self.profile_data
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetVersion:
        return cls(
            name=data["name"],
            version=int(data["version"]),
            digest=data["digest"],
            format=data["format"],
            num_rows=data.get("num_rows"),
            num_bytes=int(data["num_bytes"]),
            manifest=[FileEntry(**f) for f in data["manifest"]],
            schema_data=data.get("schema"),
            profile_data=data.get("profile"),
            expectations_yaml=data.get("expectations"),
            tags=dict(data.get("tags") or {}),
            source=data.get("source"),
            created_by=data.get("created_by"),
            created_time=int(data.get("created_time") or 0),
            version_id=data.get("version_id", ""),
        )


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str
    latest_version: int
    versions: int
    created_time: int
    description: str | None = None
    project: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.name,
            "kind": self.kind,
            "latest_version": self.latest_version,
            "versions": self.versions,
            "created_time": self.created_time,
            "description": self.description,
        }


@dataclass(frozen=True)
class NewVersion:
    """What a client registers once every file of the snapshot is stored."""

    name: str
    digest: str
    format: str
    num_rows: int | None
    manifest: list[FileEntry]
    schema: dict[str, Any] | None
    profile: dict[str, Any] | None
    expectations: str | None
    tags: dict[str, str]
    source: str | None
    created_by: str | None
    description: str | None = None
    project: str | None = None  # of a dataset this version creates; None: the caller's

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "name": self.name,
            "digest": self.digest,
            "format": self.format,
            "num_rows": self.num_rows,
            "manifest": [f.to_dict() for f in self.manifest],
            "schema": self.schema,
            "profile": self.profile,
            "expectations": self.expectations,
            "tags": self.tags,
            "source": self.source,
            "created_by": self.created_by,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NewVersion:
        return cls(
            name=data["name"],
            digest=data["digest"],
            format=data["format"],
            num_rows=data.get("num_rows"),
            manifest=[FileEntry(**f) for f in data["manifest"]],
            schema=data.get("schema"),
            profile=data.get("profile"),
            expectations=data.get("expectations"),
            tags=dict(data.get("tags") or {}),
            source=data.get("source"),
            created_by=data.get("created_by"),
            description=data.get("description"),
            project=data.get("project"),
        )


@dataclass(frozen=True)
class LineageNode:
    type: str  # dataset_version | run | model_version | deployment
    id: str
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id, "label": self.label}


@dataclass(frozen=True)
class LineageEdge:
    source: LineageNode
    target: LineageNode
    relation: str
    context: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict(),
            "target": self.target.to_dict(),
            "relation": self.relation,
            "context": self.context,
        }
