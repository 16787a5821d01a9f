"""Deployments: named serving endpoints kept in the platform store.

A deployment says which registered model versions answer under one name and how traffic is
split: weighted routes (a canary, an A/B test, sticky by a header such as a user id) and
shadows (mirrored, compared and logged, never returned). Every change raises its revision;
``modelyard serve --deployment NAME`` polls it and moves to the new routes without a restart.
Routes name registered models only (``models:/name@alias`` or ``models:/name/3``), so every
server that serves the deployment resolves the same versions.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.registry.names import parse_model_uri

MAX_ROUTES = 16
MAX_WEIGHT = 1_000_000
UNSET: Any = object()  # "leave as it is" in an update
_HEADER = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]{1,64}")  # an HTTP header name, lower case


@dataclass(frozen=True)
class DeploymentRoute:
    model_uri: str
    weight: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Deployment:
    name: str
    routes: list[DeploymentRoute]
    shadows: list[str] = field(default_factory=list)
    sticky_header: str | None = None
    description: str | None = None
    revision: int = 1
    created_by: str | None = None
    created_time: int = 0
    updated_by: str | None = None
    updated_time: int = 0
    project: str = "default"

    def spec(self) -> dict[str, Any]:
        """What serving needs: routes, shadows, sticky header (stored as one JSON value)."""
        return {
            "routes": [r.to_dict() for r in self.routes],
            "shadows": list(self.shadows),
            "sticky_header": self.sticky_header,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        routes = [DeploymentRoute(r["model_uri"], int(r["weight"])) for r in data["routes"]]
        return cls(**{**data, "routes": routes, "shadows": list(data.get("shadows") or [])})


def check_routes(routes: Any) -> list[DeploymentRoute]:
    """Routes as ``[{"model_uri": ..., "weight": ...}]`` or ``DeploymentRoute``s, checked."""
    if not isinstance(routes, (list, tuple)) or not routes:
        raise InvalidArgument(
            "routes must be a non-empty list of {model_uri, weight}", field="routes"
        )
    if len(routes) > MAX_ROUTES:
        raise InvalidArgument(f"at most {MAX_ROUTES} routes", field="routes")
    found: list[DeploymentRoute] = []
    for i, route in enumerate(routes):
        uri: Any
        weight: Any
        if isinstance(route, DeploymentRoute):
            uri, weight = route.model_uri, route.weight
        elif isinstance(route, dict) and set(route) <= {"model_uri", "weight"}:
            uri, weight = route.get("model_uri"), route.get("weight")
        else:
            raise InvalidArgument(
                f"routes[{i}] must be an object with model_uri and weight", field=f"routes[{i}]"
            )
        check_model_ref(uri, f"routes[{i}].model_uri")
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise InvalidArgument(
                f"routes[{i}].weight must be a whole number", field=f"routes[{i}].weight"
            )
        if not 0 <= weight <= MAX_WEIGHT:
            raise InvalidArgument(
                f"routes[{i}].weight must be from 0 to {MAX_WEIGHT}", field=f"routes[{i}].weight"
            )
        found.append(DeploymentRoute(str(uri), weight))
    if sum(r.weight for r in found) == 0:
        raise InvalidArgument("at least one route needs a weight above 0", field="routes")
    _no_repeats([r.model_uri for r in found], "routes")
    return found


def check_shadows(shadows: Any) -> list[str]:
    if shadows is None:
        return []
    if not isinstance(shadows, (list, tuple)) or len(shadows) > MAX_ROUTES:
        raise InvalidArgument(
            f"shadows must be a list of at most {MAX_ROUTES} models:/ URIs", field="shadows"
        )
    for i, uri in enumerate(shadows):
        check_model_ref(uri, f"shadows[{i}]")
    _no_repeats(list(shadows), "shadows")
    return [str(s) for s in shadows]


def check_sticky_header(header: Any) -> str | None:
    if header is None or header == "":
        return None
    if not isinstance(header, str) or not _HEADER.fullmatch(header.lower()):
        raise InvalidArgument(
            "sticky_header must be an HTTP header name such as x-user-id", field="sticky_header"
        )
    return header.lower()


def check_model_ref(uri: Any, where: str) -> str:
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise InvalidArgument(
            f"{where} must be a registered model URI such as models:/churn@champion or "
            f"models:/churn/3, not {str(uri)[:120]!r}",
            field=where,
        )
    try:
        parse_model_uri(uri)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{where}: {exc.message}", field=where) from None
    return uri


def _no_repeats(uris: list[str], where: str) -> None:
    seen: set[str] = set()
    for uri in uris:
        if uri in seen:
            raise InvalidArgument(f"{uri} appears twice in {where}", field=where)
        seen.add(uri)
