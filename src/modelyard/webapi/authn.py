"""Who is calling, for a server with authentication: pure ASGI, in front of the body guards,
so that nothing of an unauthenticated request's body is read.

The checks themselves are injected (the auth domain's ``Authenticator``): ``quick`` answers
from memory (a token or session seen a moment ago) or None, ``identify`` may ask the store
and runs on a worker thread. Either raises a ``ModelyardError`` (401, 403, 429), answered
here. The anonymous actor reaches only the public paths; ``X-Modelyard-User`` is never read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from anyio import to_thread

from modelyard.errors import ModelyardError
from modelyard.identity import Actor, acting_as
from modelyard.webapi.guards import ASGIApp, Receive, Scope, Send, send_error

Identify = Callable[[str, str, Mapping[bytes, bytes]], Actor]
Quick = Callable[[str, str, Mapping[bytes, bytes]], Actor | None]
NEEDED = (
    "authentication required: send an API token as Authorization: Bearer <token> "
    "(modelyard login, or MODELYARD_TOKEN), or log in"
)


class Authenticate:
    def __init__(
        self, app: ASGIApp, *, quick: Quick, identify: Identify, public: Collection[str]
    ) -> None:
        self.app = app
        self.quick = quick
        self.identify = identify
        self.public = frozenset(public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers: dict[bytes, bytes] = {}
        for key, value in scope.get("headers") or ():
            low = key.lower()
            # a header sent twice is refused where it matters (an ambiguous credential)
            headers[low] = headers[low] + b"," + value if low in headers else value
        try:
            actor = self.quick(method, path, headers)
            if actor is None:
                actor = await to_thread.run_sync(self.identify, method, path, headers)
        except ModelyardError as exc:
            await send_error(send, exc.code, exc.message, exc.field)
            return
        if actor.kind == "anonymous" and path not in self.public:
            await send_error(send, "UNAUTHENTICATED", NEEDED)
            return
        with acting_as(actor):
            await self.app(scope, receive, send)
