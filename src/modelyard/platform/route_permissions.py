"""Every HTTP route declares what it needs, and the server checks it before the handler runs.

A route says ``openapi_extra=needs("model.write")`` (one action of ``platform.access``, or a
few where any one will do), ``needs(PUBLIC)`` (answers anonymous callers) or
``needs(AUTHENTICATED)`` (any caller who logged in; the handler's store decides the rest, as
for one's own tokens). ``install_permissions`` walks the app's routes when it is built: a
route that declares nothing stops the server from starting, so a new route cannot ship
unguarded; with authentication on, ``enforce_declared`` (the app's dependency) checks the
matched route's declaration before its handler runs, and refuses a route that has none.
The declaration shows in ``/openapi.json`` as ``x-modelyard-permission``.

The check here is the first of two: the caller must hold the action in *some* project (else
403, which says nothing about any resource). The domain stores then check the project of the
object itself (``access.require``: 404 where the project is hidden, 403 where it is only
readable). With authentication off every actor is unrestricted and the check passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import Request

from modelyard.errors import PermissionDenied
from modelyard.identity import Actor, current_actor
from modelyard.platform.access import ACTIONS, GLOBAL_ACTIONS, holders

KEY = "x-modelyard-permission"
PUBLIC = "public"
AUTHENTICATED = "authenticated"


def needs(*actions: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra`` declaring that a route needs one of ``actions`` (merged into
    ``extra``, the route's other OpenAPI fields)."""
    if not actions:
        raise ValueError("needs() takes at least one action")
    for action in actions:
        if action not in ACTIONS and action not in (PUBLIC, AUTHENTICATED):
            raise ValueError(f"unknown action {action!r}")
    if len(actions) > 1 and ({PUBLIC, AUTHENTICATED} & set(actions)):
        raise ValueError(f"{PUBLIC!r} and {AUTHENTICATED!r} stand alone")
    return {**(extra or {}), KEY: list(actions)}


def declared(route: APIRoute) -> list[str] | None:
    found = (route.openapi_extra or {}).get(KEY)
    return list(found) if found else None


def holds_somewhere(actor: Actor, action: str) -> bool:
    """Whether ``actor`` holds ``action`` in any project (or on none, for a global one)."""
    grants = actor.grants
    if grants is None or action in grants.everywhere:
        return True
    if action in GLOBAL_ACTIONS:
        return False
    return any(action in grants.actions(p) for p in grants.projects())


def check(actions: Iterable[str], actor: Actor | None = None) -> None:
    """PermissionDenied unless the actor holds one of ``actions`` somewhere."""
    wanted = list(actions)
    if wanted[0] in (PUBLIC, AUTHENTICATED):
        return
    actor = actor or current_actor()
    if any(holds_somewhere(actor, a) for a in wanted):
        return
    either = " or ".join(f"{a} ({holders(a)})" for a in wanted)
    raise PermissionDenied(
        f"this needs {either}; {actor.name!r} holds it in no project with this credential (a "
        "token holds only what its scopes say)",
        field="user",
    )


def enforce_declared(request: Request) -> None:
    """The app's dependency with authentication on: the matched route's declared check
    (before the handler reads its body). A route that declares nothing is refused."""
    route = request.scope.get("route")
    actions = declared(route) if isinstance(route, APIRoute) else None
    if actions is None:
        raise PermissionDenied("this operation declares no permission", field="user")
    check(actions)


def api_routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every API route under ``routes``, inside included routers too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)  # FastAPI's included routers
        if inner is not None:
            yield from api_routes(inner.routes)


def install_permissions(app: FastAPI) -> frozenset[str]:
    """Check that every route of ``app`` declares a permission (RuntimeError naming the
    first that does not); the paths declared public are returned."""
    public: set[str] = set()
    for route in api_routes(app.routes):
        actions = declared(route)
        if actions is None:
            methods = ",".join(sorted(route.methods or ()))
            raise RuntimeError(
                f"route {methods} {route.path} ({route.endpoint.__module__}."
                f"{route.endpoint.__name__}) declares no permission: give its decorator "
                "openapi_extra=needs(ACTION)"
            )
        if actions == [PUBLIC]:
            public.add(route.path)
    return frozenset(public)
