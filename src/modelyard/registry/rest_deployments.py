"""Deployments as a client of a modelyard server (``/api/v1/deployments``).

Thin: routes are checked, and resolved in the registry, by the server's SQL store.
"""

from __future__ import annotations

from typing import Any

from modelyard.registry.deployments import UNSET, Deployment, DeploymentRoute
from modelyard.registry.names import check_model_name
from modelyard.registry.store import LIST_DEFAULT, DeploymentStore
from modelyard.store.rest import HttpTransport

PATH = "/api/v1/deployments"


def _path(name: str) -> str:
    return f"{PATH}/{check_model_name(name)}"


def _route_dicts(routes: Any) -> Any:
    """Routes as JSON: ``DeploymentRoute``s as objects, anything else as given (the server
    checks it and names what is wrong)."""
    if not isinstance(routes, (list, tuple)):
        return routes
    return [r.to_dict() if isinstance(r, DeploymentRoute) else r for r in routes]


class RestDeployments(DeploymentStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def create(
        self,
        name: str,
        routes: Any,
        shadows: Any = None,
        sticky_header: str | None = None,
        description: str | None = None,
        project: str | None = None,
    ) -> Deployment:
        body = {
            "project": project,
            "name": name,
            "routes": _route_dicts(routes),
            "shadows": shadows or [],
            "sticky_header": sticky_header,
            "description": description,
        }
        return Deployment.from_dict(self.http.request("POST", PATH, json=body))

    def get(self, name: str) -> Deployment:
        return Deployment.from_dict(self.http.request("GET", _path(name)))

    def list_all(self, *, limit: int = LIST_DEFAULT) -> list[Deployment]:
        got = self.http.request("GET", PATH, params={"limit": limit})
        return [Deployment.from_dict(d) for d in got["deployments"]]

    def update(
        self,
        name: str,
        *,
        routes: Any = UNSET,
        shadows: Any = UNSET,
        sticky_header: Any = UNSET,
        description: Any = UNSET,
        expected_revision: int | None = None,
    ) -> Deployment:
        body: dict[str, Any] = {}
        if routes is not UNSET:
            body["routes"] = _route_dicts(routes)
        for key, value in (
            ("shadows", shadows),
            ("sticky_header", sticky_header),
            ("description", description),
        ):
            if value is not UNSET:
                body[key] = value
        if expected_revision is not None:
            body["expected_revision"] = expected_revision
        return Deployment.from_dict(self.http.request("PATCH", _path(name), json=body))

    def delete(self, name: str) -> None:
        self.http.request("DELETE", _path(name))
