"""Binding the acting user to each request: ``X-Modelyard-User`` until authentication exists.

Pure ASGI. Roles come from the server's configuration (``MODELYARD_ROLES``), never from the
request. When authentication arrives, only this binding changes: every service keeps asking
``modelyard.identity.current_actor()``.
"""

from __future__ import annotations

from collections.abc import Mapping

from modelyard.errors import InvalidArgument
from modelyard.identity import USER_HEADER, acting_as, actor_for
from modelyard.webapi.guards import ASGIApp, Receive, Scope, Send, send_error

ANONYMOUS = "anonymous"
_HEADER = USER_HEADER.encode()


class ActorBinding:
    def __init__(self, app: ASGIApp, *, roles: Mapping[str, frozenset[str]] | None) -> None:
        self.app = app
        self.roles = roles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = [v for k, v in scope.get("headers") or () if k.lower() == _HEADER]
        if len(given) > 1:
            await send_error(
                send, "INVALID_ARGUMENT", f"{USER_HEADER} must be sent once", USER_HEADER
            )
            return
        name = given[0].decode("utf-8", "replace") if given else ANONYMOUS
        try:
            actor = actor_for(name, self.roles)
        except InvalidArgument as exc:
            await send_error(send, exc.code, f"{USER_HEADER}: {exc.message}", USER_HEADER)
            return
        with acting_as(actor):
            await self.app(scope, receive, send)
