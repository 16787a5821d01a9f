"""DuckDB over the data being validated, and nothing else: the connection may read one file
(or one in-memory table), its configuration is locked, and every query has a time limit."""

from __future__ import annotations

import json
import math
import threading
import uuid
from typing import Any

import numpy as np
import pyarrow as pa

from modelyard.config import Settings
from modelyard.data.frames import TabularSource
from modelyard.errors import InvalidArgument


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return f"'{value}'::DOUBLE"
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class DataSql:
    """A DuckDB connection that can read exactly one table: the data under validation."""

    def __init__(self, source: TabularSource) -> None:
        import duckdb

        self.row = f"__modelyard_row_{uuid.uuid4().hex[:8]}"
        self.timeout = Settings.from_env().validation_timeout
        self.con = duckdb.connect(config={"threads": 2})
        try:
            self._open(source)
        except duckdb.Error as exc:
            self.con.close()
            raise InvalidArgument(f"cannot read the data: {exc}", field="data") from exc

    def _open(self, source: TabularSource) -> None:
        if source.path is not None:
            path = str(source.path.resolve())
            self.con.execute("SET allowed_paths = ?", [[path]])
            self._lock()
            escaped = path.replace("'", "''")
            cols = ", ".join(quote(c) for c in source.schema.names)  # no pandas index columns
            if "file_row_number" in source.schema.names:  # the file's own column wins
                select = f"SELECT {cols}, NULL::BIGINT AS {self.row} FROM read_parquet('{escaped}')"
            else:
                select = (
                    f"SELECT {cols}, file_row_number AS {self.row} "
                    f"FROM read_parquet('{escaped}', file_row_number=true)"
                )
            self.con.execute(f"CREATE TEMP VIEW data AS {select}")
        else:
            assert source.table is not None
            table = source.table
            for i, fld in enumerate(table.schema):
                if pa.types.is_float16(fld.type):  # DuckDB reads no half floats
                    table = table.set_column(i, fld.name, table.column(i).cast(pa.float32()))
            rows = pa.array(np.arange(table.num_rows, dtype=np.int64))
            self.con.register("data_arrow", table.append_column(self.row, rows))
            self._lock()
            self.con.execute("CREATE TEMP VIEW data AS SELECT * FROM data_arrow")

    def check_predicate(self, predicate: str) -> None:
        """A custom predicate must be one boolean expression over the data, nothing more."""
        wrapped = f"SELECT ({predicate}) FROM data"
        tree = json.loads(self.scalar_params("SELECT json_serialize_sql(?)", [wrapped]))
        statements = tree.get("statements") or []
        node = statements[0].get("node", {}) if len(statements) == 1 else {}
        source = node.get("from_table", {})
        if (
            tree.get("error")
            or len(node.get("select_list", [])) != 1
            or source.get("type") != "BASE_TABLE"
            or source.get("table_name") != "data"
        ):
            detail = tree.get("error_message") or "more than one expression"
            raise InvalidArgument(
                f"sql predicate {predicate!r} is not one SQL expression: {detail}",
                field="predicate",
            )

    def scalar_params(self, sql: str, params: list[Any]) -> Any:
        row = self._cursor(sql, params).fetchone()
        return row[0] if row else None

    def _lock(self) -> None:
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def counts(self, predicates: list[str]) -> list[int]:
        """Rows matching each predicate, in one scan (the predicates are ours, not users')."""
        if not predicates:
            return []
        parts = ", ".join(f"count(*) FILTER (WHERE {p})" for p in predicates)
        row = self._query(f"SELECT {parts} FROM data")[0]
        return [int(v) for v in row]

    def count(self, predicate: str) -> int:
        return int(self._query(f"SELECT count(*) FILTER (WHERE {predicate}) FROM data")[0][0])

    def scalar(self, sql: str) -> Any:
        return self._query(sql)[0][0]

    def sample(self, predicate: str, limit: int) -> list[dict[str, Any]]:
        sql = f"SELECT * FROM data WHERE {predicate} ORDER BY {self.row} LIMIT {limit}"
        cursor = self._cursor(sql)
        names = [d[0] for d in cursor.description]
        rows = []
        for values in cursor.fetchall():
            row = {n: jsonable(v) for n, v in zip(names, values, strict=True) if n != self.row}
            row["row"] = values[names.index(self.row)]
            rows.append(row)
        return rows

    def _cursor(self, sql: str, params: list[Any] | None = None) -> Any:
        import duckdb

        timer = threading.Timer(self.timeout, self.con.interrupt)
        timer.start()
        try:
            return self.con.execute(sql, params)
        except duckdb.InterruptException as exc:
            raise InvalidArgument(
                f"a rule ran longer than {self.timeout:.0f} s and was stopped "
                "(MODELYARD_VALIDATION_TIMEOUT)",
                field="expectations",
            ) from exc
        except duckdb.Error as exc:
            raise InvalidArgument(f"cannot evaluate a rule: {exc}", field="expectations") from exc
        finally:
            timer.cancel()

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._cursor(sql).fetchall()
        return rows

    def close(self) -> None:
        self.con.close()


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)
