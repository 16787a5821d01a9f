"""Migration 0008 on a store that holds data: every existing object lands in ``default``, the
people behind approvals are filled in, and the audit chain written before still verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from modelyard.store import audit
from modelyard.store.audit import GENESIS, AuditEvent, entry_hash
from modelyard.store.database import Database
from modelyard.store.migrate import alembic_config, current_revision, head_revision, upgrade

ROOTS = (
    "experiments",
    "datasets",
    "registered_models",
    "deployments",
    "monitors",
    "prediction_files",
    "prediction_labels",
)


def _old_store(url: str) -> Database:
    db = Database(url)
    db.run_write(lambda conn: command.upgrade(alembic_config(conn), "0007_artifact_seals"))
    db.run_write(_old_rows)
    return db


def _old_rows(conn: sa.Connection) -> None:
    sql = conn.exec_driver_sql
    sql(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, "
        "creation_time, last_update_time) VALUES (0, 'Default', 'file:///x', 'active', 0, 0)"
    )
    sql(
        "INSERT INTO registered_models (model_id, name, name_key, last_version, "
        "created_time, updated_time) VALUES ('m1', 'churn', 'churn', 1, 0, 0)"
    )
    sql(
        "INSERT INTO model_versions (version_id, model_id, version, source, status, "
        "created_time, updated_time) VALUES ('v1', 'm1', 1, 'file:///src', 'READY', 0, 0)"
    )
    sql(
        "INSERT INTO datasets (dataset_id, name, name_key, kind, created_time, last_version) "
        "VALUES ('d1', 'ds', 'ds', 'table', 0, 1)"
    )
    manifest = '[{"path": "a.parquet", "sha256": "' + "ab" * 32 + '", "size": 3}]'
    conn.execute(
        sa.text(
            "INSERT INTO dataset_versions (version_id, dataset_id, version, digest, format, "
            "num_bytes, num_files, manifest, tags, created_time) VALUES ('dv1', 'd1', 1, "
            ":digest, 'parquet', 3, 1, :manifest, '{}', 0)"
        ),
        {"digest": "cd" * 32, "manifest": manifest},
    )
    sql(
        "INSERT INTO approval_requests (request_id, model_id, version_id, alias, status, "
        "requested_by, requested_time) VALUES ('r1', 'm1', 'v1', 'production', 'PENDING', "
        "'alice', 5)"
    )
    sql(
        "INSERT INTO approval_votes (request_id, actor, decision, time) "
        "VALUES ('r1', 'carol', 'APPROVE', 6)"
    )
    sql(
        "INSERT INTO alias_policies (model_key, alias, require_approval, approver_role, "
        "min_approvals, allow_self_approval, required_gates, updated_by, updated_time) "
        "VALUES ('*', 'production', true, 'approver', 1, false, '[]', 'root', 0)"
    )
    prev = GENESIS
    for seq, action in enumerate(("model.create", "version.create", "approval.request"), 1):
        row: dict[str, Any] = {
            "seq": seq,
            "time": seq * 1000,
            "actor": "alice",
            "action": action,
            "object_type": "model",
            "object_id": "churn",
            "before": None,
            "after": f'{{"n": {seq}}}',
        }
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(row, prev)
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (seq, time, actor, action, object_type, object_id, "
                "before, after, prev_hash, hash) VALUES (:seq, :time, :actor, :action, "
                ":object_type, :object_id, :before, :after, :prev_hash, :hash)"
            ),
            row,
        )
    conn.execute(
        sa.text("UPDATE audit_head SET last_seq = 3, last_hash = :h WHERE id = 1"), {"h": prev}
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_existing_data_lands_in_the_default_project(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path}/old.db"
        if backend == "sqlite"
        else request.getfixturevalue("pg_store_url")
    )
    db = _old_store(url)
    upgrade(db)
    assert current_revision(db) == head_revision()
    upgrade(db)  # twice: a no-op
    with db.read() as conn:
        one = conn.exec_driver_sql
        assert [tuple(r) for r in one("SELECT project, created_by FROM projects").all()] == [
            ("default", "migration")
        ]
        assert one("SELECT n FROM grants_version WHERE id = 1").scalar() == 0
        assert one("SELECT project FROM experiments").scalar() == "default"
        assert one("SELECT project FROM registered_models").scalar() == "default"
        assert one("SELECT requested_by_person FROM approval_requests").scalar() == "alice"
        assert one("SELECT person FROM approval_votes").scalar() == "carol"
        assert [tuple(r) for r in one("SELECT project, model_key, alias FROM alias_policies")] == [
            ("default", "*", "production")
        ]
        assert one("SELECT count(*) FROM audit_log WHERE project IS NULL").scalar() == 3
        assert [tuple(r) for r in one("SELECT sha256, project FROM blob_holders")] == [
            ("ab" * 32, "default")
        ]
    # a new object of the same table lands in default when nothing is said
    db.run_write(
        lambda conn: conn.exec_driver_sql(
            "INSERT INTO registered_models (model_id, name, name_key, last_version, "
            "created_time, updated_time) VALUES ('m2', 'fraud', 'fraud', 0, 0, 0)"
        )
    )
    with db.read() as conn:
        assert (
            conn.exec_driver_sql(
                "SELECT project FROM registered_models WHERE model_id = 'm2'"
            ).scalar()
            == "default"
        )
    # the chain written before the migration still verifies, and goes on with projects
    check = audit.verify(db)
    assert check.ok and check.entries == 3, check.problems
    db.run_write(
        lambda conn: audit.record(
            conn,
            [AuditEvent("model.create", "model", "fraud", after={"n": 4}, project="fraud-team")],
            time_ms=4000,
        )
    )
    entries = audit.query(db, projects={"fraud-team"})
    assert [(e.seq, e.project) for e in entries] == [(4, "fraud-team")]
    check = audit.verify(db)
    assert check.ok and check.entries == 4, check.problems
    # the project is covered by the hash: moving an entry to another project is tampering
    db.run_write(
        lambda conn: conn.exec_driver_sql("UPDATE audit_log SET project = 'default' WHERE seq = 4")
    )
    check = audit.verify(db)
    assert not check.ok
    assert any("entry 4" in p for p in check.problems), check.problems
    # and so is giving an old entry a project it did not have
    db.run_write(
        lambda conn: conn.exec_driver_sql(
            "UPDATE audit_log SET project = 'fraud-team' WHERE seq = 4"
        )
    )
    assert audit.verify(db).ok
    db.run_write(
        lambda conn: conn.exec_driver_sql("UPDATE audit_log SET project = 'default' WHERE seq = 2")
    )
    check = audit.verify(db)
    assert any("entry 2" in p for p in check.problems), check.problems
    db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_downgrade_returns_to_the_schema_before(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path}/down.db"
        if backend == "sqlite"
        else request.getfixturevalue("pg_store_url")
    )
    db = _old_store(url)
    upgrade(db)
    db.run_write(lambda conn: command.downgrade(alembic_config(conn), "0007_artifact_seals"))
    with db.read() as conn:
        names = set(sa.inspect(conn).get_table_names())
        columns = {c["name"] for c in sa.inspect(conn).get_columns("experiments")}
        keys = sa.inspect(conn).get_pk_constraint("alias_policies")["constrained_columns"]
    assert "principals" not in names and "projects" not in names
    assert "blob_holders" not in names
    assert "project" not in columns
    assert keys == ["model_key", "alias"]
    upgrade(db)  # and up again
    assert current_revision(db) == head_revision()
    db.dispose()
