"""``modelyard pipelines ...``: list, run, runs, show, logs, cancel, retry, cache clear.

``run`` exits 1 when the run fails, so a CI job can gate on it."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.markup import escape

from modelyard.platform.cli_options import Json, TrackingUri, first, parse_pairs
from modelyard.terminal import out, print_json, print_table

if TYPE_CHECKING:
    from modelyard.pipelines.client import PipelinesClient
    from modelyard.pipelines.entities import RunRecord, StepRecord

app = typer.Typer(help="Pipelines: steps on a schedule or a trigger, cached.", no_args_is_help=True)
cache_app = typer.Typer(help="The step cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")

Executor = Annotated[str, typer.Option("--executor", help="local (threads, processes) or ray.")]


def _client(uri: str | None) -> PipelinesClient:
    from modelyard.pipelines.client import PipelinesClient

    return PipelinesClient(uri)


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).isoformat(sep=" ", timespec="seconds")


def _took(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return ""
    return f"{(end - start) / 1000:.3f} s"


def _last_line(text: str | None, most: int = 120) -> str:
    """The last line of an error: cut for a table's cell, whole (``most=0``) below it."""
    lines = [x.strip() for x in (text or "").splitlines() if x.strip()]
    if not lines:
        return ""
    return lines[-1][:most] if most else lines[-1]


def _params(items: list[str] | None) -> dict[str, Any]:
    """``k=v`` pairs; a value that reads as JSON (numbers, true, lists) is that value."""
    params: dict[str, Any] = {}
    for key, text in parse_pairs(items, "param").items():
        try:
            params[key] = orjson.loads(text)
        except orjson.JSONDecodeError:
            params[key] = text
    return params


