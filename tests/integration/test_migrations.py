"""Migrations: one head, the migrated schema equals the declared tables, racing first use."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import modelyard.data.tables
import modelyard.monitoring.tables
import modelyard.registry.tables
import modelyard.store.audit
import modelyard.tracking.tables  # noqa: F401
from modelyard.store.database import Database
from modelyard.store.metadata import metadata
from modelyard.store.migrate import current_revision, head_revision, upgrade


def test_exactly_one_head() -> None:
    assert head_revision() == "0006_monitors"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrated_schema_matches_the_tables(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path}/m.db"
        if backend == "sqlite"
        else request.getfixturevalue("pg_store_url")
    )
    db = Database(url)
    upgrade(db)
    assert current_revision(db) == head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == [], diff
    upgrade(db)  # a second upgrade is a no-op
    db.dispose()


RACER = textwrap.dedent("""
    import sys
    from modelyard import Client
    c = Client(sys.argv[1])
    c.create_run("0")
    c.close()
""")


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_processes_racing_to_create_the_schema(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path}/race.db"
        if backend == "sqlite"
        else request.getfixturevalue("pg_store_url")
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, url],
            stderr=subprocess.PIPE,
            env={
                "MODELYARD_ARTIFACTS_URI": (tmp_path / "a").as_uri(),
                "PATH": "/usr/bin:/bin",
                "HOME": str(tmp_path),
            },
        )
        for _ in range(4)
    ]
    errs = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errs
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from runs")).scalar() == 4
        assert conn.execute(sa.text("select count(*) from experiments")).scalar() == 1
    engine.dispose()


def test_planner_statistics_follow_a_bulk_load(
    pg_store_url: str, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without fresh statistics PostgreSQL plans a 100,000-run search as nested loops (900 ms
    instead of 50 ms); the store refreshes them as the runs it writes double."""
    from modelyard import Client, Metric

    monkeypatch.setenv("MODELYARD_ARTIFACTS_URI", (tmp_path / "a").as_uri())
    with Client(pg_store_url) as client:
        for i in range(1_000):
            rid = client.create_run("0").info.run_id
            client.log_batch(rid, metrics=[Metric("m", float(i), 1, 0)])
        client.flush()
    schema = pg_store_url.rsplit("%3D", 1)[1]
    engine = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        analyzed = (
            conn.execute(
                sa.text(
                    "select relname from pg_stat_user_tables where schemaname = :s "
                    "and last_analyze is not null"
                ),
                {"s": schema},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert {"runs", "latest_metrics", "params", "tags"} <= set(analyzed)
