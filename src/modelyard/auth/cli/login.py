"""``modelyard login URL`` / ``modelyard logout URL``: a 30-day API token for this user on
that server, saved in the credentials file, which the SDK and the CLI then send."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.auth.cli.common import ask_new_password, secret_from_stdin
from modelyard.auth.credentials import forget_token, save_token
from modelyard.auth.tokens import parse_token
from modelyard.config import Settings, credentials_file, default_user
from modelyard.errors import ModelyardError, PermissionDenied
from modelyard.store.rest import HttpTransport
from modelyard.terminal import out


def _login(http: HttpTransport, name: str, password: str) -> dict[str, object]:
    body = {"name": name, "password": password, "issue_token": True}
    found: dict[str, object] = http.request("POST", "/api/v1/auth/login", json=body)
    return found


def login(
    url: str,
    user: Annotated[str | None, typer.Option("--user", "-u", help="default: your OS user")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Log in to a modelyard server with a password; save a token for the SDK and CLI."""
    name = user or default_user()
    password = (
        secret_from_stdin()
        if password_stdin
        else typer.prompt(f"Password for {name}", hide_input=True)
    )
    http = HttpTransport(url, timeout=Settings.from_env().http_timeout)
    try:
        try:
            got = _login(http, name, password)
        except PermissionDenied as exc:
            if exc.field != "password":
                raise
            out.print("Your password must be changed first.")
            new = ask_new_password()
            body = {"name": name, "password": password, "new_password": new}
            http.request("POST", "/api/v1/auth/password", json=body)
            got = _login(http, name, new)
    finally:
        http.close()
    token = str(got["token"])
    expires = got.get("expires_time")
    save_token(url, token, str(got["principal"]), expires if isinstance(expires, int) else None)
    out.print(
        f"logged in to {url.rstrip('/')} as {got['principal']}; token saved in {credentials_file()}"
    )


def logout(url: str) -> None:
    """Revoke the token saved for a server and forget it."""
    token = forget_token(url)
    if token is None:
        out.print(f"no saved login for {url.rstrip('/')}")
        return
    http = HttpTransport(url, timeout=Settings.from_env().http_timeout, token=token)
    try:
        http.request("DELETE", f"/api/v1/tokens/{parse_token(token)[0]}")
    except ModelyardError as exc:  # forgotten here whatever the server says
        out.print(f"the server did not revoke the token: {exc.message}")
    finally:
        http.close()
    out.print(f"logged out of {url.rstrip('/')}")
