"""``RegistryClient``: the model registry API, the same against the embedded store and a server.

``modelyard.Client`` offers these methods beside the tracking ones. Every call acts as the
configured identity (``MODELYARD_USER``, else the OS user); against a server the identity
travels in a header and the server's configuration decides its roles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from modelyard.config import Settings
from modelyard.errors import InvalidArgument
from modelyard.identity import acting_as, settings_actor
from modelyard.platform.backends import resolve
from modelyard.platform.current import chosen_uri
from modelyard.platform.times import parse_time
from modelyard.registry.backends import registry_store, webhook_dispatcher
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
from modelyard.registry.names import parse_model_uri
from modelyard.registry.store import EVENTS_PAGE_DEFAULT, LIST_DEFAULT, REQUESTS_PAGE_DEFAULT
from modelyard.registry.webhooks import Dispatcher
from modelyard.store.audit import AuditCheck, AuditEntry

T = TypeVar("T")


class RegistryClient:
    """Registry client. ``settle`` runs before every registry call: ``modelyard.Client``
    passes its tracking client's, so a call sees the run writes it queued (a source run)."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        settings: Settings | None = None,
        settle: Callable[[], None] | None = None,
    ):
        settings = settings or Settings.from_env()
        uri = tracking_uri if tracking_uri is not None else chosen_uri(settings)
        self._registry_backend = resolve(uri, settings)
        self._registry = registry_store(self._registry_backend)
        self._actor = settings_actor(settings)
        self._project = settings.project  # where new models go (MODELYARD_PROJECT)
        self._settle = settle

    def _act(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._settle is not None:
            self._settle()
        with acting_as(self._actor):
            return fn(*args, **kwargs)

    def _dispatcher(self) -> Dispatcher | None:
        """The embedded store's webhook dispatcher (one per database); None for a server."""
        return webhook_dispatcher(self._registry_backend)

    def _announce(self) -> None:
        """Embedded: deliver queued webhook events in the background (they stay queued in the
        database until delivered, so an exit meanwhile loses nothing)."""
        dispatcher = self._dispatcher()
        if dispatcher is not None and dispatcher.has_due():
            threading.Thread(target=dispatcher.run_quietly, daemon=True).start()

    # --- registered models ---------------------------------------------------------------
    def create_registered_model(
        self, name: str, description: str | None = None, tags: dict[str, str] | None = None
    ) -> RegisteredModel:
        return self._act(self._registry.models.create, name, description, tags, self._project)

    def get_registered_model(self, name: str, *, include_deleted: bool = False) -> RegisteredModel:
        return self._act(self._registry.models.get, name, include_deleted=include_deleted)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[RegisteredModel], str | None]:
        return self._act(
            self._registry.models.search,
            filter_string,
            include_deleted=include_deleted,
            max_results=max_results,
            page_token=page_token,
        )

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        return self._act(self._registry.models.update, name, description)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self._act(self._registry.models.set_tag, name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._act(self._registry.models.delete_tag, name, key)

    def delete_registered_model(self, name: str) -> None:
        self._act(self._registry.models.delete, name)

    def restore_registered_model(self, name: str) -> None:
        self._act(self._registry.models.restore, name)

    # --- versions ------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str | None = None,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        flavor: str | None = None,
        model_digest: str | None = None,
        signature: dict[str, Any] | None = None,
    ) -> ModelVersion:
        draft = NewModelVersion(
            name,
            source,
            run_id,
            description,
            flavor,
            model_digest,
            signature,
            tags or {},
            self._project,
        )
        found = self._act(self._registry.versions.create, draft)
        self._announce()
        return found

    def get_version(
        self,
        name: str,
        version: int | None = None,
        *,
        alias: str | None = None,
        at: Any = None,
        include_deleted: bool = False,
    ) -> ModelVersion:
        """A version by number, by alias (``at`` a time: what the alias named then), or the
        latest when neither is given."""
        if version is not None and alias is not None:
            raise InvalidArgument("give a version or an alias, not both", field="alias")
        if at is not None and alias is None:
            raise InvalidArgument("at needs an alias", field="at")
        return self._act(
            self._registry.versions.get,
            name,
            version,
            alias=alias,
            at=parse_time(at, "at"),
            include_deleted=include_deleted,
        )

    get_model_version = get_version

    def resolve_model_uri(self, uri: str) -> ModelVersion:
        """The version a ``models:/name/3``, ``models:/name@alias`` or ``models:/name`` names."""
        ref = parse_model_uri(uri)
        return self.get_version(ref.name, ref.version, alias=ref.alias)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> list[ModelVersion]:
        """Versions matching ``filter_string`` (``name = 'churn' and tags.validated = 'true'``);
        ``search_model_versions_page`` also returns the next page token."""
        return self.search_model_versions_page(
            filter_string,
            order_by,
            include_deleted=include_deleted,
            max_results=max_results,
            page_token=page_token,
        )[0]

    def search_model_versions_page(
        self,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        *,
        include_deleted: bool = False,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> tuple[list[ModelVersion], str | None]:
        return self._act(
            self._registry.versions.search,
            filter_string,
            order_by,
            include_deleted=include_deleted,
            max_results=max_results,
            page_token=page_token,
        )

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        return self._act(self._registry.versions.update, name, version, description)

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        self._act(self._registry.versions.set_tag, name, version, key, value)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        self._act(self._registry.versions.delete_tag, name, version, key)

    def delete_model_version(self, name: str, version: int) -> None:
        self._act(self._registry.versions.delete, name, version)

    def restore_model_version(self, name: str, version: int) -> None:
        self._act(self._registry.versions.restore, name, version)

    def set_model_card(self, /, name: str, version: int | None = None, **sections: str) -> None:
        """Edit card sections (intended_use, limitations, ethical_considerations, notes) of a
        model, or of one version when ``version`` is given."""
        self._act(self._registry.versions.set_card, name, version, sections)

    # --- aliases and governance ----------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int) -> None:
        self._act(self._registry.aliases.set, name, alias, version)
        self._announce()

    def delete_alias(self, name: str, alias: str) -> None:
        self._act(self._registry.aliases.delete, name, alias)
        self._announce()

    def get_alias_history(
        self, name: str, alias: str | None = None, *, limit: int | None = None
    ) -> list[AliasEvent]:
        """Every move of the model's aliases (or of ``alias``), oldest first, or the first
        ``limit``; read a page at a time, as ``get_alias_history_page`` does."""
        return self._act(self._registry.aliases.history, name, alias, limit=limit)

    def get_alias_history_page(
        self,
        name: str,
        alias: str | None = None,
        *,
        limit: int = EVENTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[AliasEvent], str | None]:
        """One page of those moves (``limit``, up to 10,000) and the token of the next page
        (None after the last)."""
        return self._act(
            self._registry.aliases.history_page, name, alias, limit=limit, page_token=page_token
        )

    def set_alias_policy(
        self,
        model: str,
        alias: str,
        *,
        require_approval: bool = True,
        approver_role: str = "approver",
        min_approvals: int = 1,
        allow_self_approval: bool = False,
        required_gates: Sequence[str] = (),
    ) -> AliasPolicy:
        """Govern ``alias`` of ``model`` ('*': of every model); needs the admin role."""
        policy = AliasPolicy(
            model,
            alias,
            require_approval,
            approver_role,
            min_approvals,
            allow_self_approval,
            list(required_gates),
            project=self._project,
        )
        return self._act(self._registry.policies.set, policy)

    def list_alias_policies(
        self, model: str | None = None, *, limit: int = LIST_DEFAULT
    ) -> list[AliasPolicy]:
        """Alias policies (of ``model``, with the '*' defaults), by model and alias: at most
        ``limit`` (up to 10,000)."""
        return self._act(self._registry.policies.list_all, model, limit=limit)

    def delete_alias_policy(self, model: str, alias: str) -> None:
        self._act(self._registry.policies.delete, model, alias, self._project)

    def request_approval(
        self, name: str, version: int, *, alias: str, comment: str | None = None
    ) -> ApprovalRequest:
        found = self._act(self._registry.approvals.request, name, version, alias, comment)
        self._announce()
        return found

    def approve(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        """Approve; when the policy's approvals are complete the alias moves."""
        found = self._act(self._registry.approvals.decide, request_id, "APPROVE", comment)
        self._announce()
        return found

    def reject(self, request_id: str, comment: str | None = None) -> ApprovalRequest:
        found = self._act(self._registry.approvals.decide, request_id, "REJECT", comment)
        self._announce()
        return found

    def cancel_approval(self, request_id: str) -> ApprovalRequest:
        return self._act(self._registry.approvals.cancel, request_id)

    def get_approval_request(self, request_id: str) -> ApprovalRequest:
        return self._act(self._registry.approvals.get, request_id)

    def list_approval_requests(
        self, name: str | None = None, status: str | None = None, *, limit: int | None = None
    ) -> list[ApprovalRequest]:
        """Every approval request (of ``name``, with ``status``), oldest first, or the first
        ``limit``; read a page at a time, as ``list_approval_requests_page`` does."""
        return self._act(self._registry.approvals.list_all, name, status, limit=limit)

    def list_approval_requests_page(
        self,
        name: str | None = None,
        status: str | None = None,
        *,
        limit: int = REQUESTS_PAGE_DEFAULT,
        page_token: str | None = None,
    ) -> tuple[list[ApprovalRequest], str | None]:
        """One page of approval requests (``limit``, up to 1,000) and the next token."""
        return self._act(
            self._registry.approvals.list_page, name, status, limit=limit, page_token=page_token
        )

    # --- audit ---------------------------------------------------------------------------
    def audit_log(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        since: Any = None,
        until: Any = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries in chain order; ``action`` ending in '.' and ``object_id`` ending
        in '/' (``churn/``: every version of churn) match a prefix."""
        return self._act(
            self._registry.audit.entries,
            object_type=object_type,
            object_id=object_id,
            actor=actor,
            action=action,
            since=parse_time(since, "since"),
            until=parse_time(until, "until"),
            after_seq=after_seq,
            limit=limit,
        )

    def verify_audit(self) -> AuditCheck:
        return self._act(self._registry.audit.verify)

    # --- webhooks ------------------------------------------------------------------------
    def create_webhook(
        self,
        url: str,
        events: Sequence[str],
        *,
        model: str | None = None,
        project: str | None = None,
    ) -> Webhook:
        """Subscribe ``url`` to the events of ``project``'s models (``model``: of that one
        only; by default MODELYARD_PROJECT, else the caller's only project where it is
        admin), or of every project with ``project="*"`` (global admins). The returned
        ``secret`` (shown once) signs every body."""
        where = project if project is not None else self._project
        return self._act(self._registry.webhooks.create, url, list(events), model, where)

    def list_webhooks(self, *, limit: int = LIST_DEFAULT) -> list[Webhook]:
        """The webhooks the caller manages (of the projects where it is admin; every one for
        a global admin), oldest first, without their secrets: at most ``limit`` (up to
        10,000)."""
        return self._act(self._registry.webhooks.list_all, limit=limit)

    def delete_webhook(self, webhook_id: str) -> None:
        self._act(self._registry.webhooks.delete, webhook_id)

    def webhook_deliveries(self, webhook_id: str, limit: int = 100) -> list[WebhookDelivery]:
        return self._act(self._registry.webhooks.deliveries, webhook_id, limit)

    def deliver_webhooks(self) -> int:
        """Embedded: attempt every due delivery now; the number attempted."""
        dispatcher = self._dispatcher()
        if dispatcher is None:
            raise InvalidArgument(
                "a server delivers its own webhooks; this client is remote", field="tracking_uri"
            )
        return dispatcher.run_once()

    # --- deployments ---------------------------------------------------------------------
    def create_deployment(
        self,
        name: str,
        routes: Any,
        *,
        shadows: Sequence[str] | None = None,
        sticky_header: str | None = None,
        description: str | None = None,
    ) -> Deployment:
        """A named endpoint: ``routes`` as ``{"models:/churn@champion": 90, ...}`` (weights
        are relative), ``shadows`` mirrored and never returned, ``sticky_header`` (such as
        ``x-user-id``) keeping one caller on one route. Serve it with ``modelyard serve
        --deployment NAME``."""
        return self._act(
            self._registry.deployments.create,
            name,
            _routes(routes),
            list(shadows) if shadows is not None else None,
            sticky_header,
            description,
            self._project,
        )

    def get_deployment(self, name: str) -> Deployment:
        return self._act(self._registry.deployments.get, name)

    def list_deployments(self, *, limit: int = LIST_DEFAULT) -> list[Deployment]:
        """Deployments by name: at most ``limit`` (up to 10,000)."""
        return self._act(self._registry.deployments.list_all, limit=limit)

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
        """Change the parts given; servers watching the deployment follow within their
        ``watch_s``. ``expected_revision`` refuses the change if someone else moved first."""
        return self._act(
            self._registry.deployments.update,
            name,
            routes=routes if routes is UNSET else _routes(routes),
            shadows=shadows if shadows is UNSET or shadows is None else list(shadows),
            sticky_header=sticky_header,
            description=description,
            expected_revision=expected_revision,
        )

    def delete_deployment(self, name: str) -> None:
        self._act(self._registry.deployments.delete, name)


def _routes(routes: Any) -> Any:
    """``{uri: weight}`` as the list of ``{model_uri, weight}`` the store takes."""
    if isinstance(routes, dict):
        return [{"model_uri": uri, "weight": weight} for uri, weight in routes.items()]
    return routes
