"""``modelyard deployments ...``: named serving endpoints kept in the store.

create, update, show, list, delete, history. ``modelyard serve --deployment NAME`` serves one
and follows its changes.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from modelyard.errors import InvalidArgument
from modelyard.platform.cli_options import Json, TrackingUri, first
from modelyard.registry.cli.common import client, when
from modelyard.registry.deployments import UNSET, Deployment
from modelyard.registry.store import LIST_MAX
from modelyard.terminal import out, print_json, print_table

app = typer.Typer(
    help="Deployments: weighted routes (canary, A/B), shadows, served by `modelyard serve "
    "--deployment NAME`.",
    no_args_is_help=True,
)

RouteOpt = Annotated[
    list[str] | None,
    typer.Option("--route", help="URI=WEIGHT, repeated (models:/churn@champion=90)."),
]
ShadowOpt = Annotated[
    list[str] | None,
    typer.Option("--shadow", help="models:/ URI, repeated: mirrored, never answers."),
]
StickyOpt = Annotated[
    str | None, typer.Option(help="Route by a hash of this header (e.g. x-user-id).")
]
DescriptionOpt = Annotated[str | None, typer.Option(help="What the deployment is for.")]


def parse_routes(items: list[str]) -> list[dict[str, Any]]:
    """``URI=WEIGHT`` options as ``{model_uri, weight}``."""
    routes = []
    for item in items:
        uri, sep, weight = item.rpartition("=")
        if not sep or not weight.isdigit():
            raise InvalidArgument(
                f"--route {item!r} must be URI=WEIGHT, e.g. models:/churn@champion=90",
                field="route",
            )
        routes.append({"model_uri": uri, "weight": int(weight)})
    return routes


def _show(found: Deployment, as_json: bool) -> None:
    if as_json:
        print_json(found.to_dict())
        return
    total = sum(r.weight for r in found.routes) or 1
    out.print(
        f"[bold]{found.name}[/bold]  revision {found.revision}  updated {when(found.updated_time)}"
        f" by {found.updated_by}"
    )
    if found.description:
        out.print(found.description)
    rows = [[r.model_uri, r.weight, f"{100 * r.weight / total:.1f}%"] for r in found.routes]
    rows += [[s, "shadow", "mirrored"] for s in found.shadows]
    print_table(None, ["model", "weight", "traffic"], rows)
    if found.sticky_header:
        out.print(f"sticky by header {found.sticky_header}")


@app.command()
def create(
    name: str,
    route: RouteOpt = None,
    shadow: ShadowOpt = None,
    sticky_header: StickyOpt = None,
    description: DescriptionOpt = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Create a deployment: at least one --route; --shadow and --sticky-header optional."""
    if not route:
        raise InvalidArgument("give at least one --route URI=WEIGHT", field="route")
    found = client(tracking_uri).create_deployment(
        name,
        parse_routes(route),
        shadows=shadow or [],
        sticky_header=sticky_header,
        description=description,
    )
    _show(found, as_json)


@app.command()
def update(
    name: str,
    route: RouteOpt = None,
    shadow: ShadowOpt = None,
    no_shadows: Annotated[bool, typer.Option("--no-shadows", help="Remove every shadow.")] = False,
    sticky_header: StickyOpt = None,
    no_sticky: Annotated[bool, typer.Option("--no-sticky", help="Split at random again.")] = False,
    description: DescriptionOpt = None,
    expected_revision: Annotated[
        int | None, typer.Option(help="Refuse if the deployment is no longer at this revision.")
    ] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Change a deployment: --route replaces every route, --shadow every shadow."""
    if shadow and no_shadows:
        raise InvalidArgument("--shadow and --no-shadows contradict each other", field="shadow")
    if sticky_header and no_sticky:
        raise InvalidArgument("--sticky-header and --no-sticky contradict", field="sticky_header")
    found = client(tracking_uri).update_deployment(
        name,
        routes=parse_routes(route) if route else UNSET,
        shadows=[] if no_shadows else (shadow if shadow else UNSET),
        sticky_header=None if no_sticky else (sticky_header if sticky_header else UNSET),
        description=description if description is not None else UNSET,
        expected_revision=expected_revision,
    )
    _show(found, as_json)


@app.command()
def show(name: str, tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """One deployment: its routes with their share of traffic, shadows, revision."""
    _show(client(tracking_uri).get_deployment(name), as_json)


@app.command("list")
def list_(
    limit: Annotated[int, typer.Option(help=f"At most this many (up to {LIST_MAX}).")] = 1000,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Deployments, by name."""
    c = client(tracking_uri)
    found = first(lambda n: c.list_deployments(limit=min(n, LIST_MAX)), limit, "deployments")
    if as_json:
        print_json([d.to_dict() for d in found])
        return
    rows = [
        [
            d.name,
            d.revision,
            ", ".join(f"{r.model_uri}={r.weight}" for r in d.routes),
            ", ".join(d.shadows),
            when(d.updated_time),
        ]
        for d in found
    ]
    print_table("Deployments", ["name", "revision", "routes", "shadows", "updated"], rows)


@app.command()
def delete(name: str, tracking_uri: TrackingUri = None) -> None:
    """Delete a deployment (servers following it keep serving their last routes)."""
    client(tracking_uri).delete_deployment(name)
    out.print(f"deleted deployment {name}")


@app.command()
def history(name: str, tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """Every change to a deployment, from the audit log: who, when, routes before and after."""
    entries = client(tracking_uri).audit_log(object_type="deployment", object_id=name, limit=1000)
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    rows = []
    for e in entries:
        after = e.after or {}
        routes = ", ".join(f"{r['model_uri']}={r['weight']}" for r in after.get("routes", []))
        rows.append([when(e.time), e.actor, e.action.removeprefix("deployment."), routes])
    print_table(f"Deployment {name}", ["time", "by", "change", "routes after"], rows)
