"""Delivering registry events to webhooks: HMAC-signed POSTs, retries with backoff, a log.

Deliveries wait in ``webhook_deliveries`` (the outbox, written with the change). A dispatcher
claims due rows, POSTs each body and records the outcome; a failure is retried with exponential
backoff until ``MAX_ATTEMPTS``. The address is checked when the connection is made: the host is
resolved once, every address must be public (not loopback, private, link-local, multicast or
reserved) unless the server allows private webhooks, and the socket connects to the address
that was checked. Redirects are never followed, so a 3xx cannot lead anywhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.registry.tables import webhook_deliveries, webhooks
from modelyard.store.database import Database
from modelyard.tracking.ids import now_ms

MAX_ATTEMPTS = 6
BASE_DELAY_MS = 1_000
CLAIM_MS = 60_000
SIGNATURE_HEADER = "X-Modelyard-Signature"
log = logging.getLogger(__name__)


def check_url(url: object) -> str:
    if not isinstance(url, str) or len(url) > 2000:
        raise InvalidArgument("url must be an http(s) URL of at most 2000 characters", field="url")
    if not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidArgument(
            "url must be ASCII without spaces (percent-encode the rest; IDNA hosts as xn--)",
            field="url",
        )
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        raise InvalidArgument(f"url has an invalid port: {url!r}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(
            f"url must be http:// or https:// with a host, got {url!r}", field="url"
        )
    if parts.username or parts.password:
        raise InvalidArgument("url must not carry credentials", field="url")
    return url


def _public(address: str) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0]
    )
    if isinstance(ip, ipaddress.IPv6Address):  # an IPv4 address inside IPv6 is judged as IPv4
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    # globally routable only: excludes private, loopback, link-local, CGNAT (100.64/10, cloud
    # metadata at 100.100.100.200), documentation, reserved and multicast ranges
    return bool(ip.is_global) and not ip.is_multicast


def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[tuple[int, str]]:
    """(family, address) for ``host``; PermissionDenied when one is not public (and not allowed)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidArgument(f"cannot resolve webhook host {host!r}: {exc}", field="url") from exc
    found = [(int(family), str(addr[0])) for family, _, _, _, addr in infos]
    if not allow_private:
        blocked = sorted({a for _, a in found if not _public(a)})
        if blocked:
            raise PermissionDenied(
                f"webhook host {host!r} resolves to non-public address(es) {', '.join(blocked)}; "
                "set MODELYARD_ALLOW_PRIVATE_WEBHOOKS=true on the server to allow them",
                field="url",
            )
    return found


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool
) -> Outcome:
    try:
        check_url(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve_checked(host, port, allow_private=allow_private)
    except (InvalidArgument, PermissionDenied) as exc:
        return Outcome(False, None, exc.message)
    family, address = addresses[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=host)
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = sock  # the socket to the checked address; http.client will not reconnect
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read(65_536)
        status = resp.status
        conn.close()
    except (OSError, http.client.HTTPException) as exc:
        sock.close()
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:1000])
    if 200 <= status < 300:
        return Outcome(True, status, None)
    note = " (redirects are not followed)" if 300 <= status < 400 else ""
    return Outcome(False, status, f"HTTP {status}{note}")


class Dispatcher:
    """Sends due deliveries; ``run_once`` for one pass, ``start`` for a background thread."""

    def __init__(self, db: Database, *, allow_private: bool, timeout: float = 10.0) -> None:
        self.db = db
        self.allow_private = allow_private
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

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
        """``run_once`` for a background thread: a failure is logged, the rows stay queued."""
        try:
            self.run_once()
        except Exception:  # the database may be gone at exit; the outbox keeps the events
            log.warning("webhook dispatch pass failed", exc_info=True)

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
