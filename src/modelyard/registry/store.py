"""The contract of a registry store: one small interface per feature, composed.

``RegistryStore`` holds a store per feature (models, versions, aliases, policies, approvals,
webhooks, deployments, audit); the SQL store (embedded, and what the server runs) and the REST
store build the same shape. Every rule (names, numbering, policies, approvals, audit) is
enforced by the SQL stores; the REST ones forward calls to a server running them, so the client
and the server's routes are written once, against these interfaces.
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


class ModelStore(ABC):
    """Registered models."""

    @abstractmethod
    def create(
        self,
        name: str,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        project: str | None = None,
    ) -> RegisteredModel: ...
    @abstractmethod
    def get(self, name: str, *, include_deleted: bool = False) -> RegisteredModel: ...
    @abstractmethod
    def search(
        self,
        filter_string: str | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]: ...
    @abstractmethod
    def update(self, name: str, description: str | None) -> RegisteredModel: ...
    @abstractmethod
    def set_tag(self, name: str, key: str, value: str) -> None: ...
    @abstractmethod
    def delete_tag(self, name: str, key: str) -> None: ...
    @abstractmethod
    def delete(self, name: str) -> None: ...
    @abstractmethod
    def restore(self, name: str) -> None: ...


class VersionStore(ABC):
    """Model versions, and the card sections of a model or of one of its versions."""

    @abstractmethod
    def create(self, draft: NewModelVersion) -> ModelVersion: ...
    @abstractmethod
    def get(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str | None = None,
        at: int | None = None,
        include_deleted: bool = False,
    ) -> ModelVersion: ...
    @abstractmethod
    def search(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]: ...
    @abstractmethod
    def update(self, name: str, version: int, description: str | None) -> ModelVersion: ...
    @abstractmethod
    def set_tag(self, name: str, version: int, key: str, value: str) -> None: ...
    @abstractmethod
    def delete_tag(self, name: str, version: int, key: str) -> None: ...
    @abstractmethod
    def delete(self, name: str, version: int) -> None: ...
    @abstractmethod
    def restore(self, name: str, version: int) -> None: ...
    @abstractmethod
    def set_card(self, name: str, version: int | None, sections: dict[str, str]) -> None:
        """Edit card sections of version ``version`` (None: of the model itself)."""


class AliasStore(ABC):
    """Aliases of a model's versions and the history of their moves."""

    @abstractmethod
    def set(self, name: str, alias: str, version: int) -> None: ...
    @abstractmethod
    def delete(self, name: str, alias: str) -> None: ...
    @abstractmethod
    def history_page(
        self,
        name: str,
        alias: str | None = None,
        *,
        limit: int = EVENTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[AliasEvent], str | None]:
        """One page (``limit``, 1 to 10,000) of a model's alias moves, oldest first, and the
        token of the next page (None: the last)."""

    def history(
        self, name: str, alias: str | None = None, *, limit: int | None = None
    ) -> list[AliasEvent]:
        """Every alias move (or the first ``limit``), oldest first: the pages followed."""
        return read_pages(
            lambda size, token: self.history_page(name, alias, limit=size, page_token=token),
            EVENTS_PAGE_MAX,
            limit,
        )


class PolicyStore(ABC):
    """Per-alias policies: approvals and gates an alias move needs."""

    @abstractmethod
    def set(self, policy: AliasPolicy) -> AliasPolicy: ...
    @abstractmethod
    def list_all(self, model: str | None = None, *, limit: int = LIST_DEFAULT) -> list[AliasPolicy]:
        """Alias policies by model and alias, at most ``limit`` (1 to 10,000)."""

    @abstractmethod
    def delete(self, model: str, alias: str, project: str | None = None) -> None:
        """Remove the policy of ``model`` ('*': of ``project``'s every model) on ``alias``."""


class ApprovalStore(ABC):
    """Requests to move a governed alias, and the votes on them."""

    @abstractmethod
    def request(
        self, name: str, version: int, alias: str, comment: str | None = None
    ) -> ApprovalRequest: ...
    @abstractmethod
    def decide(
        self, request_id: str, decision: str, comment: str | None = None
    ) -> ApprovalRequest: ...
    @abstractmethod
    def cancel(self, request_id: str) -> ApprovalRequest: ...
    @abstractmethod
    def get(self, request_id: str) -> ApprovalRequest: ...
    @abstractmethod
    def list_page(
        self,
        name: str | None = None,
        status: str | None = None,
        *,
        limit: int = REQUESTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[ApprovalRequest], str | None]:
        """One page (``limit``, 1 to 1,000) of approval requests, oldest first, and the token
        of the next page."""

    def list_all(
        self, name: str | None = None, status: str | None = None, *, limit: int | None = None
    ) -> list[ApprovalRequest]:
        """Every approval request (or the first ``limit``), oldest first: the pages followed."""
        return read_pages(
            lambda size, token: self.list_page(name, status, limit=size, page_token=token),
            REQUESTS_PAGE_MAX,
            limit,
        )


class WebhookStore(ABC):
    """Webhook subscriptions and their delivery log. A webhook hears the models of one project,
    or of every project (a global webhook, for global admins); who may manage it sees it, for
    everyone else it does not exist."""

    @abstractmethod
    def create(
        self,
        url: str,
        events: Sequence[str],
        model: str | None = None,
        project: str | None = None,
    ) -> Webhook:
        """A webhook on the events of ``project``'s models (``model``: of that one only);
        ``project`` '*' (``EVERY_PROJECT``): of every project. None: where a new object goes
        (the caller's only project where it is admin, else ``default``); with authentication
        off, every project, as before projects."""

    @abstractmethod
    def list_all(self, *, limit: int = LIST_DEFAULT) -> list[Webhook]:
        """The webhooks the caller may manage, oldest first, at most ``limit`` (1 to 10,000)."""

    @abstractmethod
    def delete(self, webhook_id: str) -> None: ...
    @abstractmethod
    def deliveries(self, webhook_id: str, limit: int = 100) -> list[WebhookDelivery]: ...


class DeploymentStore(ABC):
    """Named deployments (``update`` leaves out what is not passed)."""

    @abstractmethod
    def create(
        self,
        name: str,
        routes: Any,
        shadows: Any = None,
        sticky_header: str | None = None,
        description: str | None = None,
        project: str | None = None,
    ) -> Deployment: ...
    @abstractmethod
    def get(self, name: str) -> Deployment: ...
    @abstractmethod
    def list_all(self, *, limit: int = LIST_DEFAULT) -> list[Deployment]:
        """Deployments by name, at most ``limit`` (1 to 10,000)."""

    @abstractmethod
    def update(
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
    def delete(self, name: str) -> None: ...


class AuditStore(ABC):
    """Reads of the audit chain every change above writes to."""

    @abstractmethod
    def entries(self, **filters: Any) -> list[AuditEntry]: ...
    @abstractmethod
    def verify(self) -> AuditCheck: ...


class RegistryStore:
    """The registry's stores, one per feature, over one database or one server."""

    def __init__(
        self,
        *,
        models: ModelStore,
        versions: VersionStore,
        aliases: AliasStore,
        policies: PolicyStore,
        approvals: ApprovalStore,
        webhooks: WebhookStore,
        deployments: DeploymentStore,
        audit: AuditStore,
    ) -> None:
        self.models = models
        self.versions = versions
        self.aliases = aliases
        self.policies = policies
        self.approvals = approvals
        self.webhooks = webhooks
        self.deployments = deployments
        self.audit = audit

    def close(self) -> None:
        """Let go of what the stores hold (a database's connections); nothing by default."""
