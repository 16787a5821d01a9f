"""``modelyard models ...``: the registry from the command line.

list, show, versions, register, tag, delete, restore, alias (set, delete, history, at a time),
request, approve, reject, requests, policy, audit, webhooks. ``card`` is added by the CLI
package, since a card draws on every domain.
"""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.errors import InvalidArgument
from modelyard.platform.cli_options import Json, TrackingUri, first, parse_pairs
from modelyard.registry.cli.common import client, when
from modelyard.registry.entities import EVERY_PROJECT, ApprovalRequest, ModelVersion
from modelyard.registry.store import LIST_MAX
from modelyard.terminal import out, print_json, print_table

app = typer.Typer(help="Model registry: versions, aliases, approvals, audit.", no_args_is_help=True)
policy_app = typer.Typer(help="Alias policies (who must approve a move).", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhooks for registry events.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(webhooks_app, name="webhooks")

VersionOpt = Annotated[int | None, typer.Option("--version", "-v", help="A version number.")]


@app.command("list")
def list_(
    filter_string: Annotated[str | None, typer.Option("--filter", "-f")] = None,
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted models.")] = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """List registered models."""
    found, _ = client(tracking_uri).search_registered_models(
        filter_string, include_deleted=deleted, max_results=1000
    )
    if as_json:
        print_json([m.to_dict() for m in found])
        return
    rows = [
        [
            m.name + (" (deleted)" if m.deleted else ""),
            m.latest_version,
            ", ".join(f"{a}->{v}" for a, v in m.aliases.items()),
            when(m.updated_time),
        ]
        for m in found
    ]
    print_table("Registered models", ["name", "latest", "aliases", "updated"], rows)


@app.command()
def show(name: str, tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """One model: description, tags, aliases, and its versions."""
    c = client(tracking_uri)
    model = c.get_registered_model(name)
    versions = c.search_model_versions(f"name = '{name}'", max_results=1000)
    if as_json:
        print_json({**model.to_dict(), "versions": [v.to_dict() for v in versions]})
        return
    out.print(f"[bold]{model.name}[/]  {model.description or ''}")
    if model.tags:
        out.print("tags: " + ", ".join(f"{k}={v}" for k, v in sorted(model.tags.items())))
    _versions_table(versions)


def _versions_table(versions: list[ModelVersion]) -> None:
    rows = [
        [
            v.name,
            v.version,
            ", ".join(v.aliases),
            v.flavor or "",
            v.run_id or "",
            when(v.created_time),
        ]
        for v in versions
    ]
    print_table("Versions", ["model", "version", "aliases", "flavor", "run", "created"], rows)


@app.command()
def versions(
    name: Annotated[
        str | None, typer.Argument(help="A model's versions (else every model's).")
    ] = None,
    filter_string: Annotated[
        str | None,
        typer.Option("--filter", "-f", help="e.g. \"name = 'churn' and tags.validated = 'true'\""),
    ] = None,
    order_by: Annotated[list[str] | None, typer.Option("--order-by")] = None,
    max_results: Annotated[int, typer.Option("--max")] = 100,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """List a model's versions, or search them in the run filter language."""
    if name is not None:
        quoted = "name = '" + name.replace("'", "''") + "'"
        filter_string = quoted if not filter_string else f"{quoted} and ({filter_string})"
        order_by = order_by or ["version DESC"]
    found = client(tracking_uri).search_model_versions(
        filter_string, order_by, max_results=max_results
    )
    if as_json:
        print_json([v.to_dict() for v in found])
        return
    _versions_table(found)


@app.command()
def tag(
    name: str,
    pairs_: Annotated[list[str], typer.Argument(metavar="KEY=VALUE...")],
    version: VersionOpt = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Set tags on a model, or on one version with --version."""
    c = client(tracking_uri)
    pairs = parse_pairs(pairs_)
    for key, value in pairs.items():
        if version is None:
            c.set_registered_model_tag(name, key, value)
        else:
            c.set_model_version_tag(name, version, key, value)
    target = name if version is None else f"{name} version {version}"
    out.print(f"tagged {target}: " + ", ".join(f"{k}={v}" for k, v in pairs.items()))


@app.command()
def delete(name: str, version: VersionOpt = None, tracking_uri: TrackingUri = None) -> None:
    """Delete a model or one version (soft: ``restore`` brings it back)."""
    c = client(tracking_uri)
    if version is None:
        c.delete_registered_model(name)
        out.print(f"deleted model {name} (`modelyard models restore {name}` brings it back)")
    else:
        c.delete_model_version(name, version)
        out.print(f"deleted {name} version {version} (restore brings it back)")


@app.command()
def restore(name: str, version: VersionOpt = None, tracking_uri: TrackingUri = None) -> None:
    """Restore a deleted model or version."""
    c = client(tracking_uri)
    if version is None:
        c.restore_registered_model(name)
        out.print(f"restored model {name}")
    else:
        c.restore_model_version(name, version)
        out.print(f"restored {name} version {version}")


@app.command()
def alias(
    name: str,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS")],
    version: Annotated[int | None, typer.Argument(help="Point ALIAS at this version.")] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    history: Annotated[bool, typer.Option("--history", help="Every move of the alias.")] = False,
    limit: Annotated[int, typer.Option(help="With --history: at most this many moves.")] = 1000,
    at: Annotated[
        str | None, typer.Option("--at", help="What the alias named at this time (ISO-8601).")
    ] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Set, move, delete or inspect an alias (``models alias churn champion 3``)."""
    c = client(tracking_uri)
    if history:
        events = first(lambda n: c.get_alias_history(name, alias_name, limit=n), limit, "moves")
        if as_json:
            print_json([e.to_dict() for e in events])
            return
        rows = [
            [
                when(e.time),
                "removed" if e.version is None else e.version,
                e.previous_version,
                e.actor,
                e.request_id or "",
            ]
            for e in events
        ]
        print_table(
            f"{name}@{alias_name}", ["time (UTC)", "version", "from", "by", "approval"], rows
        )
        return
    if delete:
        c.delete_alias(name, alias_name)
        out.print(f"removed {name}@{alias_name}")
        return
    if version is None:
        found = c.get_version(name, alias=alias_name, at=at)
        if as_json:
            print_json(found.to_dict())
            return
        moment = f" at {at}" if at else ""
        out.print(f"{name}@{alias_name}{moment} -> version {found.version}")
        return
    c.set_alias(name, alias_name, version)
    out.print(f"{name}@{alias_name} -> version {version}")


@app.command()
def request(
    name: str,
    version: int,
    alias_name: Annotated[str, typer.Option("--alias", help="The alias to move.")],
    comment: Annotated[str | None, typer.Option("--comment", "-m")] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Ask for VERSION to be approved for an alias."""
    found = client(tracking_uri).request_approval(name, version, alias=alias_name, comment=comment)
    if as_json:
        print_json(found.to_dict())
        return
    out.print(f"request {found.request_id}: {name} {version} -> {alias_name} ({found.status})")


def _decided(found: ApprovalRequest, as_json: bool) -> None:
    if as_json:
        print_json(found.to_dict())
        return
    out.print(f"request {found.request_id}: {found.status}")


@app.command()
def approve(
    request_id: str,
    comment: Annotated[str | None, typer.Option("--comment", "-m")] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Approve a request; the alias moves when the policy's approvals are complete."""
    _decided(client(tracking_uri).approve(request_id, comment), as_json)


@app.command()
def reject(
    request_id: str,
    comment: Annotated[str | None, typer.Option("--comment", "-m")] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Reject a request."""
    _decided(client(tracking_uri).reject(request_id, comment), as_json)


@app.command()
def requests(
    name: Annotated[str | None, typer.Argument()] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, oldest first.")] = 1000,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Approval requests (of one model), oldest first."""
    c = client(tracking_uri)
    found = first(
        lambda n: c.list_approval_requests(name, status, limit=n), limit, "approval requests"
    )
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    rows = [
        [
            r.request_id,
            r.name,
            r.version,
            r.alias,
            r.status,
            r.requested_by,
            ", ".join(f"{v.decision.lower()}:{v.actor}" for v in r.votes),
        ]
        for r in found
    ]
    print_table(
        "Approval requests", ["id", "model", "version", "alias", "status", "by", "votes"], rows
    )


@app.command()
def audit(
    name: str,
    limit: Annotated[int, typer.Option("--limit")] = 100,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """The audit trail of a model and its versions."""
    c = client(tracking_uri)
    entries = [
        *c.audit_log(object_type="model", object_id=name, limit=limit),
        *c.audit_log(object_type="model_version", object_id=f"{name}/", limit=limit),
    ]
    entries = sorted(entries, key=lambda e: e.seq)[-limit:]
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    rows = [[e.seq, when(e.time), e.actor, e.action, e.object_id, e.after] for e in entries]
    print_table(
        f"Audit trail of {name}", ["#", "time (UTC)", "actor", "action", "object", "after"], rows
    )


@policy_app.command("set")
def policy_set(
    model: Annotated[str, typer.Argument(help="A model name, or '*' for every model.")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS")],
    min_approvals: Annotated[int, typer.Option("--min-approvals")] = 1,
    approver_role: Annotated[str, typer.Option("--approver-role")] = "approver",
    allow_self_approval: Annotated[bool, typer.Option("--allow-self-approval")] = False,
    gate: Annotated[list[str] | None, typer.Option("--gate", help="A gate that must pass.")] = None,
    no_approval: Annotated[
        bool, typer.Option("--no-approval", help="Only gates; no approval needed.")
    ] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Govern an alias: moves need approval by the approver role (and passing gates)."""
    found = client(tracking_uri).set_alias_policy(
        model,
        alias_name,
        require_approval=not no_approval,
        approver_role=approver_role,
        min_approvals=min_approvals,
        allow_self_approval=allow_self_approval,
        required_gates=gate or [],
    )
    out.print(
        f"policy {found.model}@{found.alias}: {found.min_approvals} approval(s) by "
        f"{found.approver_role}"
    )


@policy_app.command("list")
def policy_list(
    model: Annotated[str | None, typer.Argument()] = None,
    limit: Annotated[int, typer.Option(help=f"At most this many (up to {LIST_MAX}).")] = 1000,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Alias policies."""
    c = client(tracking_uri)
    found = first(lambda n: c.list_alias_policies(model, limit=min(n, LIST_MAX)), limit, "policies")
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    rows = [
        [
            p.model,
            p.alias,
            p.require_approval,
            p.approver_role,
            p.min_approvals,
            p.allow_self_approval,
            ", ".join(p.required_gates),
        ]
        for p in found
    ]
    print_table(
        "Alias policies", ["model", "alias", "approval", "role", "min", "self", "gates"], rows
    )


@policy_app.command("delete")
def policy_delete(
    model: str,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS")],
    tracking_uri: TrackingUri = None,
) -> None:
    """Remove an alias policy."""
    client(tracking_uri).delete_alias_policy(model, alias_name)
    out.print(f"removed the policy of {model}@{alias_name}")


@webhooks_app.command("add")
def webhook_add(
    url: str,
    event: Annotated[list[str], typer.Option("--event", help="An event to send (repeat).")],
    model: Annotated[str | None, typer.Option("--model", help="Only this model's events.")] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            help="The project whose models it hears (default: MODELYARD_PROJECT, else your "
            "only project where you are admin).",
        ),
    ] = None,
    every_project: Annotated[
        bool,
        typer.Option("--global", help="Hear every project (global admins; not with --project)."),
    ] = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Subscribe URL to the events of a project's models; prints the signing secret once."""
    if every_project:
        if project is not None:
            raise InvalidArgument("give --project NAME or --global, not both", field="project")
        project = EVERY_PROJECT
    found = client(tracking_uri).create_webhook(url, event, model=model, project=project)
    if as_json:
        print_json(found.to_dict())
        return
    out.print(f"webhook {found.webhook_id}\nsecret (shown once): {found.secret}")


@webhooks_app.command("list")
def webhook_list(
    limit: Annotated[int, typer.Option(help=f"At most this many (up to {LIST_MAX}).")] = 1000,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """The webhooks you manage (all of them for a global admin), oldest first."""
    c = client(tracking_uri)
    found = first(lambda n: c.list_webhooks(limit=min(n, LIST_MAX)), limit, "webhooks")
    if as_json:
        print_json([w.to_dict() for w in found])
        return
    rows = [
        [w.webhook_id, w.project or EVERY_PROJECT, w.url, ", ".join(w.events), w.model or "*"]
        for w in found
    ]
    print_table("Webhooks", ["id", "project", "url", "events", "model"], rows)


@webhooks_app.command("remove")
def webhook_remove(webhook_id: str, tracking_uri: TrackingUri = None) -> None:
    """Remove a webhook."""
    client(tracking_uri).delete_webhook(webhook_id)
    out.print(f"removed webhook {webhook_id}")


@webhooks_app.command("deliveries")
def webhook_deliveries(
    webhook_id: str, tracking_uri: TrackingUri = None, as_json: Json = False
) -> None:
    """The delivery log of a webhook, newest first."""
    found = client(tracking_uri).webhook_deliveries(webhook_id)
    if as_json:
        print_json([d.to_dict() for d in found])
        return
    rows = [
        [
            d.delivery_id,
            d.event,
            d.status,
            d.attempts,
            d.last_status_code,
            d.last_error or "",
            when(d.created_time),
        ]
        for d in found
    ]
    print_table(
        "Deliveries", ["id", "event", "status", "attempts", "http", "error", "created"], rows
    )


@webhooks_app.command("deliver")
def webhook_deliver(tracking_uri: TrackingUri = None) -> None:
    """Embedded store: attempt every due delivery now."""
    n = client(tracking_uri).deliver_webhooks()
    out.print(f"attempted {n} deliveries")
