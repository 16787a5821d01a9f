"""Webhook subscriptions and their delivery log, in SQL.

What a webhook is sent is queued by ``outbox`` in the transaction of each change; this module
only manages the subscriptions and reads the delivery log.
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
from modelyard.outbound.addresses import resolve_checked
from modelyard.outbound.post import check_url
from modelyard.platform.checks import check_count
from modelyard.platform.ids import now_ms
from modelyard.platform.scope import require_global_admin
from modelyard.registry.entities import Webhook, WebhookDelivery
from modelyard.registry.names import check_model_name
from modelyard.registry.outbox import EVENTS
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
        secret=secret,
    )


class SqlWebhooks(WebhookStore):
    def __init__(self, db: Database, *, allow_private: bool = False) -> None:
        self.db = db
        self.allow_private = allow_private

    def create(self, url: str, events: Sequence[str], model: str | None = None) -> Webhook:
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
        model_key = None if model is None else check_model_name(model, "model").lower()
        actor = require_global_admin("creating a webhook").name
        host = urlsplit(url).hostname or ""
        # refused now when it already resolves to a non-public address; checked again at
        # every connection (a name that does not resolve yet may resolve later)
        with contextlib.suppress(InvalidArgument):
            resolve_checked(host, 80, allow_private=self.allow_private)
        webhook_id, secret, t = uuid.uuid4().hex, secrets.token_hex(32), now_ms()

        def write(conn: Connection) -> None:
            conn.execute(
                webhooks.insert().values(
                    webhook_id=webhook_id,
                    url=url,
                    events=orjson.dumps(sorted(set(events))).decode(),
                    model_key=model_key,
                    secret=secret,
                    active=True,
                    created_by=actor,
                    created_time=t,
                )
            )
            after = {"url": url, "events": sorted(set(events)), "model": model_key}
            event = AuditEvent("webhook.create", "webhook", webhook_id, after=after)
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
        require_global_admin("listing webhooks")  # their addresses are not for everyone
        check_count(limit, "limit", LIST_MAX)
        query = (
            sa.select(webhooks)
            .order_by(webhooks.c.created_time, webhooks.c.webhook_id)
            .limit(limit)
        )
        with self.db.read() as conn:
            return [_webhook(r) for r in conn.execute(query).mappings()]

    def delete(self, webhook_id: str) -> None:
        require_global_admin("deleting a webhook")

        def write(conn: Connection) -> None:
            gone = conn.execute(
                webhooks.delete().where(webhooks.c.webhook_id == str(webhook_id))
            ).rowcount
            if not gone:
                raise NotFound(f"webhook {webhook_id} does not exist", field="webhook_id")
            conn.execute(
                webhook_deliveries.update()
                .where(
                    webhook_deliveries.c.webhook_id == str(webhook_id),
                    webhook_deliveries.c.status == "PENDING",
                )
                .values(status="FAILED", last_error="webhook deleted", next_attempt_time=None)
            )
            event = AuditEvent("webhook.delete", "webhook", str(webhook_id))
            audit.record(conn, [event], time_ms=now_ms())

        self.db.run_write(write)

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[WebhookDelivery]:
        require_global_admin("reading webhook deliveries")
        check_count(limit, "limit", AUDIT_MAX)
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(webhook_deliveries)
                .where(webhook_deliveries.c.webhook_id == str(webhook_id))
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
