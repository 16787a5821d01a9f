"""POSTing to a URL a user named, reaching only the address that was checked.

The host is resolved once, every address must be public (``addresses.is_public``) unless
private ones are allowed, and the socket connects to the checked address itself, so a name
that resolves differently a moment later (DNS rebinding) cannot lead elsewhere. Redirects are
never followed, no proxy is used, and at most 64 KiB of the answer is read.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from modelyard.errors import InvalidArgument, PermissionDenied
from modelyard.outbound.addresses import resolve_checked

MAX_URL_CHARS = 2000
MAX_ANSWER_BYTES = 65_536


def check_url(url: object) -> str:
    """``url`` when it is an http(s) URL with a host and no credentials; else InvalidArgument."""
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS:
        raise InvalidArgument(
            f"url must be an http(s) URL of at most {MAX_URL_CHARS} characters", field="url"
        )
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidArgument(
            "url must be ASCII without spaces (percent-encode the rest; IDNA hosts as xn--)",
            field="url",
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        raise InvalidArgument(f"url is not a valid URL: {url!r}", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(
            f"url must be http:// or https:// with a host, got {url!r}", field="url"
        )
    if parts.username or parts.password:
        raise InvalidArgument("url must not carry credentials", field="url")
    return url


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str | None


def _cut(held: list[socket.socket], fired: threading.Event) -> None:
    """The deadline passed: end the connection under whatever read or write is waiting (on
    the socket in use now: the TLS one once the handshake has wrapped the plain one)."""
    fired.set()  # before the shutdown, so the failure it causes is read as the deadline
    with contextlib.suppress(OSError, ValueError):
        held[0].shutdown(socket.SHUT_RDWR)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allow_private: bool,
    what: str = "webhook",
) -> Outcome:
    """POST ``body`` to ``url``; the outcome, never an exception for a refused or failed call.

    ``timeout`` bounds the whole call, not each read: a receiver that answers one byte at a
    time is cut off when it is spent (a watchdog shuts the socket down), so one slow target
    cannot hold the dispatcher that sends everyone else's deliveries."""
    try:
        check_url(url)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = resolve_checked(host, port, allow_private=allow_private, what=what)
    except (InvalidArgument, PermissionDenied) as exc:
        return Outcome(False, None, exc.message)
    family, address = addresses[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    fired = threading.Event()
    held = [sock]  # what the watchdog cuts: replaced by the TLS socket once wrapped
    watchdog = threading.Timer(timeout, _cut, (held, fired))
    watchdog.daemon = True
    watchdog.start()
    try:
        sock.connect((address, port))
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=host)
            held[0] = sock
            if fired.is_set():  # the deadline passed during the handshake
                raise TimeoutError("deadline")
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn.sock = sock  # the socket to the checked address; http.client will not reconnect
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read(MAX_ANSWER_BYTES)
        status = resp.status
        conn.close()
        if fired.is_set():  # cut off mid-answer: not a delivery, whatever arrived
            raise TimeoutError("deadline")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        sock.close()
        if fired.is_set():
            return Outcome(False, None, f"no whole answer within {timeout:g} s")
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        watchdog.cancel()
    if 200 <= status < 300:
        return Outcome(True, status, None)
    note = " (redirects are not followed)" if 300 <= status < 400 else ""
    return Outcome(False, status, f"HTTP {status}{note}")
