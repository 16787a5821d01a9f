"""``modelyard projects ...``: projects and who holds which role in them."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.auth.cli.common import store
from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.terminal import out, print_json, print_table, when

app = typer.Typer(help="Projects and their members' roles.", no_args_is_help=True)


@app.command()
def create(
    name: str,
    description: Annotated[str | None, typer.Option("--description")] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Make a project (a global admin's)."""
    store(tracking_uri).create_project(name, description)
    out.print(f"made project {name}")


@app.command("list")
def list_projects(tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """The projects you can see."""
    found = store(tracking_uri).list_projects()
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    rows = [[p.name, p.description or "", p.created_by or "", when(p.created_time)] for p in found]
    print_table(None, ["project", "description", "created by", "created"], rows)


@app.command()
def grant(project: str, principal: str, role: str, tracking_uri: TrackingUri = None) -> None:
    """Give PRINCIPAL the ROLE (viewer, editor, approver, gatekeeper, deployer, admin)."""
    store(tracking_uri).grant(project, principal, role)
    out.print(f"{principal} holds {role} in {project}")


@app.command()
def revoke(project: str, principal: str, role: str, tracking_uri: TrackingUri = None) -> None:
    """Take a role back."""
    store(tracking_uri).revoke(project, principal, role)
    out.print(f"{principal} no longer holds {role} in {project}")


@app.command()
def members(project: str, tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """Who holds which role in PROJECT."""
    found = store(tracking_uri).members(project)
    if as_json:
        print_json([m.to_dict() for m in found])
        return
    rows = [[m.principal, m.role, m.granted_by, when(m.granted_time)] for m in found]
    print_table(None, ["principal", "role", "granted by", "granted"], rows)
