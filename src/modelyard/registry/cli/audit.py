"""``modelyard audit ...``: read the audit log and verify its hash chain.

``verify`` exits 1 when an entry was changed, removed or reordered, so a scheduled job can
alert on it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.registry.cli.common import client, when
from modelyard.terminal import fail, out, print_json, print_table

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command()
def verify(tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """Recompute the hash chain; exit 1 on any break."""
    check = client(tracking_uri).verify_audit()
    if as_json:
        print_json(check.to_dict())
    elif check.ok:
        out.print(f"audit log intact: {check.entries} entries, head {check.head_hash[:16]}")
    else:
        for problem in check.problems:
            fail(problem)
    if not check.ok:
        raise typer.Exit(1)


@app.command("log")
def log(
    object_type: Annotated[str | None, typer.Option("--type", help="run, model, ...")] = None,
    object_id: Annotated[str | None, typer.Option("--id")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. alias. for a prefix")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO-8601 time")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 100,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Audit entries in chain order."""
    found = client(tracking_uri).audit_log(
        object_type=object_type,
        object_id=object_id,
        actor=actor,
        action=action,
        since=since,
        limit=limit,
    )
    if as_json:
        print_json([e.to_dict() for e in found])
        return
    rows = [
        [e.seq, when(e.time), e.actor, e.action, f"{e.object_type}:{e.object_id}", e.after]
        for e in found
    ]
    print_table("Audit log", ["#", "time (UTC)", "actor", "action", "object", "after"], rows)
