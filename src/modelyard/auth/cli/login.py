"""``modelyard login URL`` / ``modelyard logout URL``: an API token for this user on that
server (30 days with a password; with single sign-on, as long as the server lets a login
through the provider count), saved in the credentials file, which the SDK and the CLI then
send."""

from __future__ import annotations

from typing import Annotated

import typer

from modelyard.auth.cli.browser_login import browser_login
from modelyard.auth.cli.common import ask_new_password, secret_from_stdin, server_store
from modelyard.auth.credentials import forget_token, save_token
from modelyard.auth.tokens import parse_token
from modelyard.config import Settings, credentials_file, default_user
from modelyard.errors import InvalidArgument, ModelyardError, NotFound, PermissionDenied
from modelyard.platform.cli_options import Json, TrackingUri
from modelyard.store.rest import HttpTransport
from modelyard.terminal import out, print_json, print_table, when


def _login(http: HttpTransport, name: str, password: str) -> dict[str, object]:
    body = {"name": name, "password": password, "issue_token": True}
    found: dict[str, object] = http.request("POST", "/api/v1/auth/login", json=body)
    return found


def _offers_sso(http: HttpTransport) -> bool:
    try:
        found = http.request("GET", "/api/v1/auth/methods")
    except NotFound:  # a server from before single sign-on
        return False
    return bool(isinstance(found, dict) and found.get("sso"))


def login(
    url: str,
    user: Annotated[str | None, typer.Option("--user", "-u", help="default: your OS user")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    sso: Annotated[
        bool | None,
        typer.Option(
            "--sso/--password",
            help="Log in through the server's OpenID provider in a browser, or with a "
            "password (default: single sign-on where the server offers it, unless --user "
            "or --password-stdin is given).",
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the login address; do not open it.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the browser's login.")
    ] = 300.0,
) -> None:
    """Log in to a server (a password or single sign-on); save a token for SDK and CLI."""
    url = url.rstrip("/")
    http = HttpTransport(url, timeout=Settings.from_env().http_timeout)
    try:
        if sso and (user is not None or password_stdin):
            raise InvalidArgument(
                "--sso logs in through the browser: --user and --password-stdin are for a "
                "password login",
                field="sso",
            )
        if sso is None:
            sso = user is None and not password_stdin and _offers_sso(http)
        elif sso and not _offers_sso(http):
            raise NotFound(
                f"{url} has no single sign-on set up (MODELYARD_OIDC_ISSUER on the server); "
                "log in with a password (--password)",
                field="sso",
            )
        if sso:
            got = browser_login(url, http, open_browser=not no_browser, timeout_s=timeout)
        else:
            got = _password_login(http, user or default_user(), password_stdin)
    finally:
        http.close()
    token = str(got["token"])
    expires = got.get("expires_time")
    save_token(url, token, str(got["principal"]), expires if isinstance(expires, int) else None)
    until = f" until {when(expires)}" if isinstance(expires, int) else ""
    out.print(
        f"logged in to {url} as {got['principal']}{until}; token saved in {credentials_file()}",
        soft_wrap=True,
    )


def _password_login(http: HttpTransport, name: str, password_stdin: bool) -> dict[str, object]:
    password = (
        secret_from_stdin()
        if password_stdin
        else typer.prompt(f"Password for {name}", hide_input=True)
    )
    try:
        return _login(http, name, password)
    except PermissionDenied as exc:
        if exc.field != "password":
            raise
        if password_stdin:
            out.print("The password must be changed first: the new one is the next line.")
            new = secret_from_stdin("new password")
        else:
            out.print("Your password must be changed first.")
            new = ask_new_password()
        body = {"name": name, "password": password, "new_password": new}
        http.request("POST", "/api/v1/auth/password", json=body)
        return _login(http, name, new)


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


def whoami(tracking_uri: TrackingUri = None, as_json: Json = False) -> None:
    """Who you are on a server (the saved login or MODELYARD_TOKEN), your roles per project."""
    me = server_store(tracking_uri, "whoami asks a server").whoami()
    if as_json:
        print_json(me)
        return
    admin = " (global admin)" if me.get("admin") else ""
    out.print(f"{me['name']} ({me['kind']}){admin}", markup=False)
    rows = [[p, ", ".join(r)] for p, r in sorted(me.get("roles", {}).items())]
    if me.get("admin"):
        rows.insert(0, ["(every project)", "admin"])
    print_table(None, ["project", "roles"], rows)
