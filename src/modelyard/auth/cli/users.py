"""``modelyard users ...`` and ``modelyard service-accounts ...``: a global admin's (or, on a
database opened directly, the operator's: that is how the first admin is made)."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.auth.cli.common import secret_from_stdin, store
from modelyard.auth.entities import NewUser, Principal
from modelyard.errors import InvalidArgument
from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.terminal import out, print_json, print_table, when

app = typer.Typer(help="Users: make, list, disable, reset passwords.", no_args_is_help=True)
service_app = typer.Typer(help="Service accounts: principals for programs.", no_args_is_help=True)
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _show_new(made: NewUser, what: str, as_json: bool) -> None:
    if as_json:
        print_json(made.to_dict())
    elif made.password:
        out.print(
            f"{what} {made.principal.name}; one-time password (shown once, to be "
            f"changed at the first login):\n{made.password}"
        )
    else:
        out.print(f"{what} {made.principal.name}")


def _rows(found: list[Principal]) -> list[list[object]]:
    return [
        [
            p.name,
            p.kind,
            "admin" if p.is_admin else "",
            p.owner or "",
            "disabled" if p.disabled else "",
            when(p.created_time),
        ]
        for p in found
    ]


@app.command()
def create(
    name: str,
    role: Annotated[str, typer.Option("--role", help="user, or admin (a global admin)")] = "user",
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_stdin: PasswordStdin = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Make a user; prints a one-time password unless --password-stdin gives one."""
    if role not in ("user", "admin"):
        raise InvalidArgument(
            "--role must be user or admin (project roles: modelyard projects grant)", field="role"
        )
    password = secret_from_stdin() if password_stdin else None
    made = store(tracking_uri).create_user(
        name, admin=role == "admin", password=password, email=email
    )
    _show_new(made, "made user", as_json)


@app.command("list")
def list_users(tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """Users and service accounts."""
    found = store(tracking_uri).list_principals()
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    print_table(None, ["name", "kind", "admin", "owner", "state", "created"], _rows(found))


@app.command()
def disable(name: str, tracking_uri: TrackingUri = None) -> None:
    """No more logins; sessions end, tokens stop."""
    store(tracking_uri).set_disabled(name, True)
    out.print(f"disabled {name}")


@app.command()
def enable(name: str, tracking_uri: TrackingUri = None) -> None:
    """Enable a disabled user again."""
    store(tracking_uri).set_disabled(name, False)
    out.print(f"enabled {name}")


@app.command("set-password")
def set_password(
    name: str,
    password_stdin: PasswordStdin = False,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """A new password (one-time unless --password-stdin gives one); their sessions end."""
    password = secret_from_stdin() if password_stdin else None
    _show_new(store(tracking_uri).reset_password(name, password), "new password for", as_json)


@app.command()
def unlock(name: str, tracking_uri: TrackingUri = None) -> None:
    """Lift the login lockout of a name."""
    store(tracking_uri).unlock(name)
    out.print(f"unlocked {name}")


@service_app.command("create")
def create_service_account(
    name: str,
    owner: Annotated[str | None, typer.Option("--owner", help="the person behind it")] = None,
    tracking_uri: TrackingUri = None,
    as_json: Json = False,
) -> None:
    """Make a service account (grant it roles, then make it a token)."""
    made = store(tracking_uri).create_service_account(name, owner=owner)
    if as_json:
        print_json(made.to_dict())
    else:
        out.print(f"made service account {made.name} (owner {made.owner})")


@service_app.command("list")
def list_service_accounts(tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """Service accounts."""
    found = store(tracking_uri).list_principals("service")
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    print_table(None, ["name", "kind", "admin", "owner", "state", "created"], _rows(found))
