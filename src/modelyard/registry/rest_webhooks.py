"""Webhooks and the audit log as a client of a modelyard server (``/api/v1/registry/webhooks``,
``/api/v1/audit``): both admin reads of what every change leaves behind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelyard.registry.entities import Webhook, WebhookDelivery
from modelyard.registry.rest_paths import BASE, params
from modelyard.registry.store import LIST_DEFAULT, AuditStore, WebhookStore
from modelyard.store.audit import AuditCheck, AuditEntry
from modelyard.store.rest import HttpTransport


class RestWebhooks(WebhookStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def create(
        self,
        url: str,
        events: Sequence[str],
        model: str | None = None,
        project: str | None = None,
    ) -> Webhook:
        body = {"url": url, "events": list(events), "model": model, "project": project}
        return Webhook.from_dict(self.http.request("POST", f"{BASE}/webhooks", json=body))

    def list_all(self, *, limit: int = LIST_DEFAULT) -> list[Webhook]:
        got = self.http.request("GET", f"{BASE}/webhooks", params={"limit": limit})
        return [Webhook.from_dict(w) for w in got["webhooks"]]

    def delete(self, webhook_id: str) -> None:
        self.http.request("DELETE", f"{BASE}/webhooks/{webhook_id}")

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[WebhookDelivery]:
        path = f"{BASE}/webhooks/{webhook_id}/deliveries"
        got = self.http.request("GET", path, params={"limit": limit})
        return [WebhookDelivery.from_dict(d) for d in got["deliveries"]]


class RestAudit(AuditStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def entries(self, **filters: Any) -> list[AuditEntry]:
        got = self.http.request("GET", "/api/v1/audit", params=params(**filters))
        return [AuditEntry.from_dict(e) for e in got["entries"]]

    def verify(self) -> AuditCheck:
        got = self.http.request("GET", "/api/v1/audit/verify")
        return AuditCheck(
            entries=got["entries"],
            head_seq=got["head_seq"],
            head_hash=got["head_hash"],
            problems=list(got["problems"]),
        )
