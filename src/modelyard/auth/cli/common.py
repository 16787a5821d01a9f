"""What the auth commands share: the store (embedded or a server) and reading a secret."""

from __future__ import annotations

import sys

import typer

from modelyard.auth.backends import auth_store
from modelyard.auth.rest_store import RestAuthStore
from modelyard.auth.store import AuthStore
from modelyard.config import Settings
from modelyard.errors import InvalidArgument
from modelyard.platform.backends import resolve
from modelyard.platform.current import chosen_uri


def store(uri: str | None) -> AuthStore:
    """The auth store at ``uri``: a server's (as the token's principal), or a database's
    (as whoever may open it: the operator who makes the first admin)."""
    settings = Settings.from_env()
    return auth_store(resolve(uri if uri is not None else chosen_uri(settings), settings))


def server_store(uri: str | None, what: str) -> RestAuthStore:
    """The auth store of a server (``what`` needs one: not a database opened directly)."""
    found = store(uri)
    if not isinstance(found, RestAuthStore):
        raise InvalidArgument(
            f"{what}: -t http://HOST:PORT (MODELYARD_TRACKING_URI)", field="tracking_uri"
        )
    return found


def secret_from_stdin(what: str = "password") -> str:
    """One line from standard input (for scripts: ``... --password-stdin <file``)."""
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise InvalidArgument(f"expected the {what} on standard input", field=what)
    return line


def ask_new_password() -> str:
    first: str = typer.prompt("New password", hide_input=True)
    again: str = typer.prompt("Repeat it", hide_input=True)
    if first != again:
        raise InvalidArgument("the two passwords differ", field="password")
    return first
