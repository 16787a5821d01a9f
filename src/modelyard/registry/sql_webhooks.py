"""Webhook subscriptions and their delivery log, in SQL.

What a webhook is sent is queued by ``outbox`` in the transaction of each change; this module
only manages the subscriptions and reads the delivery log. A webhook hears one project's models
(``project``), or every project's (``project`` NULL, asked for as '*': global admins' only).
With authentication on, a webhook belongs to the admins of its project: to anyone else it does
not exist (lists leave it out, reading or deleting it answers as for a missing one). With it
off, the admin role of MODELYARD_ROLES manages every webhook, as before projects.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import InvalidArgument, NotFound
from modelyard.identity import ADMIN_ROLE, current_actor, require_role
from modelyard.outbound.addresses import resolve_checked
from modelyard.outbound.post import check_url
from modelyard.platform.access import allowed
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import (
    check_project_exists,
    new_object_project,
    projects_with,
    require_global_admin,
    require_role_in,
    restricted,
)
from modelyard.registry.entities import EVERY_PROJECT, Webhook, WebhookDelivery
from modelyard.registry.names import check_model_name
from modelyard.registry.outbox import EVENTS
from modelyard.registry.sql_rows import model_row
from modelyard.registry.store import AUDIT_MAX, LIST_DEFAULT, LIST_MAX, WebhookStore
from modelyard.registry.tables import webhook_deliveries, webhooks
from modelyard.store import audit
from modelyard.store.audit import AuditEvent
from modelyard.store.database import Database


def _webhook(row: Any, secret: str | None = None) -> Webhook:
    return Webhook(
        webhook_id=row["webhook_id"],
        url=row["url"],
        events=orjson.loads(row["events"]),
        model=row["model_key"],
        active=bool(row["active"]),
        created_by=row["created_by"],
        created_time=int(row["created_time"]),
        project=row["project"],
        secret=secret,
    )


def _missing(webhook_id: str) -> NotFound:
    return NotFound(f"webhook {webhook_id} does not exist", field="webhook_id")


def _check_admin(what: str) -> None:
    """With authentication off, webhooks are for the admin role of MODELYARD_ROLES (with it
    on, the project of each webhook decides)."""
    if not restricted():
        require_role(ADMIN_ROLE, what)


def _webhook_project(conn: Connection, asked: str | None) -> str | None:
    """The project a new webhook hears (None: every project), once the caller may manage
    webhooks there: a hidden project answers as a missing one, a visible one where the caller
    is not admin with PermissionDenied."""
    if asked == EVERY_PROJECT or (asked is None and not restricted()):
        require_global_admin(
            f"a webhook on every project (project {EVERY_PROJECT!r}: it hears the events of "
            "every project's models)"
        )
        return None
    project = new_object_project(asked, "webhook.write")
    check_project_exists(conn, project)
    require_role_in(ADMIN_ROLE, project, "creating a webhook")
    return project


def _check_model(conn: Connection, model: str, project: str) -> None:
    """A project's webhook names a model of that project (one the caller cannot see answers
    as a missing one)."""
    row = model_row(conn, model, action="model.read")
    if row["project"] != project:
        raise InvalidArgument(
            f"model {model!r} is in project {row['project']!r}; a webhook of project "
            f"{project!r} hears only that project's models",
            field="model",
        )


def _managed(conn: Connection, webhook_id: str, action: str) -> Any:
    """The webhook's row, if the caller may ``action`` in its project (a global webhook's: a
    global admin); the NotFound of a missing webhook otherwise."""
    row = (
        conn.execute(sa.select(webhooks).where(webhooks.c.webhook_id == webhook_id))
        .mappings()
        .first()
    )
    if row is None or not allowed(current_actor(), action, row["project"]):
        raise _missing(webhook_id)
    return row


class SqlWebhooks(WebhookStore):
    def __init__(self, db: Database, *, allow_private: bool = False) -> None:
        self.db = db
        self.allow_private = allow_private

    def create(
        self,
        url: str,
        events: Sequence[str],
        model: str | None = None,
        project: str | None = None,
    ) -> Webhook:
        url = check_url(url)
        if not isinstance(events, (list, tuple)) or not events:
            raise InvalidArgument(
                f"events must be a non-empty list of: {', '.join(EVENTS)}", field="events"
            )
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            raise InvalidArgument(
                f"unknown event(s) {unknown}; expected some of: {', '.join(EVENTS)}",
                field="events",
            )
        model = None if model is None else check_model_name(model, "model")
        with self.db.read() as conn:
            where = _webhook_project(conn, project)
            if where is not None and model is not None:
                _check_model(conn, model, where)
        actor = current_actor().name
        host = urlsplit(url).hostname or ""
        # refused now when it already resolves to a non-public address; checked again at
        # every connection (a name that does not resolve yet may resolve later)
        with contextlib.suppress(InvalidArgument):
            resolve_checked(host, 80, allow_private=self.allow_private)
        webhook_id, secret, t = uuid.uuid4().hex, secrets.token_hex(32), now_ms()
        model_key = None if model is None else model.lower()

        def write(conn: Connection) -> None:
            conn.execute(
                webhooks.insert().values(
                    webhook_id=webhook_id,
                    url=url,
                    events=orjson.dumps(sorted(set(events))).decode(),
                    model_key=model_key,
                    project=where,
                    secret=secret,
                    active=True,
                    created_by=actor,
                    created_time=t,
                )
            )
            after = {"url": url, "events": sorted(set(events)), "model": model_key}
            event = AuditEvent("webhook.create", "webhook", webhook_id, after=after, project=where)
            audit.record(conn, [event], time_ms=t)

        self.db.run_write(write)
        with self.db.read() as conn:
            row = (
                conn.execute(sa.select(webhooks).where(webhooks.c.webhook_id == webhook_id))
                .mappings()
                .one()
            )
        return _webhook(row, secret)

    def list_all(self, *, limit: int = LIST_DEFAULT) -> list[Webhook]:
        _check_admin("listing webhooks")  # their addresses are not for everyone
        check_count(limit, "limit", LIST_MAX)
        query = sa.select(webhooks)
        mine = projects_with("webhook.read")  # None: every webhook, global ones too
        if mine is not None:
            query = query.where(webhooks.c.project.in_(sorted(mine)))
        query = query.order_by(webhooks.c.created_time, webhooks.c.webhook_id).limit(limit)
        with self.db.read() as conn:
            return [_webhook(r) for r in conn.execute(query).mappings()]

    def delete(self, webhook_id: str) -> None:
        _check_admin("deleting a webhook")
        webhook_id = str(webhook_id)

        def write(conn: Connection) -> None:
            row = _managed(conn, webhook_id, "webhook.write")
            conn.execute(webhooks.delete().where(webhooks.c.webhook_id == webhook_id))
            conn.execute(
                webhook_deliveries.update()
                .where(
                    webhook_deliveries.c.webhook_id == webhook_id,
                    webhook_deliveries.c.status == "PENDING",
                )
                .values(status="FAILED", last_error="webhook deleted", next_attempt_time=None)
            )
            event = AuditEvent("webhook.delete", "webhook", webhook_id, project=row["project"])
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[WebhookDelivery]:
        _check_admin("reading webhook deliveries")
        check_count(limit, "limit", AUDIT_MAX)
        webhook_id = str(webhook_id)
        with self.db.read() as conn:
            hook = conn.execute(
                sa.select(webhooks.c.project).where(webhooks.c.webhook_id == webhook_id)
            ).first()
            # the log outlives its webhook: a deleted one's is a global admin's to read, as
            # a global webhook's is
            if not allowed(current_actor(), "webhook.read", None if hook is None else hook[0]):
                raise _missing(webhook_id)
            rows = conn.execute(
                sa.select(webhook_deliveries)
                .where(webhook_deliveries.c.webhook_id == webhook_id)
                .order_by(webhook_deliveries.c.created_time.desc())
                .limit(limit)
            ).mappings()
            return [
                WebhookDelivery(
                    delivery_id=r["delivery_id"],
                    webhook_id=r["webhook_id"],
                    event=r["event"],
                    status=r["status"],
                    attempts=int(r["attempts"]),
                    last_status_code=r["last_status_code"],
                    last_error=r["last_error"],
                    created_time=int(r["created_time"]),
                    delivered_time=r["delivered_time"],
                    next_attempt_time=r["next_attempt_time"],
                )
                for r in rows
            ]
