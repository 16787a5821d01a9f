"""``modelyard pipelines`` as a person types it: run a script's pipeline with parameters, see
it fail with exit 1, list runs and pipelines, read the logs with the traceback, retry from the
stored code (reusing what completed), clear the cache; bad input answers with the field."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

FLOW = """
import modelyard as yard

@yard.step(cache=True)
def load(n: int) -> list:
    print("loading", n)
    return list(range(n))

@yard.step
def total(xs: list) -> int:
    return sum(xs)

@yard.step
def check(x: int, path: str) -> int:
    from pathlib import Path
    if not Path(path).exists():
        raise RuntimeError(f"no flag at {path}")
    return x

@yard.pipeline
def flow(n: int = 5, flag: str = ""):
    t = total(load(n))
    return check(t, flag) if flag else t

if __name__ == "__main__":
    raise SystemExit("this script is only imported by the tests")
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelyard", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_fail_logs_retry_and_clear_through_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    done = _cli("pipelines", "run", "flow.py:flow", "-p", "n=7", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["run"]["status"] == "COMPLETED"
    assert report["run"]["params"] == {"n": 7, "flag": ""}
    assert [s["key"] for s in report["steps"]] == ["load", "total"]

    flag = tmp_path / "flag"
    failed = _cli(
        "pipelines", "run", "flow.py:flow", "-p", "n=7", "-p", f"flag={flag}", cwd=tmp_path
    )
    assert failed.returncode == 1
    assert "no flag at" in failed.stdout
    runs = json.loads(_cli("pipelines", "runs", "flow", "--json", cwd=tmp_path).stdout)
    assert [r["status"] for r in runs] == ["FAILED", "COMPLETED"]
    run_id = runs[0]["run_id"]

    logs = _cli("pipelines", "logs", run_id, "--step", "check", cwd=tmp_path)
    assert logs.returncode == 0
    assert "RuntimeError: no flag at" in logs.stdout and "Traceback" in logs.stdout

    flag.touch()
    retried = _cli("pipelines", "retry", run_id, "--json", cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr + retried.stdout
    steps = {s["key"]: s for s in json.loads(retried.stdout)["steps"]}
    assert steps["load"]["status"] == "CACHED" and steps["total"]["status"] == "CACHED"
    assert steps["check"]["status"] == "COMPLETED"

    shown = json.loads(_cli("pipelines", "show", run_id, "--json", cwd=tmp_path).stdout)
    assert shown["run"]["status"] == "FAILED"
    listed = json.loads(_cli("pipelines", "list", "--json", cwd=tmp_path).stdout)
    assert listed[0]["name"] == "flow" and listed[0]["entrypoint"].endswith("flow.py:flow")
    cleared = _cli("pipelines", "cache", "clear", "--step", "load", cwd=tmp_path)
    assert "cleared 1 cache entry" in cleared.stdout


def test_bad_input_is_refused_with_the_field_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(textwrap.dedent(FLOW))
    cases = [
        (["pipelines", "run", "flow.py"], "must look like path/to/file.py:pipeline"),
        (["pipelines", "run", "missing.py:flow"], "no file 'missing.py'"),
        (["pipelines", "run", "flow.py:total"], "is not a pipeline"),
        (["pipelines", "run", "flow.py:flow", "-p", "m=1"], "unexpected keyword argument 'm'"),
        (["pipelines", "run", "flow.py:flow", "-p", "n"], "must look like key=value"),
        (["pipelines", "run", "flow.py:flow", "-p", "n=five"], "'n' must be an integer"),
        (["pipelines", "run", "flow.py:flow", "--executor", "spark"], "executor must be one of"),
        (["pipelines", "show", "nope"], "no pipeline run 'nope'"),
        (["pipelines", "cancel", "nope"], "no pipeline run 'nope'"),
        (["pipelines", "runs", "--status", "DONE"], "status must be one of"),
    ]
    for args, message in cases:
        done = _cli(*args, cwd=tmp_path)
        assert done.returncode in (2, 3), (args, done.returncode, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_stored_entrypoint_outside_the_folder_is_not_imported(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "flow.py").write_text(textwrap.dedent(FLOW))
    flag = project / "no-flag"
    failed = _cli("pipelines", "run", "flow.py:flow", "-p", f"flag={flag}", cwd=project)
    assert failed.returncode == 1
    run_id = json.loads(_cli("pipelines", "runs", "--json", cwd=project).stdout)[0]["run_id"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    store = project / "modelyard-data"
    done = _cli("pipelines", "retry", run_id, "--tracking-uri", str(store), cwd=elsewhere)
    assert done.returncode == 2
    assert "outside this folder" in done.stderr and "--from" in done.stderr
