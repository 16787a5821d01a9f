"""``modelyard tokens ...``: API tokens for programs (CI, the SDK, serving)."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.auth.cli.common import server_store, store
from modelyard.auth.entities import TokenScope
from modelyard.auth.names import parse_lifetime
from modelyard.auth.tokens import TOKEN_PREFIX
from modelyard.errors import InvalidArgument
from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.terminal import out, print_json, print_table, when

app = typer.Typer(help="API tokens: shown once, scoped, expiring.", no_args_is_help=True)


def parse_scopes(scopes: list[str] | None, role: str | None) -> list[TokenScope] | None:
    """``--scope project:churn --role deployer`` (one role for each project), or
    ``--scope churn:deployer`` pairs; none: whatever the principal holds."""
    if not scopes:
        if role is not None:
            raise InvalidArgument("--role needs --scope project:NAME", field="role")
        return None
    found = []
    for text in scopes:
        kind, sep, rest = text.partition(":")
        if kind == "project" and sep and role is not None:
            found.append(TokenScope(rest, role))
        elif sep and kind != "project" and role is None:
            found.append(TokenScope(kind, rest))
        else:
            raise InvalidArgument(
                f"--scope {text!r}: use --scope project:NAME with --role ROLE, or "
                "--scope NAME:ROLE",
                field="scope",
            )
    return found


@app.command()
def create(
    name: str,
    expires: Annotated[str, typer.Option("--expires", help="90d, 12h, 30m (at most 365d)")] = "90d",
    principal: Annotated[
        str | None, typer.Option("--for", help="a service account of yours (default: you)")
    ] = None,
    scope: Annotated[list[str] | None, typer.Option("--scope", help="project:NAME")] = None,
    role: Annotated[str | None, typer.Option("--role", help="the role in each scope")] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Make a token NAME; it is printed once (set it as MODELYARD_TOKEN)."""
    made = store(tracking_uri).create_token(
        name,
        expires_s=parse_lifetime(expires),
        principal=principal,
        scopes=parse_scopes(scope, role),
    )
    if as_json:
        print_json(made.to_dict())
        return
    out.print(
        f"token {made.info.token_id} for {made.info.principal}, expires "
        f"{when(made.info.expires_time)}; shown once:"
    )
    print(made.token)


@app.command("list")
def list_tokens(
    principal: Annotated[str | None, typer.Option("--for")] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Tokens (never their secrets): yours, or a principal's."""
    found = store(tracking_uri).list_tokens(principal)
    if as_json:
        print_json([t.to_dict() for t in found])
        return
    rows = [
        [
            t.token_id,
            t.name,
            t.principal,
            "all held" if t.scopes is None else " ".join(f"{s.project}:{s.role}" for s in t.scopes),
            "" if t.groups is None else " ".join(t.groups) or "(none)",
            when(t.expires_time),
            when(t.last_used_time),
            "revoked" if t.revoked_time else "",
        ]
        for t in found
    ]
    columns = ["id", "name", "principal", "scopes", "groups", "expires", "last used", "state"]
    print_table(None, columns, rows)


@app.command()
def revoke(token_id: str, tracking_uri: TrackingUri = None) -> None:
    """Revoke a token by its id (12 characters after myd_, as `tokens list` shows)."""
    if token_id.startswith(f"{TOKEN_PREFIX}_"):  # the whole token: never echoed back
        token_id = token_id.split("_")[1] if token_id.count("_") >= 2 else ""
    store(tracking_uri).revoke_token(token_id)
    out.print(f"revoked {token_id}")


@app.command("rotate-key")
def rotate_key(tracking_uri: TrackingUri = None) -> None:
    """Sign serving tokens with a new key (the old one stays valid a day)."""
    found = server_store(tracking_uri, "serving tokens are signed by a server")
    out.print(f"serving tokens are now signed with key {found.rotate_signing_key()}")


@app.command()
def serving(
    endpoint: Annotated[str | None, typer.Argument()] = None,
    ttl: Annotated[
        str, typer.Option("--ttl", help="15m (the default), 1h, ... at most 24h")
    ] = "15m",
    admin: Annotated[
        bool,
        typer.Option(
            "--admin", help="For the server's admin routes (serve:admin), not one endpoint."
        ),
    ] = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """A short-lived token to call ENDPOINT on `modelyard serve --auth` (printed)."""
    if (endpoint is None) != admin:
        raise InvalidArgument(
            "name the ENDPOINT the token calls, or --admin for the server's admin routes "
            "(one of the two)",
            field="endpoint",
        )
    found = server_store(tracking_uri, "serving tokens are signed by a server")
    made = found.serving_token(endpoint, ttl, admin=admin)
    if as_json:
        print_json(made)
        return
    print(made["token"])


@app.command("serving-list")
def serving_list(
    principal: Annotated[
        str | None, typer.Option("--for", help="another principal's (a global admin)")
    ] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Unexpired serving tokens (their ids, endpoints and expiry; never the tokens)."""
    found = server_store(tracking_uri, "serving tokens are signed by a server").serving_tokens(
        principal
    )
    if as_json:
        print_json(found)
        return
    rows = [
        (t["jti"], t["endpoint"], when(t["expires_time"]), "revoked" if t["revoked_time"] else "")
        for t in found
    ]
    print_table("serving tokens", ["id", "endpoint", "expires", "state"], rows)


@app.command("serving-revoke")
def serving_revoke(jti: str, tracking_uri: TrackingUri = None) -> None:
    """Revoke a serving token by its id; inference servers refuse it within seconds."""
    server_store(tracking_uri, "serving tokens are signed by a server").revoke_serving_token(jti)
    out.print(f"revoked serving token {jti}")
