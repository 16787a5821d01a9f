"""Delivering an alert: a signed webhook (Slack-compatible JSON), an email over SMTP, and
modelyard's log. A delivery that fails is logged and reported, never raised: one broken
channel does not stop the others or the monitor. Every address a monitor names (a webhook URL,
an SMTP host) goes through ``modelyard.outbound``'s check when private targets are refused;
only the operator's own ``MODELYARD_SMTP_HOST`` is trusted as it is."""

from __future__ import annotations

import json
import logging
import smtplib
import time
from email.message import EmailMessage
from typing import Any

from modelyard.config import Settings
from modelyard.errors import InvalidArgument, Unavailable
from modelyard.monitoring.monitors.spec import REDACTED, Channel, Email, Log, Webhook

log = logging.getLogger("modelyard.monitoring")


def text_of(alert: dict[str, Any]) -> str:
    mark = {"fired": "ALERT", "repeated": "STILL", "resolved": "RESOLVED"}[alert["event"]]
    return (
        f"[{mark}] {alert['severity']}: monitor {alert['monitor']}, check {alert['check']}: "
        f"{alert['message']}"
    )


def deliver(channel: Channel, alert: dict[str, Any], *, allow_private: bool = True) -> str | None:
    """Send ``alert``; the error if it could not be delivered. ``allow_private=False`` (a
    server's scheduler, unless ``MODELYARD_ALLOW_PRIVATE_WEBHOOKS``) refuses webhooks to
    loopback and private addresses (webhook URLs and SMTP hosts the monitor names), as the
    registry's webhooks do."""
    try:
        if isinstance(channel, Webhook):
            _webhook(channel, alert, allow_private)
        elif isinstance(channel, Email):
            _email(channel, alert, allow_private)
        elif isinstance(channel, Log):
            log.log(logging.getLevelName(channel.level.upper()), "%s", text_of(alert))
        return None
    except Exception as exc:  # noqa: BLE001 - every failure of a channel is reported alike
        error = f"{type(channel).__name__.lower()}: {exc}"[:500]
        log.warning("alert %s not delivered: %s", alert["fingerprint"], error)
        return error


def _webhook(hook: Webhook, alert: dict[str, Any], allow_private: bool) -> None:
    """POST through ``modelyard.outbound.post``: the address is checked once resolved and
    the socket connects to that address (no DNS rebinding), redirects are not followed."""
    from modelyard.outbound.post import post
    from modelyard.outbound.signing import SIGNATURE_HEADER, sign

    if hook.secret == REDACTED:
        raise InvalidArgument(
            "the secret is kept by the server; run this monitor there, or from its YAML",
            field="secret",
        )
    body = json.dumps({"text": text_of(alert), **alert}, default=str).encode()
    headers = {"Content-Type": "application/json"}
    if hook.secret:
        stamp = str(int(time.time()))
        headers["X-Modelyard-Timestamp"] = stamp
        headers[SIGNATURE_HEADER] = sign(hook.secret, stamp, body)
    outcome = post(
        hook.url,
        body,
        headers,
        timeout=hook.timeout_s,
        allow_private=allow_private,
        what="alert webhook",
    )
    if not outcome.ok:
        raise Unavailable(f"{hook.url}: {outcome.error}", field="url")


def _email(mail: Email, alert: dict[str, Any], allow_private: bool) -> None:
    message = EmailMessage()
    message["Subject"] = " ".join(text_of(alert).split())[:200]  # one line, always
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.recipients)
    message.set_content(json.dumps(alert, indent=2, default=str))
    settings = Settings.from_env()
    host = mail.host or settings.smtp_host
    port = mail.port or settings.smtp_port
    address = host
    if mail.host is not None and not allow_private:
        from modelyard.outbound.addresses import resolve_checked

        # the monitor chose this host: connect to the address checked, never a re-resolved one
        address = resolve_checked(host, port, allow_private=False, what="alert SMTP")[0][1]
    with smtplib.SMTP(timeout=10) as smtp:
        smtp.connect(address, port)
        smtp.send_message(message)
