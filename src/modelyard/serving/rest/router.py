"""The router: the app's route table read once into dictionaries, so that a request costs a
dictionary lookup (two for a model's route), never a walk over the routes.

A route is (method, path, handler, needs); a method of ``ANY`` takes every method; ``needs``
is what a caller must hold when the server runs with ``--auth`` (``serving.auth``: nothing, a
token, ``predict:<endpoint>`` or ``serve:admin``), declared by every route. Three shapes:

- a plain path (``/v2/health/ready``): ``handler(scope, receive, headers)``;
- a model's (``/v2/models/{name}/infer``; ``/versions/{version}`` may follow the name on
  every one): the name is resolved to its endpoint and served version before the rest of
  the path is looked at, so an unknown model is a 404 naming it on every route, then
  ``handler(scope, receive, headers, endpoint, served, version)``;
- a repository model's (``/v2/repository/models/{name}/load``):
  ``handler(scope, receive, headers, name)``.

A plain path wins over a pattern (``/v2/models/stats`` is every model's statistics, though a
model may be named ``stats``). A path that matches nothing is a 404 naming it; a method the
route does not take, a 405 with ``allow``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from modelyard.errors import NotFound
from modelyard.serving.auth import ADMIN, NEEDS, PREDICT, PUBLIC, TOKEN, ServingAuth
from modelyard.serving.repository.fleet import Fleet
from modelyard.serving.rest.answers import Answered, Headers, Receive, Scope, allowed

ANY = None
INVOCATIONS = "/invocations"
MODEL = "/v2/models/{name}"
REPOSITORY_MODEL = "/v2/repository/models/{name}/"
Handler = Callable[..., Awaitable[Answered]]


@dataclass(frozen=True)
class Route:
    method: str | None  # ANY: every method
    path: str
    handler: Handler
    needs: str  # serving.auth: PUBLIC, TOKEN, PREDICT or ADMIN

    def __post_init__(self) -> None:
        if self.needs not in NEEDS:
            raise ValueError(f"route {self.path}: needs must be one of {NEEDS}")
        if self.needs == PREDICT and not (self.path.startswith(MODEL) or self.path == INVOCATIONS):
            raise ValueError(f"route {self.path}: only a model's routes need predict")


Entry = tuple[str | None, Handler, str]


class Router:
    def __init__(self, routes: Iterable[Route], fleet: Fleet) -> None:
        self.fleet = fleet  # a model route's name is resolved before the rest is looked at
        self.auth: ServingAuth | None = None  # with --auth: every route's needs are checked
        self.plain: dict[str, Entry] = {}
        self.model: dict[str, Entry] = {}  # by what follows the name
        self.repository: dict[str, Entry] = {}  # by the action
        for route in routes:
            entry = (route.method, route.handler, route.needs)
            if route.path.startswith(MODEL):
                self.model[route.path[len(MODEL) :].lstrip("/")] = entry
            elif route.path.startswith(REPOSITORY_MODEL):
                self.repository[route.path[len(REPOSITORY_MODEL) :]] = entry
            else:
                self.plain[route.path] = entry

    async def route(self, scope: Scope, receive: Receive, headers: Headers) -> Answered:
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        auth = self.auth
        found = self.plain.get(path)
        if found is not None:
            if auth is not None and found[2] != PUBLIC:
                # /invocations checks its endpoint's scope once it knows which it is
                await auth.check(headers, TOKEN if found[2] == PREDICT else found[2], None)
                scope["modelyard.scopes"] = auth.scopes(headers)
            if found[0] is not None:
                allowed(method, found[0])
            return await found[1](scope, receive, headers)
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "v2" and parts[1] == "models":
            name, rest = parts[2], parts[3:]
            if auth is not None:  # before the name is looked up: no token, no answer about it
                await auth.check(headers, PREDICT, name)
            version = None
            if len(rest) >= 2 and rest[0] == "versions":
                version, rest = rest[1], rest[2:]
            endpoint = self.fleet.endpoint(name)
            served = self.fleet.model(endpoint, version, headers)
            found = self.model.get(rest[0] if len(rest) == 1 else "/" if rest else "")
            if found is not None:
                if found[0] is not None:
                    allowed(method, found[0])
                return await found[1](scope, receive, headers, endpoint, served, version)
        elif len(parts) >= 2 and parts[0] == "v2" and parts[1] == "repository":
            rest = parts[2:]
            found = self.repository.get(rest[2]) if len(rest) == 3 else None
            if auth is not None:
                await auth.check(headers, ADMIN, None)
            if found is not None and rest[0] == "models":
                if found[0] is not None:
                    allowed(method, found[0])
                return await found[1](scope, receive, headers, rest[1])
            raise NotFound(f"no route {method} /v2/repository/{'/'.join(rest)}")
        raise NotFound(f"no route {method} {path}")
