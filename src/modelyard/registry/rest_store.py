"""The registry store as a client of a modelyard server (``/api/v1/registry``, ``/api/v1/audit``).

Thin: every rule is enforced by the server's SQL store, and errors come back as the classes an
embedded caller sees. Names are checked here too, since they travel as path segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from modelyard.registry.deployments import UNSET, Deployment, DeploymentRoute
from modelyard.registry.entities import (
    AliasEvent,
    AliasPolicy,
    ApprovalRequest,
    ModelVersion,
    NewModelVersion,
    RegisteredModel,
    Webhook,
    WebhookDelivery,
)
from modelyard.registry.names import check_alias, check_model_name, check_version
from modelyard.registry.store import (
    EVENTS_PAGE_DEFAULT,
    LIST_DEFAULT,
    REQUESTS_PAGE_DEFAULT,
    RegistryStore,
)
from modelyard.store.audit import AuditCheck, AuditEntry
from modelyard.store.rest import HttpTransport

BASE = "/api/v1/registry"


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class RestRegistryStore(RegistryStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def _model(self, name: str) -> str:
        return f"{BASE}/models/{check_model_name(name)}"

    def _version(self, name: str, version: int) -> str:
        return f"{self._model(name)}/versions/{check_version(version)}"

    # registered models
    def create_model(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> RegisteredModel:
        body = {"name": name, "description": description, "tags": tags or {}}
        return RegisteredModel.from_dict(self.http.request("POST", f"{BASE}/models", json=body))

    def get_model(self, name: str, *, include_deleted: bool = False) -> RegisteredModel:
        params = {"include_deleted": include_deleted}
        return RegisteredModel.from_dict(self.http.request("GET", self._model(name), params=params))

    def search_models(
        self,
        filter_string: str | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        params = _params(
            filter=filter_string,
            include_deleted=include_deleted,
            max_results=max_results,
            page_token=page_token,
        )
        got = self.http.request("GET", f"{BASE}/models", params=params)
        return [RegisteredModel.from_dict(m) for m in got["models"]], got["next_page_token"]

    def update_model(self, name: str, description: str | None) -> RegisteredModel:
        got = self.http.request("PATCH", self._model(name), json={"description": description})
        return RegisteredModel.from_dict(got)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self.http.request("PUT", f"{self._model(name)}/tags", json={"key": key, "value": value})

    def delete_model_tag(self, name: str, key: str) -> None:
        self.http.request("DELETE", f"{self._model(name)}/tags/{quote(key, safe='')}")

    def delete_model(self, name: str) -> None:
        self.http.request("DELETE", self._model(name))

    def restore_model(self, name: str) -> None:
        self.http.request("POST", f"{self._model(name)}/restore")

    # versions
    def create_version(self, draft: NewModelVersion) -> ModelVersion:
        got = self.http.request("POST", f"{BASE}/versions", json=draft.to_dict())
        return ModelVersion.from_dict(got)

    def get_version(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str | None = None,
        at: int | None = None,
        include_deleted: bool = False,
    ) -> ModelVersion:
        if alias is None and version is not None:
            params = {"include_deleted": include_deleted}
            got = self.http.request("GET", self._version(name, version), params=params)
        else:
            if alias is not None:
                check_alias(alias)
            params = _params(alias=alias, at=at)
            got = self.http.request("GET", f"{self._model(name)}/version", params=params)
        return ModelVersion.from_dict(got)

    def search_versions(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        params = _params(
            filter=filter_string,
            order_by=list(order_by) if order_by else None,
            include_deleted=include_deleted,
            max_results=max_results,
            page_token=page_token,
        )
        got = self.http.request("GET", f"{BASE}/versions", params=params)
        return [ModelVersion.from_dict(v) for v in got["versions"]], got["next_page_token"]

    def update_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        got = self.http.request(
            "PATCH", self._version(name, version), json={"description": description}
        )
        return ModelVersion.from_dict(got)

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        path = f"{self._version(name, version)}/tags"
        self.http.request("PUT", path, json={"key": key, "value": value})

    def delete_version_tag(self, name: str, version: int, key: str) -> None:
        self.http.request("DELETE", f"{self._version(name, version)}/tags/{quote(key, safe='')}")

    def delete_version(self, name: str, version: int) -> None:
        self.http.request("DELETE", self._version(name, version))

    def restore_version(self, name: str, version: int) -> None:
        self.http.request("POST", f"{self._version(name, version)}/restore")

    def set_card(self, name: str, version: int | None, sections: dict[str, str]) -> None:
        path = self._model(name) if version is None else self._version(name, version)
        self.http.request("PUT", f"{path}/card", json={"sections": sections})

    # aliases and governance
    def set_alias(self, name: str, alias: str, version: int) -> None:
        path = f"{self._model(name)}/aliases/{check_alias(alias)}"
        self.http.request("PUT", path, json={"version": version})

    def delete_alias(self, name: str, alias: str) -> None:
        self.http.request("DELETE", f"{self._model(name)}/aliases/{check_alias(alias)}")

    def alias_history_page(
        self,
        name: str,
        alias: str | None = None,
        *,
        limit: int = EVENTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[AliasEvent], str | None]:
        params = _params(alias=alias, limit=limit, page_token=page_token)
        got = self.http.request("GET", f"{self._model(name)}/alias-history", params=params)
        return [AliasEvent.from_dict(e) for e in got["events"]], got["next_page_token"]

    def set_policy(self, policy: AliasPolicy) -> AliasPolicy:
        return AliasPolicy.from_dict(
            self.http.request("PUT", f"{BASE}/policies", json=policy.to_dict())
        )

    def list_policies(
        self, model: str | None = None, *, limit: int = LIST_DEFAULT
    ) -> list[AliasPolicy]:
        params = _params(model=model, limit=limit)
        got = self.http.request("GET", f"{BASE}/policies", params=params)
        return [AliasPolicy.from_dict(p) for p in got["policies"]]

    def delete_policy(self, model: str, alias: str) -> None:
        self.http.request("DELETE", f"{BASE}/policies", params={"model": model, "alias": alias})

    def request_approval(
        self, name: str, version: int, alias: str, comment: str | None = None
    ) -> ApprovalRequest:
        body = {"name": name, "version": version, "alias": alias, "comment": comment}
        return ApprovalRequest.from_dict(self.http.request("POST", f"{BASE}/approvals", json=body))

    def decide(self, request_id: str, decision: str, comment: str | None = None) -> ApprovalRequest:
        body = {"decision": decision, "comment": comment}
        path = f"{BASE}/approvals/{request_id}/decision"
        return ApprovalRequest.from_dict(self.http.request("POST", path, json=body))

    def cancel_request(self, request_id: str) -> ApprovalRequest:
        path = f"{BASE}/approvals/{request_id}/cancel"
        return ApprovalRequest.from_dict(self.http.request("POST", path))

    def get_request(self, request_id: str) -> ApprovalRequest:
        path = f"{BASE}/approvals/{request_id}"
        return ApprovalRequest.from_dict(self.http.request("GET", path))

    def list_requests_page(
        self,
        name: str | None = None,
        status: str | None = None,
        *,
        limit: int = REQUESTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[ApprovalRequest], str | None]:
        params = _params(name=name, status=status, limit=limit, page_token=page_token)
        got = self.http.request("GET", f"{BASE}/approvals", params=params)
        found = [ApprovalRequest.from_dict(r) for r in got["requests"]]
        return found, got["next_page_token"]

    # audit
    def audit_entries(self, **filters: Any) -> list[AuditEntry]:
        got = self.http.request("GET", "/api/v1/audit", params=_params(**filters))
        return [AuditEntry.from_dict(e) for e in got["entries"]]

    def verify_audit(self) -> AuditCheck:
        got = self.http.request("GET", "/api/v1/audit/verify")
        return AuditCheck(
            entries=got["entries"],
            head_seq=got["head_seq"],
            head_hash=got["head_hash"],
            problems=list(got["problems"]),
        )

    # webhooks
    def create_webhook(self, url: str, events: Sequence[str], model: str | None = None) -> Webhook:
        body = {"url": url, "events": list(events), "model": model}
        return Webhook.from_dict(self.http.request("POST", f"{BASE}/webhooks", json=body))

    def list_webhooks(self, *, limit: int = LIST_DEFAULT) -> list[Webhook]:
        got = self.http.request("GET", f"{BASE}/webhooks", params={"limit": limit})
        return [Webhook.from_dict(w) for w in got["webhooks"]]

    def delete_webhook(self, webhook_id: str) -> None:
        self.http.request("DELETE", f"{BASE}/webhooks/{webhook_id}")

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[WebhookDelivery]:
        path = f"{BASE}/webhooks/{webhook_id}/deliveries"
        got = self.http.request("GET", path, params={"limit": limit})
        return [WebhookDelivery.from_dict(d) for d in got["deliveries"]]

    # deployments
    def create_deployment(
        self,
        name: str,
        routes: Any,
        shadows: Any = None,
        sticky_header: str | None = None,
        description: str | None = None,
    ) -> Deployment:
        body = {
            "name": name,
            "routes": _route_dicts(routes),
            "shadows": shadows or [],
            "sticky_header": sticky_header,
            "description": description,
        }
        got = self.http.request("POST", "/api/v1/deployments", json=body)
        return Deployment.from_dict(got)

    def get_deployment(self, name: str) -> Deployment:
        return Deployment.from_dict(self.http.request("GET", _deployment(name)))

    def list_deployments(self, *, limit: int = LIST_DEFAULT) -> list[Deployment]:
        got = self.http.request("GET", "/api/v1/deployments", params={"limit": limit})
        return [Deployment.from_dict(d) for d in got["deployments"]]

    def update_deployment(
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
        return Deployment.from_dict(self.http.request("PATCH", _deployment(name), json=body))

    def delete_deployment(self, name: str) -> None:
        self.http.request("DELETE", _deployment(name))


def _deployment(name: str) -> str:
    return f"/api/v1/deployments/{check_model_name(name)}"


def _route_dicts(routes: Any) -> Any:
    """Routes as JSON: ``DeploymentRoute``s as objects, anything else as given (the server
    checks it and names what is wrong)."""
    if not isinstance(routes, (list, tuple)):
        return routes
    return [r.to_dict() if isinstance(r, DeploymentRoute) else r for r in routes]
