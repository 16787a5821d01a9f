"""Pipelines as a user runs them: results, parallel branches, failures that skip only what
depends on them, retries, timeouts, child processes, logs, cancel and the records left in the
store (every run and step a tracked run). Each run is made twice where a second call could
behave differently."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

import modelyard as yard
from modelyard.errors import InvalidArgument
from modelyard.pipelines import PipelineFailed, PipelinesClient


@yard.step
def double(x: int) -> int:
    return 2 * x


@yard.step
def total(values: list[int]) -> int:
    return sum(values)


@yard.pipeline
def fan(n: int = 5) -> int:
    return total([double(i) for i in range(n)])


def test_a_pipeline_runs_its_steps_and_records_them_twice() -> None:
    for _ in range(2):
        run = fan.run(n=5)
        assert run.status == "COMPLETED"
        assert run.result() == 20
        keys = [s.key for s in run.steps]
        assert keys == ["double", *[f"double-{i}" for i in range(2, 6)], "total"]
        assert all(s.status == "COMPLETED" and s.attempts == 1 for s in run.steps)
        assert run.step("total").upstream == tuple(keys[:5])
    runs = PipelinesClient().runs("fan")
    assert [r.status for r in runs] == ["COMPLETED", "COMPLETED"]
    assert runs[0].params == {"n": 5}


def test_each_step_is_a_tracked_run_nested_in_the_pipelines_run() -> None:
    run = fan.run(n=3)
    yard.flush()
    parent = yard.get_run(run.tracked_run_id)
    assert parent.data.params == {"n": "3"}
    assert parent.info.status == "FINISHED"
    children = yard.search_runs(
        experiment_names=["pipelines/fan"],
        filter_string=f"tags.modelyard.pipeline_run = '{run.run_id}'",
        output_format="list",
    )
    steps = [r for r in children if r.info.parent_run_id == run.tracked_run_id]
    assert sorted(r.info.run_name for r in steps) == sorted(s.key for s in run.steps)
    assert {r.info.status for r in steps} == {"FINISHED"}


@yard.step
def meet(barrier: threading.Barrier, i: int) -> int:
    barrier.wait()  # times out (and fails) unless every branch runs at once
    return i


@yard.pipeline
def parallel(barrier: threading.Barrier) -> list[int]:
    return [meet(barrier, i) for i in range(4)]


def test_independent_steps_run_in_parallel() -> None:
    run = parallel.run(barrier=threading.Barrier(4, timeout=10), cache=False)
    assert run.result() == [0, 1, 2, 3], run.error


@yard.step
def fails(x: int) -> int:
    raise ValueError(f"bad input {x}")


@yard.step
def after(x: int) -> int:
    return x + 1


@yard.pipeline
def branches() -> tuple[int, int]:
    broken = after(fails(1))
    fine = after(double(3))
    return broken, fine


def test_a_failing_step_skips_what_depends_on_it_and_fails_the_run() -> None:
    for _ in range(2):
        run = branches.run()
        assert run.status == "FAILED"
        by_key = {s.key: s for s in run.steps}
        assert by_key["fails"].status == "FAILED"
        assert "ValueError: bad input 1" in (by_key["fails"].error or "")
        assert "raise ValueError" in (by_key["fails"].error or "")  # the traceback is kept
        assert by_key["after"].status == "SKIPPED"
        assert by_key["after-2"].status == "COMPLETED"  # the other branch went on
        assert "bad input 1" in (run.error or "")
        with pytest.raises(PipelineFailed, match="bad input 1"):
            run.result()


def _counter(path: Path) -> int:
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


@yard.step(retries=2, retry_delay=0.01)
def flaky(path: str) -> str:
    n = _counter(Path(path))
    print(f"attempt {n}")
    if n < 3:
        raise ConnectionError("the source is away")
    return "ok"


@yard.pipeline
def with_retries(path: str) -> str:
    return flaky(path)


def test_retries_run_a_step_again_until_it_succeeds(tmp_path: Path) -> None:
    run = with_retries.run(path=str(tmp_path / "n"), cache=False)
    assert run.result() == "ok"
    record = run.step("flaky")
    assert record.attempts == 3
    assert "attempt 1" in record.logs and "attempt 3" in record.logs
    assert record.logs.count("ConnectionError: the source is away") == 2


@yard.step(timeout=0.3)
def slow_thread() -> str:
    time.sleep(3)
    return "late"


@yard.step(timeout=0.5, process=True)
def slow_process() -> str:
    time.sleep(30)
    return "late"


@yard.pipeline
def too_slow(which: str) -> str:
    return slow_thread() if which == "thread" else slow_process()


@pytest.mark.parametrize("which", ["thread", "process"])
def test_a_step_past_its_timeout_fails(which: str) -> None:
    started = time.monotonic()
    run = too_slow.run(which=which, cache=False)
    assert run.status == "FAILED"
    assert "timed out after" in (run.steps[0].error or "")
    if which == "process":
        assert time.monotonic() - started < 10  # the child was killed, not waited for


@yard.step(process=True)
def pid() -> int:
    return os.getpid()


@yard.step(process=True, retries=1, retry_delay=0)
def dies_once(path: str) -> str:
    if _counter(Path(path)) == 1:
        os.kill(os.getpid(), 9)
    return "survived"


@yard.pipeline
def in_processes(path: str) -> tuple[int, str]:
    return pid(), dies_once(path)


def test_process_steps_run_in_children_and_a_killed_one_is_retried(tmp_path: Path) -> None:
    run = in_processes.run(path=str(tmp_path / "n"), cache=False)
    child, survived = run.result()
    assert child != os.getpid()
    assert survived == "survived"
    assert run.step("dies_once").attempts == 2
    assert "killed by signal 9" in run.step("dies_once").logs


@yard.step(process=True)
def dies() -> None:
    os.kill(os.getpid(), 9)


@yard.pipeline
def killed() -> None:
    dies()


def test_a_killed_worker_without_retries_fails_the_step_clearly() -> None:
    run = killed.run(cache=False)
    assert run.status == "FAILED"
    assert "was killed by signal 9" in (run.steps[0].error or "")


@yard.step
def chatty() -> int:
    print("to stdout")
    logging.getLogger("user.code").warning("a warning from logging")
    return 1


@yard.pipeline
def noisy() -> int:
    return chatty()


def test_what_a_step_prints_and_logs_is_kept_with_it() -> None:
    logging.basicConfig()
    run = noisy.run(cache=False)
    logs = PipelinesClient().logs(run.run_id)["chatty"]
    assert "to stdout" in logs
    assert "a warning from logging" in logs


@yard.step
def wait_for(event: threading.Event) -> str:
    event.wait(20)
    return "done"


@yard.pipeline
def long_one(event: threading.Event) -> str:
    first = wait_for(event)
    return after(first)


def test_a_run_cancelled_from_the_store_stops() -> None:
    event = threading.Event()
    run = long_one.run(event=event, wait=False, cache=False)
    deadline = time.monotonic() + 10
    while not run.steps and time.monotonic() < deadline:
        if PipelinesClient().runs("long_one")[0].status == "RUNNING":
            break
        time.sleep(0.05)
    PipelinesClient().cancel(run.run_id)
    time.sleep(1.5)  # the runner reads the request within a second
    event.set()
    run.wait(20)
    assert run.status == "CANCELLED"
    statuses = {s.key: s.status for s in run.steps}
    assert statuses.get("after") in ("CANCELLED", "SKIPPED")


@yard.pipeline
def calls_itself(n: int = 1) -> int:
    return calls_itself(n)  # type: ignore[no-any-return]


def test_a_pipeline_calling_itself_fails_with_the_cycle_named() -> None:
    run = calls_itself.run()
    assert run.status == "FAILED"
    assert "calls itself: calls_itself -> calls_itself" in (run.error or "")


def test_missing_and_unknown_parameters_are_refused_before_anything_is_recorded() -> None:
    with pytest.raises(InvalidArgument, match="missing a required argument: 'barrier'"):
        parallel.run()
    with pytest.raises(InvalidArgument, match="unexpected keyword argument 'm'"):
        fan.run(m=3)
    with pytest.raises(InvalidArgument, match="executor must be one of"):
        fan.run(executor="spark")
    assert PipelinesClient().runs("fan") == [] if _known("fan") else True


@yard.pipeline
def typed(
    n: int = 1, rate: float = 0.5, flag: bool = False, label: str = "x", free: object = None
) -> list[object]:
    return [n, rate, flag, label, free]


@pytest.mark.parametrize(
    ("params", "named", "want"),
    [
        ({"n": "abc"}, "n", "an integer"),
        ({"n": "3"}, "n", "an integer"),
        ({"rate": "fast"}, "rate", "a number"),
        ({"rate": ""}, "rate", "a number"),
        ({"flag": "yes"}, "flag", "true or false"),
        ({"flag": "true"}, "flag", "true or false"),
    ],
)
def test_text_for_a_number_or_flag_is_refused_naming_the_parameter(
    params: dict[str, object], named: str, want: str
) -> None:
    for _ in range(2):
        with pytest.raises(InvalidArgument, match=f"parameter '{named}' must be {want}") as err:
            typed.run(**params)
        assert err.value.field == f"params['{named}']"
    assert PipelinesClient().runs("typed") == [] if _known("typed") else True


def test_typed_parameters_of_the_right_kind_run() -> None:
    run = typed.run(n=3, rate=2, flag=True, label="7", free="anything")
    assert run.result() == [3, 2, True, "7", "anything"]


def _known(name: str) -> bool:
    return any(p.name == name for p in PipelinesClient().list_pipelines())


class Opaque:
    pass


@yard.step
def opaque() -> Opaque:
    return Opaque()


@yard.pipeline
def unstorable() -> None:
    opaque()


def test_an_output_that_cannot_be_stored_fails_its_step_with_the_reason() -> None:
    run = unstorable.run()
    assert run.status == "FAILED"
    error = run.steps[0].error or ""
    assert "test_pipeline_runs.Opaque" in error and "cannot be stored" in error
    assert run.steps[0].output is None


def test_step_options_are_checked_where_they_are_written() -> None:
    with pytest.raises(InvalidArgument, match="retries must be an integer"):
        yard.step(retries=-1)(double.fn)
    with pytest.raises(InvalidArgument, match="timeout must be"):
        yard.step(timeout="ten minutes")(double.fn)
    with pytest.raises(InvalidArgument, match="resources\\['gpu'\\] is not a resource"):
        yard.step(resources={"gpu": 1})(double.fn)
    with pytest.raises(InvalidArgument, match="@step has no option 'retry'"):
        yard.step(retry=2)(double.fn)

    def executor(executor: int) -> int:
        return executor

    with pytest.raises(InvalidArgument, match="parameter 'executor' is a name run"):
        yard.pipeline(executor)


@yard.step(resources={"cpus": 512})
def greedy() -> int:
    return 1


@yard.pipeline
def asks_too_much() -> int:
    return greedy()


def test_a_step_asking_more_cores_than_the_machine_has_fails_clearly() -> None:
    run = asks_too_much.run()
    assert run.status == "FAILED"
    assert "asks for 512 cpus" in (run.error or "")


def test_a_step_called_outside_a_pipeline_is_a_plain_call() -> None:
    assert double(4) == 8
    assert fan(n=2) == 2  # a pipeline called outside a run runs and returns its result


@yard.step
def rows(data: object) -> int:
    return len(data.files) if hasattr(data, "files") else 0  # type: ignore[attr-defined]


@yard.pipeline
def reads_a_dataset(data: object) -> int:
    return double(rows(data))


def test_lineage_walks_from_a_dataset_through_the_steps() -> None:
    import pandas as pd

    version = yard.data.log_dataset(pd.DataFrame({"x": [1.0, 2.0]}), "raw", profile=False)
    run = reads_a_dataset.run(data=version)
    assert run.status == "COMPLETED", run.error
    first, second = (s.tracked_run_id for s in run.steps)
    edges = yard.data.lineage(f"dataset:{version.name}@{version.version}", depth=3)
    pairs = {(e.source.id, e.target.id) for e in edges}
    assert (version.version_id, first) in pairs
    assert (first, second) in pairs
