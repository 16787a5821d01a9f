"""Registry events into the webhook outbox, in the transaction of the change they announce.

A delivery row per matching webhook is written together with the change, so an event is never
lost to a crash between "changed" and "announced"; the dispatcher sends them afterwards. Every
event is of one model, and goes to the webhooks of that model's project and the global ones
(``project`` NULL): never to another project's.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.registry.tables import webhook_deliveries, webhooks

EVENTS = (
    "model_version.created",
    "alias.moved",
    "alias.deleted",
    "approval.requested",
    "approval.approved",
    "approval.rejected",
)


def enqueue(
    conn: Connection,
    event: str,
    model: str,
    data: dict[str, Any],
    *,
    project: str,
    time_ms: int,
) -> int:
    """Queue ``event`` of ``model`` (in ``project``) for every active webhook that listens to
    it there; the number queued."""
    hooks = conn.execute(
        sa.select(webhooks.c.webhook_id, webhooks.c.events, webhooks.c.model_key).where(
            webhooks.c.active == sa.true(),
            sa.or_(webhooks.c.project.is_(None), webhooks.c.project == project),
        )
    ).all()
    rows = []
    for webhook_id, events, model_key in hooks:
        if event not in orjson.loads(events):
            continue
        if model_key is not None and model_key != model.lower():
            continue
        delivery_id = uuid.uuid4().hex
        body = {
            "id": delivery_id,
            "event": event,
            "time": time_ms,
            "model": model,
            "project": project,
            "data": data,
        }
        rows.append(
            {
                "delivery_id": delivery_id,
                "webhook_id": webhook_id,
                "event": event,
                "payload": orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode(),
                "status": "PENDING",
                "attempts": 0,
                "next_attempt_time": time_ms,
                "created_time": time_ms,
            }
        )
    if rows:
        conn.execute(webhook_deliveries.insert(), rows)
    return len(rows)