@app.command("list")
def list_(tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """The pipelines the store knows, with their schedule and triggers."""
    found = _client(tracking_uri).list_pipelines()
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    rows = [
        [
            p.name,
            p.project,
            p.schedule or "",
            ", ".join(
                t["kind"] + (":" + t["target"] if t.get("target") else "") for t in p.triggers
            ),
            _time(p.next_fire),
            p.entrypoint,
        ]
        for p in found
    ]
    print_table("pipelines", ["name", "project", "schedule", "triggers", "next", "code"], rows)


@app.command("run")
def run(
    entrypoint: Annotated[str, typer.Argument(help="path/to/file.py:pipeline or module:pipeline.")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="k=v (repeat).")] = None,
    executor: Executor = "local",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run every step.")] = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Run a pipeline here, now; print its steps. Exit 1 when it fails."""
    from modelyard.pipelines.entrypoints import load_pipeline
    from modelyard.platform import current

    if tracking_uri is not None:
        current.set_uri(tracking_uri)
    found = load_pipeline(entrypoint)
    with _quiet(as_json), _interruptible():
        handle = found.run(executor=executor, cache=not no_cache, params=_params(param))
    _report(handle.record, handle.steps, as_json)
    if handle.status != "COMPLETED":
        raise typer.Exit(1)


@app.command("trigger")
def trigger(
    name: Annotated[str, typer.Argument(help="A pipeline that declares yard.on_webhook().")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="k=v (repeat).")] = None,
    key: Annotated[
        str | None, typer.Option(help="Idempotency key: the same key again, the same run.")
    ] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Queue a run for the servers holding the pipeline's code (server --pipelines)."""
    record = _client(tracking_uri).trigger(name, _params(param), key=key)
    if as_json:
        print_json(record.to_dict())
        return
    out.print(f"run {record.run_id}: {record.status} ({record.trigger})", highlight=False)


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C: the run is cancelled (and recorded so) by then; the command ends now, not
    when a step still running on a thread returns (its result is dropped anyway)."""
    try:
        yield
    except KeyboardInterrupt:
        print("error: interrupted: the run was cancelled", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)


def _quiet(as_json: bool) -> contextlib.AbstractContextManager[Any]:
    """With --json, what the steps print goes to stderr: stdout holds only the JSON."""
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


def _report(record: RunRecord, steps: list[StepRecord], as_json: bool) -> None:
    if as_json:
        print_json({"run": record.to_dict(), "steps": [_step_dict(s) for s in steps]})
        return
    rows = [
        [
            s.key,
            s.status,
            s.attempts,
            _took(s.start_time, s.end_time),
            s.cached_from or "",
            _last_line(s.error),
        ]
        for s in steps
    ]
    title = f"{record.pipeline} run {record.run_id}: {record.status}"
    print_table(title, ["step", "status", "attempts", "took", "cached from", "error"], rows)
    if record.error:
        out.print(f"[red]{escape(_last_line(record.error, 0))}[/red]", highlight=False)


def _step_dict(step: StepRecord) -> dict[str, Any]:
    d = step.to_dict()
    d.pop("logs", None)
    return d


@app.command("runs")
def runs(
    pipeline: Annotated[str | None, typer.Argument(help="Only this pipeline's runs.")] = None,
    status: Annotated[str | None, typer.Option(help="Only runs in this status.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Runs, newest first."""
    client = _client(tracking_uri)
    found = first(lambda n: client.runs(pipeline, status=status, limit=n), limit, "runs")
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    rows = [
        [
            r.run_id,
            r.pipeline,
            r.status,
            r.trigger,
            _time(r.start_time or r.queued_time),
            _took(r.start_time, r.end_time),
            _last_line(r.error),
        ]
        for r in found
    ]
    print_table(
        "pipeline runs", ["run", "pipeline", "status", "trigger", "started", "took", "error"], rows
    )


@app.command("show")
def show(run_id: str, tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """A run and its steps."""
    client = _client(tracking_uri)
    record = client.get_run(run_id).record
    _report(record, client.steps(run_id), as_json)


@app.command("logs")
def logs(
    run_id: str,
    step: Annotated[str | None, typer.Option(help="Only this step (its key or name).")] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """What each step printed and logged (and each failed attempt's traceback)."""
    for key, text in _client(tracking_uri).logs(run_id, step).items():
        out.print(f"[bold]=== {key} ===[/bold]", highlight=False)
        out.print(text.rstrip("\n") if text else "(nothing)", markup=False, highlight=False)


@app.command("cancel")
def cancel(run_id: str, tracking_uri: TrackingUri = None) -> None:
    """Stop a run: a queued one at once, a running one within a second or two."""
    record = _client(tracking_uri).cancel(run_id)
    out.print(f"run {run_id}: {record.status}")


@app.command("retry")
def retry(
    run_id: str,
    from_: Annotated[
        str | None, typer.Option("--from", help="The pipeline's code, if not the stored one.")
    ] = None,
    executor: Executor = "local",
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Run again with the run's parameters; steps that completed there are reused."""
    from modelyard.pipelines.entrypoints import load_pipeline
    from modelyard.platform import current

    if tracking_uri is not None:
        current.set_uri(tracking_uri)
    client = _client(tracking_uri)
    old = client.get_run(run_id).record
    if from_ is not None:
        found = load_pipeline(from_)
    else:
        found = load_pipeline(client.get_pipeline(old.pipeline).entrypoint, stored=True)
    with _quiet(as_json):
        handle = found.retry(run_id, executor=executor)
    _report(handle.record, handle.steps, as_json)
    if handle.status != "COMPLETED":
        raise typer.Exit(1)


@cache_app.command("clear")
def clear(
    step: Annotated[str | None, typer.Option(help="Only this step's entries.")] = None,
    key: Annotated[str | None, typer.Option(help="Only this cache key.")] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Forget cached outputs (of one step, one key, or all): the next runs compute them."""
    n = _client(tracking_uri).clear_cache(step=step, key=key)
    out.print(f"cleared {n} cache entr{'y' if n == 1 else 'ies'}")
