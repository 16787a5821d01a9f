"""``modelyard runs ...``: search, show, delete, restore."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.errors import NotFound
from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.terminal import out, print_json, print_table, when
from modelyard.tracking.client import Client
from modelyard.tracking.entities import ViewType, encode_float

app = typer.Typer(help="Runs: one execution of training code.", no_args_is_help=True)


@app.command("list")
def list_(
    experiment: Annotated[
        list[str], typer.Option("--experiment", "-e", help="Experiment name or id (repeatable).")
    ],
    tracking_uri: TrackingUri = None,
    filter_string: Annotated[
        str | None, typer.Option("--filter", "-f", help='e.g. "metrics.auc > 0.9"')
    ] = None,
    order_by: Annotated[list[str] | None, typer.Option("--order-by", "-o")] = None,
    max_results: Annotated[int, typer.Option("--max-results", "-n")] = 50,
    view: ViewType = ViewType.ACTIVE,
    as_json: Json = False,
) -> None:
    """Search runs; shows the metrics and params of the runs found."""
    c = Client(tracking_uri)
    ids = []
    for e in experiment:
        if e.isdigit():
            ids.append(e)
            continue
        found = c.get_experiment_by_name(e)
        if found is None:
            raise NotFound(f"experiment {e!r} does not exist", field="experiment")
        ids.append(found.experiment_id)
    runs = c.search_all_runs(ids, filter_string, view, order_by, max_results=max_results)
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    metric_keys = sorted({k for r in runs for k in r.data.metrics})[:6]
    param_keys = sorted({k for r in runs for k in r.data.params})[:4]
    rows = []
    for r in runs:
        rows.append(
            [r.info.run_id, r.info.run_name, r.info.status]
            + [_fmt(r.data.metrics.get(k)) for k in metric_keys]
            + [r.data.params.get(k, "") for k in param_keys]
        )
    print_table(
        f"{len(runs)} runs",
        ["run", "name", "status", *metric_keys, *[f"p:{k}" for k in param_keys]],
        rows,
    )


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    e = encode_float(v)
    return e if isinstance(e, str) else f"{v:.4g}"


@app.command()
def show(run_id: str, tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """Show one run: attributes, params, latest metrics, tags."""
    run = Client(tracking_uri).get_run(run_id)
    if as_json:
        print_json(run.to_dict())
        return
    i = run.info
    print_table(
        f"run {i.run_id}",
        ["field", "value"],
        [
            ["name", i.run_name],
            ["experiment", i.experiment_id],
            ["status", i.status],
            ["user", i.user_id],
            ["start", when(i.start_time)],
            ["end", when(i.end_time)],
            ["parent", i.parent_run_id],
            ["stage", i.lifecycle_stage],
            ["artifacts", i.artifact_uri],
        ],
    )
    if run.data.params:
        print_table("params", ["key", "value"], sorted(run.data.params.items()))
    if run.data.metrics:
        print_table(
            "metrics",
            ["key", "latest"],
            [[k, _fmt(v)] for k, v in sorted(run.data.metrics.items())],
        )
    if run.data.tags:
        print_table(
            "tags", ["key", "value"], [[k, v[:120]] for k, v in sorted(run.data.tags.items())]
        )


@app.command()
def delete(run_id: str, tracking_uri: TrackingUri = None) -> None:
    """Delete a run (soft: it can be restored)."""
    Client(tracking_uri).delete_run(run_id)
    out.print(f"run {run_id} deleted")


@app.command()
def restore(run_id: str, tracking_uri: TrackingUri = None) -> None:
    """Restore a deleted run."""
    Client(tracking_uri).restore_run(run_id)
    out.print(f"run {run_id} restored")
