"""What changed between two versions of a dataset: schema, rows, statistics, files.

Schema and statistics come from the stored profiles (no data read). Rows added and removed
are counted as multisets over the columns both versions share, with DuckDB reading the two
Parquet snapshots in place; file datasets compare their manifests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelyard.data.entities import DatasetVersion

STATS = ("missing_rate", "mean", "std", "min", "max", "distinct")


@dataclass
class DatasetDiff:
    name: str
    a: int
    b: int
    same: bool
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    type_changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    rows_a: int | None = None
    rows_b: int | None = None
    rows_added: int | None = None
    rows_removed: int | None = None
    stat_changes: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    files_added: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "a": self.a,
            "b": self.b,
            "same": self.same,
            "columns_added": self.columns_added,
            "columns_removed": self.columns_removed,
            "type_changes": {k: list(v) for k, v in self.type_changes.items()},
            "rows_a": self.rows_a,
            "rows_b": self.rows_b,
            "rows_added": self.rows_added,
            "rows_removed": self.rows_removed,
            "stat_changes": {
                col: {k: list(v) for k, v in stats.items()}
                for col, stats in self.stat_changes.items()
            },
            "files_added": self.files_added,
            "files_removed": self.files_removed,
            "files_changed": self.files_changed,
        }


def _changed(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) > 1e-9 * max(1.0, abs(x), abs(y))
    return bool(x != y)


def diff_versions(a: DatasetVersion, b: DatasetVersion) -> DatasetDiff:
    out = DatasetDiff(a.name, a.version, b.version, a.digest == b.digest)
    files_a = {e.path: e.sha256 for e in a.manifest}
    files_b = {e.path: e.sha256 for e in b.manifest}
    if a.kind == "files" or b.kind == "files":
        out.files_added = sorted(set(files_b) - set(files_a))
        out.files_removed = sorted(set(files_a) - set(files_b))
        out.files_changed = sorted(p for p in files_a if p in files_b and files_a[p] != files_b[p])
        return out
    out.rows_a, out.rows_b = a.num_rows, b.num_rows
    pa_, pb = a.profile, b.profile
    cols_a = list(pa_.columns) if pa_ else []
    cols_b = list(pb.columns) if pb else []
    out.columns_added = [c for c in cols_b if c not in cols_a]
    out.columns_removed = [c for c in cols_a if c not in cols_b]
    shared = [c for c in cols_a if c in cols_b]
    if pa_ is not None and pb is not None:
        for col in shared:
            ca, cb = pa_.columns[col], pb.columns[col]
            if ca.type != cb.type:
                out.type_changes[col] = (ca.type, cb.type)
            da, db = ca.to_dict(), cb.to_dict()
            changes = {k: (da[k], db[k]) for k in STATS if _changed(da[k], db[k])}
            if changes:
                out.stat_changes[col] = changes
    if out.same:
        out.rows_added = out.rows_removed = 0
    elif shared:
        out.rows_added, out.rows_removed = _row_changes(a, b, shared)
    return out


def _row_changes(a: DatasetVersion, b: DatasetVersion, columns: list[str]) -> tuple[int, int]:
    import duckdb

    path_a, path_b = str(a.path.resolve()), str(b.path.resolve())
    con = duckdb.connect(config={"threads": 2})
    try:
        con.execute("SET allowed_paths = ?", [[path_a, path_b]])
        con.execute("SET enable_external_access = false")
        cols = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)

        def scan(version: DatasetVersion, path: str) -> str:
            escaped = path.replace("'", "''")
            reader = "read_parquet" if version.format == "parquet" else "read_csv_auto"
            return f"SELECT {cols} FROM {reader}('{escaped}')"

        sa_, sb = scan(a, path_a), scan(b, path_b)
        added = con.execute(f"SELECT count(*) FROM ({sb} EXCEPT ALL {sa_})").fetchone()
        removed = con.execute(f"SELECT count(*) FROM ({sa_} EXCEPT ALL {sb})").fetchone()
    finally:
        con.close()
    return int(added[0]) if added else 0, int(removed[0]) if removed else 0
