"""The step cache as a user meets it: a rerun is answered from the cache; a change to the
step, to a helper it calls (two calls away, in another module), to a constant it reads or to
its inputs runs it again; a cached output that is gone or altered is not used; a hit gives
back the same types; expiry, ``cache=False`` and clearing work; a retried run reuses what
completed."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelyard as yard
from modelyard.pipelines import PipelinesClient


class _Calls(list[str]):
    """Which steps ran (an object, not a plain list: a list a step reads is one of its
    constants, part of its code)."""


CALLS = _Calls()


@yard.step(cache=True)
def identity(value: object) -> object:
    CALLS.append("identity")
    return value


@yard.pipeline
def echo(value: object) -> object:
    return identity(value)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": pd.array([1, 2, None], dtype="Int64"),
            "label": [0.5, np.nan, 1.0],
            "city": pd.Categorical(["Oslo", "Lima", "Oslo"]),
            "at": pd.date_range("2026-03-29 00:30", periods=3, freq="h", tz="Europe/Berlin"),
            "note": ["a", None, "ü"],
        }
    )


VALUES = [
    ("int", 3),
    ("big int", 2**80),
    ("nan", float("nan")),
    ("text", "naïve ☃"),
    ("tuple", (1, "a", (2.5, None))),
    ("set", {3, 1, 2}),
    ("int keys", {1: "a", 2: "b"}),
    ("dollar keys", {"$frame": 1}),
    ("bytes", b"\x00" * 10_000),
    ("array", np.arange(12, dtype=np.float32).reshape(3, 4)),
    ("scalar", np.int16(7)),
    ("frame", _frame()),
    ("series", pd.Series([1.5, None], name="score")),
    ("nested", {"train": _frame(), "n": [np.float64(1.5)]}),
]


def _same(a: object, b: object) -> None:
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)  # type: ignore[arg-type]
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)  # type: ignore[arg-type]
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)  # type: ignore[arg-type]
        assert a.dtype == b.dtype  # type: ignore[attr-defined]
    elif isinstance(a, float) and a != a:
        assert b != b
    elif isinstance(a, dict):
        assert list(a) == list(b)  # type: ignore[arg-type]
        for k in a:
            _same(a[k], b[k])  # type: ignore[index]
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)  # type: ignore[arg-type]
        for x, y in zip(a, b, strict=True):  # type: ignore[call-overload]
            _same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize(("label", "value"), VALUES, ids=[v[0] for v in VALUES])
def test_a_cache_hit_gives_back_the_value_and_type_the_step_returned(
    label: str, value: object
) -> None:
    CALLS.clear()
    first = echo.run(value=value)
    second = echo.run(value=value)
    assert CALLS == ["identity"], label  # the second run did not call the step
    assert second.steps[0].status == "CACHED"
    assert second.steps[0].cached_from == first.run_id
    _same(value, first.result())
    _same(value, second.result())
    # and read back from the store by a fresh reader
    _same(value, PipelinesClient().get_run(second.run_id).result())


def test_other_inputs_miss_and_cache_false_runs_again() -> None:
    CALLS.clear()
    echo.run(value=1)
    echo.run(value=2)
    echo.run(value=1)
    assert CALLS == ["identity", "identity"]
    run = echo.run(value=1, cache=False)
    assert run.steps[0].status == "COMPLETED"
    assert CALLS == ["identity"] * 3


@yard.step(cache=True)
def make_frame(rows: int) -> pd.DataFrame:
    CALLS.append("make_frame")
    return _frame().iloc[:rows]


@yard.pipeline
def frames(rows: int) -> pd.DataFrame:
    return make_frame(rows)


def test_a_cached_output_that_is_gone_or_altered_is_not_used(tmp_path: Path) -> None:
    first = frames.run(rows=3)
    ref = first.steps[0].output
    assert ref is not None and len(ref.blobs) == 1
    blob = next(tmp_path.glob(f"modelyard-data/**/{ref.blobs[0]}"))
    blob.write_bytes(blob.read_bytes()[:-3] + b"xyz")  # altered on disk
    CALLS.clear()
    again = frames.run(rows=3)
    assert again.steps[0].status == "COMPLETED" and CALLS == ["make_frame"]
    # the run stored the right bytes again: they are read back from the store
    pd.testing.assert_frame_equal(PipelinesClient().get_run(again.run_id).result(), _frame())
    blob.unlink()  # gone
    CALLS.clear()
    third = frames.run(rows=3)
    assert third.steps[0].status == "COMPLETED" and CALLS == ["make_frame"]
    assert frames.run(rows=3).steps[0].status == "CACHED"


def test_cache_entries_expire_and_can_be_cleared() -> None:
    expiring = identity.with_options(cache_expires="1ms", name="expiring")

    @yard.pipeline
    def short_lived(value: int) -> object:
        return expiring(value)

    CALLS.clear()
    short_lived.run(value=1)
    short_lived.run(value=1)
    assert CALLS == ["identity", "identity"]
    CALLS.clear()
    echo.run(value=5)
    assert PipelinesClient().clear_cache(step="identity") >= 1
    echo.run(value=5)
    assert CALLS == ["identity", "identity"]


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text))


def _run_script(folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, "flow.py"], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_change_to_a_helper_two_calls_away_misses_and_comments_do_not(tmp_path: Path) -> None:
    """Separate processes, as a user edits and reruns a script."""
    _write(
        tmp_path / "helpers.py",
        """
        from cleaning import strip_all

        THRESHOLD = 0.5

        def clean(values):
            return [v for v in strip_all(values) if v > THRESHOLD]
        """,
    )
    _write(tmp_path / "cleaning.py", "def strip_all(values):\n    return list(values)\n")
    _write(
        tmp_path / "flow.py",
        """
        import modelyard as yard
        import helpers

        @yard.step(cache=True)
        def prepare(values):
            return helpers.clean(values)

        @yard.pipeline
        def flow():
            return prepare([0.2, 0.7, 0.9])

        run = flow.run()
        print(run.steps[0].status, run.result())
        """,
    )
    assert _run_script(tmp_path) == "COMPLETED [0.7, 0.9]"
    assert _run_script(tmp_path) == "CACHED [0.7, 0.9]"
    _write(
        tmp_path / "cleaning.py",
        "# a comment\n\ndef strip_all(values):\n    return list(values)  # same\n",
    )
    assert _run_script(tmp_path) == "CACHED [0.7, 0.9]"
    _write(
        tmp_path / "cleaning.py", "def strip_all(values):\n    return [v for v in values][::-1]\n"
    )
    assert _run_script(tmp_path) == "COMPLETED [0.9, 0.7]"
    text = (tmp_path / "helpers.py").read_text().replace("THRESHOLD = 0.5", "THRESHOLD = 0.8")
    (tmp_path / "helpers.py").write_text(text)
    assert _run_script(tmp_path) == "COMPLETED [0.9]"


def test_a_helper_redefined_in_the_same_process_misses() -> None:
    namespace: dict[str, object] = {"yard": yard}
    exec(  # a notebook: the helper's cell is run again with new code
        "def helper(x):\n    return x + 1\n"
        "@yard.step(cache=True)\ndef uses(x):\n    return helper(x)\n"
        "@yard.pipeline(name='notebook')\ndef nb():\n    return uses(1)\n",
        namespace,
    )
    assert namespace["nb"].run().result() == 2  # type: ignore[attr-defined]
    assert namespace["nb"].run().steps[0].status == "CACHED"  # type: ignore[attr-defined]
    exec("def helper(x):\n    return x + 10\n", namespace)
    assert namespace["nb"].run().result() == 11  # type: ignore[attr-defined]


@yard.step
def stamp(day: dt.date) -> str:
    CALLS.append("stamp")
    return day.isoformat()


@yard.step
def check(text: str, path: str) -> str:
    if not Path(path).exists():
        raise RuntimeError("the flag is not there yet")
    return text.upper()


@yard.pipeline
def two_steps(path: str) -> str:
    return check(stamp(dt.date(2026, 12, 4)), path)


def test_a_retried_run_reuses_the_steps_that_completed(tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    CALLS.clear()
    failed = two_steps.run(path=str(flag))
    assert failed.status == "FAILED" and CALLS == ["stamp"]
    flag.touch()
    again = two_steps.retry(failed.run_id)
    assert again.result() == "2026-12-04"
    assert CALLS == ["stamp"]  # not run again, though it has no cache=True
    assert again.step("stamp").status == "CACHED"
    assert again.step("stamp").cached_from == failed.run_id
    assert again.record.retry_of == failed.run_id


@yard.step(cache=True)
def square(x: int) -> int:
    CALLS.append(f"square({x})")
    return x * x


@yard.pipeline
def squares(xs: list[int]) -> list[int]:
    return square.map(xs)  # type: ignore[no-any-return]


@pytest.mark.parametrize("read_limit", [2000, 3, 0], ids=["read at once", "key by key", "none"])
def test_a_steps_entries_read_at_once_or_key_by_key_answer_the_same(
    read_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run reads a step's entries once (up to the limit) or asks key by key past it:
    either way the same calls hit, and only the calls whose entries are missing run."""
    from modelyard.pipelines import runner

    monkeypatch.setattr(runner, "CACHE_READ_LIMIT", read_limit)
    xs = [read_limit * 100 + i for i in range(5)]
    CALLS.clear()
    squares.run(xs=xs[:3])
    assert [f"square({x})" for x in xs[:3]] == CALLS
    for ran in (xs[3:], []):  # the second time round every entry is there: all hits
        CALLS.clear()
        run = squares.run(xs=xs)
        assert run.result() == [x * x for x in xs]
        assert sorted(CALLS) == sorted(f"square({x})" for x in ran)
        assert [s.status for s in run.steps].count("CACHED") == 5 - len(ran)
    # an entry cleared is gone for the next run, read either way
    PipelinesClient().clear_cache(step="square")
    CALLS.clear()
    assert [s.status for s in squares.run(xs=xs[:2]).steps] == ["COMPLETED"] * 2
    assert [f"square({x})" for x in xs[:2]] == CALLS
