"""Delivering registry events to webhooks: HMAC-signed POSTs, retries with backoff, a log.

Deliveries wait in ``webhook_deliveries`` (the outbox, written with the change). A dispatcher
claims due rows, POSTs each body and records the outcome; a failure is retried with exponential
backoff until ``MAX_ATTEMPTS``. Every POST goes through ``modelyard.outbound.post``: the host
is resolved once, every address must be public unless the server allows private webhooks, the
socket connects to the address that was checked, and redirects are never followed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from modelyard.errors import Unavailable
from modelyard.outbound.addresses import is_public as _public
from modelyard.outbound.addresses import resolve_checked
from modelyard.outbound.post import Outcome, check_url, post
from modelyard.outbound.signing import SIGNATURE_HEADER, sign
from modelyard.platform.ids import now_ms
from modelyard.platform.store_health import StoreHealth, store_name
from modelyard.registry.tables import webhook_deliveries, webhooks
from modelyard.store.database import Database

MAX_ATTEMPTS = 6
BASE_DELAY_MS = 1_000
CLAIM_MS = 60_000
log = logging.getLogger(__name__)

__all__ = [
    "Dispatcher",
    "Outcome",
    "_public",
    "check_url",
    "post",
    "resolve_checked",
    "sign",
]


class Dispatcher:
    """Sends due deliveries; ``run_once`` for one pass, ``start`` for a background thread."""

    def __init__(
        self,
        db: Database,
        *,
        allow_private: bool,
        timeout: float = 10.0,
        health_clock: Callable[[], float] = time.monotonic,  # s, for the outage's lines
    ) -> None:
        self.db = db
        self.allow_private = allow_private
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.store = StoreHealth(
            store_name(db.url),
            "webhook deliveries wait in the outbox",
            who="webhooks",
            logger=log,
            clock=health_clock,
        )

    def _claim(self, limit: int) -> list[tuple[str, str, str, str, str, int]]:
        now = now_ms()

        def write(conn: sa.Connection) -> list[tuple[str, str, str, str, str, int]]:
            rows = conn.execute(
                sa.select(
                    webhook_deliveries.c.delivery_id,
                    webhook_deliveries.c.event,
                    webhook_deliveries.c.payload,
                    webhook_deliveries.c.attempts,
                    webhooks.c.url,
                    webhooks.c.secret,
                )
                .join(webhooks, webhooks.c.webhook_id == webhook_deliveries.c.webhook_id)
                .where(
                    webhook_deliveries.c.status == "PENDING",
                    webhook_deliveries.c.next_attempt_time <= now,
                )
                .order_by(webhook_deliveries.c.created_time)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            claimed = []
            for delivery_id, event, payload, attempts, url, secret in rows:
                conn.execute(
                    webhook_deliveries.update()
                    .where(webhook_deliveries.c.delivery_id == delivery_id)
                    .values(next_attempt_time=now + self.claim_ms())
                )
                claimed.append((delivery_id, event, payload, url, secret, int(attempts)))
            return claimed

        claimed: list[tuple[str, str, str, str, str, int]] = self.db.run_write(write)
        return claimed

    def claim_ms(self) -> int:
        """How long a claim holds: longer than one POST can take (connect and read may each
        take ``timeout``), so no other dispatcher picks the delivery up while it is sent."""
        return max(CLAIM_MS, int(self.timeout * 3000))

    def has_due(self) -> bool:
        """Whether a delivery is waiting (one indexed lookup; no thread is started for none)."""
        with self.db.read() as conn:
            return (
                conn.execute(
                    sa.select(webhook_deliveries.c.delivery_id)
                    .where(webhook_deliveries.c.status == "PENDING")
                    .limit(1)
                ).first()
                is not None
            )

    def run_quietly(self) -> None:
        """``run_once`` for a background thread; the rows stay queued on a failure. A store
        that is away is said once (``StoreHealth``), not at each pass; anything else is a
        bug, with its traceback."""
        try:
            self.run_once()
        except Unavailable as exc:  # the outbox keeps the events until it answers
            self.store.failed(exc)
        except Exception:
            log.exception("webhook dispatch pass failed")
        else:
            self.store.answered()

    def run_once(self, limit: int = 50) -> int:
        """Attempt every due delivery once (up to ``limit``); the number attempted.

        Deliveries are claimed one at a time, just before each is sent: a claim lasts
        ``CLAIM_MS``, longer than one POST may take, so another dispatcher on the same
        database never sends a delivery this one is still sending."""
        attempted = 0
        with self._lock:
            while attempted < limit:
                claimed = self._claim(1)
                if not claimed:
                    break
                self._send(*claimed[0])
                attempted += 1
        return attempted

    def _send(
        self, delivery_id: str, event: str, payload: str, url: str, secret: str, attempts: int
    ) -> None:
        body = payload.encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "modelyard-webhooks",
            "X-Modelyard-Event": event,
            "X-Modelyard-Delivery": delivery_id,
            "X-Modelyard-Timestamp": stamp,
            SIGNATURE_HEADER: sign(secret, stamp, body),
        }
        try:
            outcome = post(
                url, body, headers, timeout=self.timeout, allow_private=self.allow_private
            )
        except Exception as exc:  # noqa: BLE001 - one bad delivery must not block the rest
            outcome = Outcome(False, None, f"{type(exc).__name__}: {exc}"[:1000])
        self._record(delivery_id, attempts + 1, outcome)

    def _record(self, delivery_id: str, attempts: int, outcome: Outcome) -> None:
        now = now_ms()
        values: dict[str, object] = {
            "attempts": attempts,
            "last_status_code": outcome.status,
            "last_error": outcome.error,
        }
        if outcome.ok:
            values.update(status="DELIVERED", delivered_time=now, next_attempt_time=None)
        elif attempts >= MAX_ATTEMPTS:
            values.update(status="FAILED", next_attempt_time=None)
        else:
            values.update(next_attempt_time=now + BASE_DELAY_MS * 2 ** (attempts - 1))

        def write(conn: sa.Connection) -> None:
            conn.execute(
                webhook_deliveries.update()
                .where(webhook_deliveries.c.delivery_id == delivery_id)
                .values(**values)
            )

        self.db.run_write(write)

    def start(self, interval: float = 1.0) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                self.run_quietly()

        self._thread = threading.Thread(target=loop, name="modelyard-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
