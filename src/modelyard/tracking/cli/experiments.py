"""``modelyard experiments ...``: list, create, rename, delete, restore."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.terminal import out, print_json, print_table
from modelyard.tracking.client import Client
from modelyard.tracking.entities import ViewType

app = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)


@app.command("list")
def list_(
    tracking_uri: TrackingUri = None,
    view: Annotated[ViewType, typer.Option(help="active, deleted or all")] = ViewType.ACTIVE,
    as_json: Json = False,
) -> None:
    """List experiments."""
    exps = Client(tracking_uri).search_experiments(view)
    if as_json:
        print_json([e.to_dict() for e in exps])
        return
    print_table(
        "Experiments",
        ["id", "name", "stage", "artifact location"],
        [[e.experiment_id, e.name, e.lifecycle_stage, e.artifact_location] for e in exps],
    )


@app.command()
def create(
    name: str,
    tracking_uri: TrackingUri = None,
    artifact_location: Annotated[str | None, typer.Option()] = None,
    as_json: Json = False,
) -> None:
    """Create an experiment."""
    eid = Client(tracking_uri).create_experiment(name, artifact_location)
    if as_json:
        print_json({"experiment_id": eid})
    else:
        out.print(f"created experiment [bold]{name}[/] with id {eid}")


@app.command()
def rename(experiment_id: str, new_name: str, tracking_uri: TrackingUri = None) -> None:
    """Rename an experiment."""
    Client(tracking_uri).rename_experiment(experiment_id, new_name)
    out.print(f"experiment {experiment_id} renamed to {new_name}")


@app.command()
def delete(experiment_id: str, tracking_uri: TrackingUri = None) -> None:
    """Delete an experiment (soft: it can be restored)."""
    Client(tracking_uri).delete_experiment(experiment_id)
    out.print(f"experiment {experiment_id} deleted")


@app.command()
def restore(experiment_id: str, tracking_uri: TrackingUri = None) -> None:
    """Restore a deleted experiment."""
    Client(tracking_uri).restore_experiment(experiment_id)
    out.print(f"experiment {experiment_id} restored")
