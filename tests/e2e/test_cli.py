"""The command line as a user runs it: real processes, exit codes that mean something."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.fixtures.stores import ServerThread

import modelyard as yard
from modelyard import Client, Metric
from modelyard.store.migrate import head_revision


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    full_env["MODELYARD_SPOOL_DIR"] = str(cwd / "spool")
    full_env["COLUMNS"] = "200"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


def _seed(uri: str) -> tuple[str, list[str]]:
    with Client(uri) as c:
        eid = c.create_experiment("churn")
        ids = []
        for i in range(3):
            rid = c.create_run(eid, run_name=f"run-{i}").info.run_id
            c.log_batch(rid, metrics=[Metric("auc", 0.8 + i / 10, 1, 0)], params={"i": str(i)})
            c.set_terminated(rid)
            ids.append(rid)
    return eid, ids


def test_experiments_and_runs_commands(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.db"
    eid, ids = _seed(store)
    out = cli("experiments", "list", "--json", "-t", store, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert [e["name"] for e in json.loads(out.stdout)] == ["Default", "churn"]
    out = cli(
        "runs",
        "list",
        "-e",
        "churn",
        "-f",
        "metrics.auc > 0.85",
        "-o",
        "metrics.auc DESC",
        "--json",
        "-t",
        store,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert [r["info"]["run_id"] for r in json.loads(out.stdout)] == [ids[2], ids[1]]
    table = cli("runs", "list", "-e", eid, "-t", store, cwd=tmp_path)
    assert "run-0" in table.stdout and "auc" in table.stdout
    shown = cli("runs", "show", ids[0], "-t", store, cwd=tmp_path)
    assert shown.returncode == 0 and "FINISHED" in shown.stdout


def test_exit_codes_and_messages(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.db"
    _seed(store)
    missing = cli("runs", "show", "0" * 32, "-t", store, cwd=tmp_path)
    assert missing.returncode == 3 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr and missing.stdout == ""
    bad = cli("runs", "list", "-e", "churn", "-f", "metrics.auc >> 1", "-t", store, cwd=tmp_path)
    assert bad.returncode == 2 and "position 13" in bad.stderr and "^" in bad.stderr
    dup = cli("experiments", "create", "churn", "-t", store, cwd=tmp_path)
    assert dup.returncode == 4 and "already exists" in dup.stderr
    usage = cli("runs", "list", cwd=tmp_path)
    assert usage.returncode == 2 and "--experiment" in usage.stderr
    bad_uri = cli("experiments", "list", "-t", "ftp://nowhere", cwd=tmp_path)
    assert bad_uri.returncode == 2 and "unsupported tracking URI" in bad_uri.stderr


def test_artifact_commands(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.db"
    _, ids = _seed(store)
    src = tmp_path / "model"
    (src / "sub").mkdir(parents=True)
    (src / "weights.bin").write_bytes(os.urandom(100_000))
    (src / "sub" / "card.md").write_text("# card")
    up = cli(
        "artifacts", "upload", ids[0], str(src), "-a", "model", "--json", "-t", store, cwd=tmp_path
    )
    assert up.returncode == 0, up.stderr
    assert sorted(f["path"] for f in json.loads(up.stdout)) == [
        "model/sub/card.md",
        "model/weights.bin",
    ]
    listed = cli("artifacts", "list", ids[0], "model", "--json", "-t", store, cwd=tmp_path)
    assert [f["path"] for f in json.loads(listed.stdout)] == ["model/sub", "model/weights.bin"]
    down = cli(
        "artifacts",
        "download",
        ids[0],
        "model",
        "--dst",
        str(tmp_path / "out"),
        "-t",
        store,
        cwd=tmp_path,
    )
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "out" / "model" / "weights.bin").read_bytes() == (
        src / "weights.bin"
    ).read_bytes()
    (src / "evil").symlink_to("/etc/passwd")
    refused = cli("artifacts", "upload", ids[0], str(src), "-t", store, cwd=tmp_path)
    assert refused.returncode == 2 and "symbolic link" in refused.stderr


def test_cli_through_the_server(
    tmp_path: Path, server_factory: Callable[..., ServerThread]
) -> None:
    srv = server_factory()
    _, _ids = _seed(srv.url)
    out = cli("runs", "list", "-e", "churn", "--json", "-t", srv.url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 3


def test_db_commands_and_version(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/db.db"
    up = cli("db", "upgrade", "--store", store, cwd=tmp_path)
    assert up.returncode == 0 and head_revision() in up.stdout
    cur = cli("db", "current", "--store", store, cwd=tmp_path)
    assert f"store: {head_revision()}" in cur.stdout
    assert cli("version", cwd=tmp_path).stdout.strip()
    helped = cli("--help", cwd=tmp_path)
    assert helped.returncode == 0
    for group in (
        "experiments",
        "runs",
        "artifacts",
        "datasets",
        "lineage",
        "server",
        "db",
        "demo",
        "sync",
    ):
        assert group in helped.stdout


@pytest.mark.slow
def test_demo_runs_on_the_embedded_default(tmp_path: Path) -> None:
    out = cli("demo", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Candidates, best first" in out.stdout
    assert (tmp_path / "modelyard-data" / "modelyard.db").exists()
    with Client(str(tmp_path / "modelyard-data")) as c:
        exp = c.get_experiment_by_name("modelyard-demo")
        assert exp is not None
        runs = c.search_all_runs([exp.experiment_id])
        assert len(runs) == 6  # the sweep and its five candidates
        child = next(r for r in runs if r.info.parent_run_id)
        assert {"auc", "f1", "fold_auc"} <= set(child.data.metrics)
        names = {a.path for a in c.list_artifacts(child.info.run_id)}
        assert {"confusion.png", "metrics.json", "predictions.parquet"} <= names
    with yard.Client(str(tmp_path / "modelyard-data")) as c:
        production = c.get_version("demo-breast-cancer", alias="production")
        assert production.version == 1 and production.run_id is not None
        event = c.get_alias_history("demo-breast-cancer", "production")[-1]
        assert event.actor == "demo-reviewer"  # promoted through another user's approval
        assert c.verify_audit().ok
    assert "chain intact" in out.stdout
