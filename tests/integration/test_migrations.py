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

import modelyard.auth.tables
import modelyard.data.tables
import modelyard.monitoring.tables
import modelyard.pipelines.tables
import modelyard.registry.tables
import modelyard.store.audit
import modelyard.tracking.tables  # noqa: F401
from modelyard.store.database import Database
from modelyard.store.metadata import metadata
from modelyard.store.migrate import current_revision, head_revision, upgrade


def test_exactly_one_head() -> None:
    assert head_revision() == "0010_pipelines"


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


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_versions_registered_before_seals_are_sealed_by_the_migration(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from alembic import command

    from modelyard.store.migrate import alembic_config

    url = (
        f"sqlite:///{tmp_path}/s.db"
        if backend == "sqlite"
        else request.getfixturevalue("pg_store_url")
    )
    db = Database(url)
    db.run_write(lambda conn: command.upgrade(alembic_config(conn), "0006_monitors"))
    run = "ab" * 16

    def old_rows(conn: sa.Connection) -> None:
        conn.exec_driver_sql(
            "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, "
            "creation_time, last_update_time) VALUES (0, 'Default', 'file:///x', 'active', 0, 0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, "
            "artifact_uri, lifecycle_stage) "
            f"VALUES ('{run}', 0, 'r', 'u', 'FINISHED', 0, 'file:///x/{run}', 'active')"
        )
        conn.exec_driver_sql(
            "INSERT INTO registered_models (model_id, name, name_key, last_version, "
            "created_time, updated_time) VALUES ('m1', 'churn', 'churn', 2, 0, 0)"
        )
        for n, source in ((1, f"runs:/{run}/model"), (2, "/an/old/path/source")):
            conn.exec_driver_sql(
                "INSERT INTO model_versions (version_id, model_id, version, source, run_id, "
                f"status, created_time, updated_time) VALUES ('v{n}', 'm1', {n}, '{source}', "
                f"{'NULL' if n == 2 else repr(run)}, 'READY', 0, 0)"
            )

    db.run_write(old_rows)
    upgrade(db)
    with db.read() as conn:
        sealed = conn.exec_driver_sql("SELECT run_uuid, prefix FROM run_artifact_seals").all()
    assert [tuple(r) for r in sealed] == [(run, "model")]
    db.dispose()
