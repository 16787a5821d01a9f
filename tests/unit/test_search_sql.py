"""Search filters and ORDER BY compiled to SQL select exactly the expected runs on SQLite."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

import modelyard.tracking.tables as t
from modelyard.errors import InvalidArgument
from modelyard.platform.search.parser import parse_filter, parse_order_by
from modelyard.platform.search.sql import like_to_glob
from modelyard.store.metadata import metadata
from modelyard.tracking.run_search import search_query

INJECTION = "x' OR '1'='1"

RUNS = [
    # run, name, experiment, parent, user, status, start, end, stage
    ("r1", "baseline-1", 1, None, "alice", "FINISHED", 1000, 2000, "active"),
    ("r2", "Baseline-2", 1, "r1", "bob", "FAILED", 2000, None, "active"),
    ("r3", "tuned", 1, None, "alice", "RUNNING", 3000, None, "active"),
    ("r4", "prod-candidate", 1, None, "carol", "FINISHED", 4000, 5000, "active"),
    ("r5", "deleted-run", 1, None, "alice", "KILLED", 5000, 6000, "deleted"),
    ("r6", "other-experiment", 2, None, "alice", "FINISHED", 6000, 7000, "active"),
]
METRICS = [  # run, key, value (nan is stored as 0 with is_nan)
    ("r1", "auc", 0.8),
    ("r1", "loss", 0.5),
    ("r2", "auc", 0.95),
    ("r2", "loss", math.nan),
    ("r3", "auc", math.nan),
    ("r4", "auc", 0.9),
    ("r4", "loss", 0.1),
    ("r5", "auc", 0.99),
    ("r6", "auc", 0.97),
]
PARAMS = [
    ("r1", "lr", "0.1"),
    ("r1", "max_depth", "8"),
    ("r2", "lr", "0.01"),
    ("r2", "max_depth", "6"),
    ("r3", "lr", "0.1"),
    ("r4", "note", INJECTION),
]
TAGS = [
    ("r1", "env", "prod-1"),
    ("r1", "owner", "alice"),
    ("r1", "my tag", "a"),
    ("r2", "env", "Prod-2"),
    ("r3", "env", "staging"),
    ("r3", "pattern", "a*b?[c]"),
    ("r4", "env", "prod%lit"),
    ("r4", "owner", "carol"),
    ("r5", "env", "prod-5"),
]


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(t.experiments),
            [
                {
                    "experiment_id": i,
                    "name": f"exp{i}",
                    "artifact_location": f"/tmp/{i}",
                    "creation_time": 0,
                    "last_update_time": 0,
                }
                for i in (1, 2)
            ],
        )
        conn.execute(
            sa.insert(t.runs),
            [
                {
                    "run_uuid": run,
                    "name": name,
                    "experiment_id": exp,
                    "parent_run_id": parent,
                    "user_id": user,
                    "status": status,
                    "start_time": start,
                    "end_time": end,
                    "lifecycle_stage": stage,
                    "artifact_uri": f"/tmp/{run}",
                }
                for run, name, exp, parent, user, status, start, end, stage in RUNS
            ],
        )
        conn.execute(
            sa.insert(t.latest_metrics),
            [
                {
                    "run_uuid": run,
                    "key": key,
                    "value": 0.0 if math.isnan(value) else value,
                    "is_nan": math.isnan(value),
                    "timestamp": 0,
                    "step": 0,
                }
                for run, key, value in METRICS
            ],
        )
        conn.execute(
            sa.insert(t.params), [{"run_uuid": r, "key": k, "value": v} for r, k, v in PARAMS]
        )
        conn.execute(sa.insert(t.tags), [{"run_uuid": r, "key": k, "value": v} for r, k, v in TAGS])
    yield engine
    engine.dispose()


def search(
    engine: sa.Engine,
    text: str | None,
    order_by: list[str] | None = None,
    *,
    experiments: tuple[int, ...] = (1,),
    view: str = "active",
    limit: int = 100,
    offset: int = 0,
) -> list[str]:
    query = search_query(
        experiments,
        parse_filter(text),
        parse_order_by(order_by),
        view=view,  # type: ignore[arg-type]
        limit=limit,
        offset=offset,
    )
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, {"r1", "r2", "r3", "r4"}),
        ("metrics.auc > 0.85", {"r2", "r4"}),
        ("metrics.auc = 0.8", {"r1"}),
        ("metrics.auc != 0.8", {"r2", "r4"}),  # has the metric, a real value that differs
        ("metrics.auc <> 0.8", {"r2", "r4"}),
        ("metrics.auc <= 0.9", {"r1", "r4"}),
        ("metrics.auc < 0.9", {"r1"}),
        ("metrics.auc >= 0.9", {"r2", "r4"}),
        ("metrics.auc IN (0.8, 0.9)", {"r1", "r4"}),
        ("metrics.auc NOT IN (0.8)", {"r2", "r4"}),
        ("metrics.loss IS NULL", {"r3"}),
        ("metrics.loss IS NOT NULL", {"r1", "r2", "r4"}),  # a NaN value is still a value
        ("not metrics.loss < 1", {"r2", "r3"}),  # NOT is the complement
        ("params.lr = '0.1'", {"r1", "r3"}),
        ("params.lr != '0.1'", {"r2"}),  # r4 has no lr
        ("params.lr > '0.05'", {"r1", "r3"}),
        ("params.max_depth IS NULL", {"r3", "r4"}),
        ("params.max_depth IN ('6', '7')", {"r2"}),
        ("params.max_depth NOT IN ('6')", {"r1"}),
        ("tags.env LIKE 'prod%'", {"r1", "r4"}),
        ("tags.env LIKE 'Prod%'", {"r2"}),  # LIKE is case-sensitive on SQLite too
        ("tags.env LIKE 'PROD%'", set()),
        ("tags.env ILIKE 'prod%'", {"r1", "r2", "r4"}),
        ("tags.env ILIKE 'PROD-_'", {"r1", "r2"}),
        ("tags.env NOT LIKE 'prod%'", {"r2", "r3"}),
        ("tags.env NOT ILIKE 'prod%'", {"r3"}),
        ("tags.env LIKE 'prod_1'", {"r1"}),
        ("tags.env LIKE 'prod\\%%'", {"r4"}),  # an escaped % is literal
        ("tags.pattern LIKE 'a*b?[c]'", {"r3"}),  # GLOB's own wildcards stay literal
        ("tags.pattern LIKE 'a*b%'", {"r3"}),
        ("tags.pattern LIKE 'aXb%'", set()),
        ("tags.pattern LIKE '%[c]'", {"r3"}),
        ("tags.`my tag` = 'a'", {"r1"}),
        ("tags.\"my tag\" = 'a'", {"r1"}),
        ("attributes.status IN ('FINISHED', 'FAILED')", {"r1", "r2", "r4"}),
        ("status != 'FINISHED'", {"r2", "r3"}),
        ("attributes.status NOT IN ('FINISHED')", {"r2", "r3"}),
        ("run_name ILIKE '%baseline%'", {"r1", "r2"}),
        ("run_name LIKE 'baseline%'", {"r1"}),
        ("attributes.end_time IS NULL", {"r2", "r3"}),
        ("attributes.end_time IS NOT NULL", {"r1", "r4"}),
        ("not attributes.end_time > 3000", {"r1", "r2", "r3"}),
        ("attributes.end_time != 2000", {"r4"}),
        ("attributes.start_time >= 2000 and attributes.start_time < 4000", {"r2", "r3"}),
        ("parent_run_id = 'r1'", {"r2"}),
        ("not parent_run_id = 'r1'", {"r1", "r3", "r4"}),
        ("run_id = 'r3'", {"r3"}),
        ("attributes.run_id IN ('r3', 'r5', 'r6')", {"r3"}),
        ("experiment_id = 1", {"r1", "r2", "r3", "r4"}),
        ("experiment_id = 2", set()),
        ("user_id = 'alice' or tags.owner = 'carol'", {"r1", "r3", "r4"}),
        ("(metrics.auc < 0.85 or metrics.auc > 0.92) and not tags.env = 'prod-1'", {"r2"}),
        ("not tags.env = 'prod-1'", {"r2", "r3", "r4"}),
        ("not (tags.owner = 'alice' or metrics.auc > 0.9)", {"r3", "r4"}),
        ("tags.owner IS NULL and params.lr IS NOT NULL", {"r2", "r3"}),
        ("lifecycle_stage = 'active'", {"r1", "r2", "r3", "r4"}),
    ],
)
def test_filter_selects_exactly(engine: sa.Engine, text: str | None, expected: set[str]) -> None:
    assert set(search(engine, text)) == expected


def test_injection_values_are_only_strings(engine: sa.Engine) -> None:
    quoted = INJECTION.replace("'", "''")
    assert search(engine, f"params.lr = '{quoted}'") == []
    assert search(engine, f"params.note = '{quoted}'") == ["r4"]
    assert search(engine, f"run_name = '{quoted}'") == []
    assert search(engine, f"tags.`{INJECTION}` IS NULL") == ["r4", "r3", "r2", "r1"]
    assert search(engine, "tags.env = '; DROP TABLE runs; --'") == []
    assert len(search(engine, None)) == 4  # the table is still there


def test_statement_cache_does_not_mix_like_patterns(engine: sa.Engine) -> None:
    # Same statement shape, different patterns: the cached SQL must take the new binds.
    assert search(engine, "tags.env LIKE 'prod%'") == ["r4", "r1"]
    assert search(engine, "tags.env LIKE 'Prod%'") == ["r2"]
    assert search(engine, "tags.env LIKE 'staging'") == ["r3"]


def test_views_and_experiments(engine: sa.Engine) -> None:
    assert search(engine, None, view="deleted") == ["r5"]
    assert search(engine, None, view="all") == ["r5", "r4", "r3", "r2", "r1"]
    assert search(engine, "metrics.auc > 0.96", experiments=(1, 2), view="all") == ["r6", "r5"]
    assert search(engine, None, experiments=()) == []
    with pytest.raises(InvalidArgument) as caught:
        search(engine, None, view="archived")
    assert caught.value.field == "view"
    with pytest.raises(InvalidArgument):
        search(engine, None, limit=-1)
    with pytest.raises(InvalidArgument):
        search(engine, None, offset=-1)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ([], ["r4", "r3", "r2", "r1"]),  # start_time DESC by default
        (["metrics.auc DESC"], ["r2", "r4", "r1", "r3"]),  # NaN after real numbers
        (["metrics.auc ASC"], ["r1", "r4", "r2", "r3"]),
        (["metrics.loss"], ["r4", "r1", "r2", "r3"]),  # then NaN, then missing
        (["metrics.loss DESC"], ["r1", "r4", "r2", "r3"]),
        (["params.max_depth DESC"], ["r1", "r2", "r4", "r3"]),  # missing last, by start DESC
        (["params.max_depth ASC"], ["r2", "r1", "r4", "r3"]),
        (["tags.owner"], ["r1", "r4", "r3", "r2"]),
        (["attributes.end_time ASC"], ["r1", "r4", "r3", "r2"]),  # NULL last both ways
        (["attributes.end_time DESC"], ["r4", "r1", "r3", "r2"]),
        (["attributes.start_time"], ["r1", "r2", "r3", "r4"]),
        (["user_id", "run_name DESC"], ["r3", "r1", "r2", "r4"]),
        (["params.lr DESC", "metrics.auc DESC"], ["r1", "r3", "r2", "r4"]),
        (["`tags.my tag` desc"], ["r1", "r4", "r3", "r2"]),
    ],
)
def test_order_by(engine: sa.Engine, order_by: list[str], expected: list[str]) -> None:
    assert search(engine, None, order_by) == expected


def test_pages_partition_the_results(engine: sa.Engine) -> None:
    order = ["metrics.loss DESC"]
    everything = search(engine, None, order)
    pages = [search(engine, None, order, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert pages == [everything[:2], everything[2:4], []]


def test_like_to_glob() -> None:
    assert like_to_glob("a%b_c") == "a*b?c"
    assert like_to_glob("*?[") == "[*][?][[]"
    assert like_to_glob("100\\%\\_\\\\") == "100%_\\"
    assert like_to_glob("x\\") == "x\\"


def test_postgresql_compiles_with_bound_parameters_only() -> None:
    quoted = INJECTION.replace("'", "''")
    expr = parse_filter(
        "metrics.auc > 0.987 and tags.env LIKE 'Prod%' and run_name ILIKE '%base%' "
        f"and params.lr IN ('0.333', '{quoted}') and status = 'FAILED'"
    )
    query = search_query(
        [7], expr, parse_order_by(["metrics.auc DESC"]), view="active", limit=10, offset=20
    )
    compiled = query.compile(dialect=postgresql.dialect())
    sql = str(compiled)
    for literal in ("0.987", "Prod%", "%base%", "0.333", "1'='1", "FAILED", "active", "auc"):
        assert literal not in sql
    values = [
        v
        for value in compiled.params.values()
        for v in (value if isinstance(value, list) else [value])
    ]
    for value in (0.987, "Prod%", "%base%", "0.333", INJECTION, "FAILED", "active", "auc"):
        assert value in values
    assert " LIKE " in sql and "ESCAPE" in sql and "ILIKE" in sql and "GLOB" not in sql
    on_sqlite = str(query.compile(dialect=sqlite.dialect()))
    assert " GLOB " in on_sqlite and "Prod%" not in on_sqlite
