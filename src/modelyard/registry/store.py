"""The contract of a registry store: SQL (embedded, and what the server runs) and REST.

Every rule (names, numbering, policies, approvals, audit) is enforced by the SQL store; the REST
store forwards calls to a server running it, so the client code is written once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from modelyard.platform.search.paging import read_pages
from modelyard.registry.deployments import UNSET, Deployment
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
from modelyard.store.audit import AuditCheck, AuditEntry

Page = tuple[list[Any], str | None]
EVENTS_PAGE_DEFAULT = 1_000  # alias moves in one page, unless asked
EVENTS_PAGE_MAX = 10_000
REQUESTS_PAGE_DEFAULT = 100  # approval requests in one page: each carries its votes
REQUESTS_PAGE_MAX = 1_000
LIST_DEFAULT = 1_000  # policies, webhooks, deployments: few by nature, one answer, no pages
LIST_MAX = 10_000
SEARCH_MAX = 10_000  # models or versions in one page of a search (max_results, 100 by default)
AUDIT_MAX = 10_000  # audit entries, or a webhook's deliveries, in one answer (100 by default)


class RegistryStore(ABC):
    # registered models
    @abstractmethod
    def create_model(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> RegisteredModel: ...
    @abstractmethod
    def get_model(self, name: str, *, include_deleted: bool = False) -> RegisteredModel: ...
    @abstractmethod
    def search_models(
        self,
        filter_string: str | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]: ...
    @abstractmethod
    def update_model(self, name: str, description: str | None) -> RegisteredModel: ...
    @abstractmethod
    def set_model_tag(self, name: str, key: str, value: str) -> None: ...
    @abstractmethod
    def delete_model_tag(self, name: str, key: str) -> None: ...
    @abstractmethod
    def delete_model(self, name: str) -> None: ...
    @abstractmethod
    def restore_model(self, name: str) -> None: ...

    # versions
    @abstractmethod
    def create_version(self, draft: NewModelVersion) -> ModelVersion: ...
    @abstractmethod
    def get_version(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str | None = None,
        at: int | None = None,
        include_deleted: bool = False,
    ) -> ModelVersion: ...
    @abstractmethod
    def search_versions(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]: ...
    @abstractmethod
    def update_version(self, name: str, version: int, description: str | None) -> ModelVersion: ...
    @abstractmethod
    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None: ...
    @abstractmethod
    def delete_version_tag(self, name: str, version: int, key: str) -> None: ...
    @abstractmethod
    def delete_version(self, name: str, version: int) -> None: ...
    @abstractmethod
    def restore_version(self, name: str, version: int) -> None: ...
    @abstractmethod
    def set_card(self, name: str, version: int | None, sections: dict[str, str]) -> None: ...

    # aliases and governance
    @abstractmethod
    def set_alias(self, name: str, alias: str, version: int) -> None: ...
    @abstractmethod
    def delete_alias(self, name: str, alias: str) -> None: ...
    @abstractmethod
    def alias_history_page(
        self,
        name: str,
        alias: str | None = None,
        *,
        limit: int = EVENTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[AliasEvent], str | None]:
        """One page (``limit``, 1 to 10,000) of a model's alias moves, oldest first, and the
        token of the next page (None: the last)."""

    def alias_history(
        self, name: str, alias: str | None = None, *, limit: int | None = None
    ) -> list[AliasEvent]:
        """Every alias move (or the first ``limit``), oldest first: the pages followed."""
        return read_pages(
            lambda size, token: self.alias_history_page(name, alias, limit=size, page_token=token),
            EVENTS_PAGE_MAX,
            limit,
        )

    @abstractmethod
    def set_policy(self, policy: AliasPolicy) -> AliasPolicy: ...
    @abstractmethod
    def list_policies(
        self, model: str | None = None, *, limit: int = LIST_DEFAULT
    ) -> list[AliasPolicy]:
        """Alias policies by model and alias, at most ``limit`` (1 to 10,000)."""

    @abstractmethod
    def delete_policy(self, model: str, alias: str) -> None: ...
    @abstractmethod
    def request_approval(
        self, name: str, version: int, alias: str, comment: str | None = None
    ) -> ApprovalRequest: ...
    @abstractmethod
    def decide(
        self, request_id: str, decision: str, comment: str | None = None
    ) -> ApprovalRequest: ...
    @abstractmethod
    def cancel_request(self, request_id: str) -> ApprovalRequest: ...
    @abstractmethod
    def get_request(self, request_id: str) -> ApprovalRequest: ...
    @abstractmethod
    def list_requests_page(
        self,
        name: str | None = None,
        status: str | None = None,
        *,
        limit: int = REQUESTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[ApprovalRequest], str | None]:
        """One page (``limit``, 1 to 1,000) of approval requests, oldest first, and the token
        of the next page."""

    def list_requests(
        self, name: str | None = None, status: str | None = None, *, limit: int | None = None
    ) -> list[ApprovalRequest]:
        """Every approval request (or the first ``limit``), oldest first: the pages followed."""
        return read_pages(
            lambda size, token: self.list_requests_page(name, status, limit=size, page_token=token),
            REQUESTS_PAGE_MAX,
            limit,
        )

    # audit
    @abstractmethod
    def audit_entries(self, **filters: Any) -> list[AuditEntry]: ...
    @abstractmethod
    def verify_audit(self) -> AuditCheck: ...

    # webhooks
    @abstractmethod
    def create_webhook(
        self, url: str, events: Sequence[str], model: str | None = None
    ) -> Webhook: ...
    @abstractmethod
    def list_webhooks(self, *, limit: int = LIST_DEFAULT) -> list[Webhook]:
        """Webhooks, oldest first, at most ``limit`` (1 to 10,000)."""

    @abstractmethod
    def delete_webhook(self, webhook_id: str) -> None: ...
    @abstractmethod
    def deliveries(self, webhook_id: str, limit: int = 100) -> list[WebhookDelivery]: ...

    # deployments (``update_deployment`` leaves out what is not passed)
    @abstractmethod
    def create_deployment(
        self,
        name: str,
        routes: Any,
        shadows: Any = None,
        sticky_header: str | None = None,
        description: str | None = None,
    ) -> Deployment: ...
    @abstractmethod
    def get_deployment(self, name: str) -> Deployment: ...
    @abstractmethod
    def list_deployments(self, *, limit: int = LIST_DEFAULT) -> list[Deployment]:
        """Deployments by name, at most ``limit`` (1 to 10,000)."""

    @abstractmethod
    def update_deployment(
        self,
        name: str,
        *,
        routes: Any = UNSET,
        shadows: Any = UNSET,
        sticky_header: Any = UNSET,
        description: Any = UNSET,
        expected_revision: int | None = None,
    ) -> Deployment: ...
    @abstractmethod
    def delete_deployment(self, name: str) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional
        pass
