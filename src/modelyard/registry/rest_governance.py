"""Aliases, their policies and approval requests as a client of a modelyard server.

Thin: who may move an alias, and when, is decided by the server's SQL stores.
"""

from __future__ import annotations

from modelyard.registry.entities import AliasEvent, AliasPolicy, ApprovalRequest
from modelyard.registry.names import check_alias
from modelyard.registry.rest_paths import BASE, model_path, params
from modelyard.registry.store import (
    EVENTS_PAGE_DEFAULT,
    LIST_DEFAULT,
    REQUESTS_PAGE_DEFAULT,
    AliasStore,
    ApprovalStore,
    PolicyStore,
)
from modelyard.store.rest import HttpTransport


class RestAliases(AliasStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def set(self, name: str, alias: str, version: int) -> None:
        path = f"{model_path(name)}/aliases/{check_alias(alias)}"
        self.http.request("PUT", path, json={"version": version})

    def delete(self, name: str, alias: str) -> None:
        self.http.request("DELETE", f"{model_path(name)}/aliases/{check_alias(alias)}")

    def history_page(
        self,
        name: str,
        alias: str | None = None,
        *,
        limit: int = EVENTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[AliasEvent], str | None]:
        query = params(alias=alias, limit=limit, page_token=page_token)
        got = self.http.request("GET", f"{model_path(name)}/alias-history", params=query)
        return [AliasEvent.from_dict(e) for e in got["events"]], got["next_page_token"]


class RestPolicies(PolicyStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def set(self, policy: AliasPolicy) -> AliasPolicy:
        return AliasPolicy.from_dict(
            self.http.request("PUT", f"{BASE}/policies", json=policy.to_dict())
        )

    def list_all(self, model: str | None = None, *, limit: int = LIST_DEFAULT) -> list[AliasPolicy]:
        got = self.http.request("GET", f"{BASE}/policies", params=params(model=model, limit=limit))
        return [AliasPolicy.from_dict(p) for p in got["policies"]]

    def delete(self, model: str, alias: str, project: str | None = None) -> None:
        query = params(model=model, alias=alias, project=project)
        self.http.request("DELETE", f"{BASE}/policies", params=query)


class RestApprovals(ApprovalStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def request(
        self, name: str, version: int, alias: str, comment: str | None = None
    ) -> ApprovalRequest:
        body = {"name": name, "version": version, "alias": alias, "comment": comment}
        return ApprovalRequest.from_dict(self.http.request("POST", f"{BASE}/approvals", json=body))

    def decide(self, request_id: str, decision: str, comment: str | None = None) -> ApprovalRequest:
        body = {"decision": decision, "comment": comment}
        path = f"{BASE}/approvals/{request_id}/decision"
        return ApprovalRequest.from_dict(self.http.request("POST", path, json=body))

    def cancel(self, request_id: str) -> ApprovalRequest:
        path = f"{BASE}/approvals/{request_id}/cancel"
        return ApprovalRequest.from_dict(self.http.request("POST", path))

    def get(self, request_id: str) -> ApprovalRequest:
        path = f"{BASE}/approvals/{request_id}"
        return ApprovalRequest.from_dict(self.http.request("GET", path))

    def list_page(
        self,
        name: str | None = None,
        status: str | None = None,
        *,
        limit: int = REQUESTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[ApprovalRequest], str | None]:
        query = params(name=name, status=status, limit=limit, page_token=page_token)
        got = self.http.request("GET", f"{BASE}/approvals", params=query)
        found = [ApprovalRequest.from_dict(r) for r in got["requests"]]
        return found, got["next_page_token"]
