"""``platform.resets.reset()`` forgets everything the process holds, in one call, and the
test fixture that calls it still fails a test that leaves a run active."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import modelyard as yard
from modelyard.platform import backends, current, resets
from modelyard.tracking import fluent, writer


def test_reset_ends_runs_and_forgets_the_uri_experiment_writers_and_backends(
    tmp_path: Path,
) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    yard.set_tracking_uri(uri)
    yard.set_experiment("exp")
    run = yard.start_run()
    yard.flush()  # the run's row is stored before another client writes to it
    yard.log_metric("m", 1.0)
    yard.Client(uri).log_param(run.info.run_id, "p", 1)  # a second writer, still queued
    assert writer._open_writers and backends.open_backends()

    resets.reset()

    assert yard.active_run() is None and yard.last_active_run() is None
    assert current.chosen_uri() is None and fluent._g.experiment_id is None
    assert not writer._open_writers and not backends.open_backends()
    stored = yard.Client(uri).get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.metrics == {"m": 1.0} and stored.data.params == {"p": "1"}


def test_every_step_runs_and_the_first_error_is_raised_after_the_last(tmp_path: Path) -> None:
    calls: list[str] = []

    def first() -> None:
        calls.append("first")

    def failing() -> None:
        calls.append("failing")
        raise RuntimeError("boom")

    yard.set_tracking_uri(f"sqlite:///{tmp_path}/yard.db")
    resets.on_reset(first)
    resets.on_reset(failing)
    resets.on_reset(failing)  # once, however often registered
    try:
        with pytest.raises(RuntimeError, match="boom"):
            resets.reset()
        assert calls == ["failing", "first"]  # the last registered first
        assert current.chosen_uri() is None  # the platform's own steps ran after the error
    finally:
        resets._hooks.remove(first)
        resets._hooks.remove(failing)


def test_the_fixture_fails_a_test_that_leaves_a_run_active(tmp_path: Path) -> None:
    root = Path(__file__).parents[2]
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.fixtures.stores"]\n')
    (tmp_path / "test_leak.py").write_text(
        "import modelyard as yard\n\n\ndef test_leaves_a_run_active():\n    yard.start_run()\n"
    )
    path = os.pathsep.join([str(root), str(root / "src"), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_leak.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed, 1 error" in done.stdout, done.stdout
    assert "the test left run" in done.stdout, done.stdout
