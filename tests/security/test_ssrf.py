"""Outbound requests reach only public addresses: every spelling of a loopback, private or
link-local target is refused before a connection is made, for registry webhooks and for
monitor alert channels (webhook and SMTP) alike.

A real listener on 127.0.0.1 and ::1 counts connections; it must see none for the whole
table, while the same table with private targets allowed does reach it (so the test can fail).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.fixtures.http import error_of

from modelyard.monitoring.monitors.channels import deliver
from modelyard.monitoring.monitors.spec import Email
from modelyard.monitoring.monitors.spec import Webhook as AlertWebhook
from modelyard.outbound.addresses import embedded_ipv4, is_public
from modelyard.outbound.post import post


class Listener:
    """Accepts on 127.0.0.1 and ::1 (same port) and counts every connection it is offered."""

    def __init__(self) -> None:
        self.hits = 0
        self._lock = threading.Lock()
        self.v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.v4.bind(("127.0.0.1", 0))
        self.port = self.v4.getsockname()[1]
        self.v6: socket.socket | None = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            self.v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            self.v6.bind(("::1", self.port))
        except OSError:
            self.v6.close()
            self.v6 = None
        self._stop = threading.Event()
        self._threads = []
        for sock in (self.v4, self.v6):
            if sock is None:
                continue
            sock.listen(16)
            sock.settimeout(0.1)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.hits += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=2)
        self.v4.close()
        if self.v6 is not None:
            self.v6.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


# Teredo: server 65.54.227.120 (public), client 127.0.0.1 (stored inverted: 80ff:fffe)
_TEREDO_LOOPBACK_CLIENT = "2001:0:4136:e378:8000:63bf:80ff:fffe"

# Every way to write "this host" in a URL's host part; each resolves to a loopback (or the
# unspecified address, which Linux delivers to loopback)
LOOPBACK_HOSTS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",  # decimal
    "0x7f.1",  # hex, short form
    "0x7f000001",
    "0x7f.0.0.1",
    "017700000001",  # octal
    "0177.0.0.1",
    "0",
    "0.0.0.0",
    "localhost",
    "localhost.",
    "LOCALHOST",
    "127.0.0.1.",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[::7f00:1]",
    "[::ffff:0:127.0.0.1]",  # IPv4-translated (SIIT)
    "[64:ff9b::127.0.0.1]",  # NAT64 well-known prefix
    "[64:ff9b::7f00:1]",
    "[64:ff9b:1::7f00:1]",  # NAT64 local-use prefix
    "[64:ff9b:1:7f00:1::]",
    "[2002:7f00:1::]",  # 6to4
    "[2002:7f00:1::1]",
    f"[{_TEREDO_LOOPBACK_CLIENT}]",
    "[fe80::1%25lo]",  # scoped link-local
]


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_a_webhook_post_never_reaches_a_loopback_listener(listener: Listener, host: str) -> None:
    url = f"http://{host}:{listener.port}/hook"
    outcome = post(url, b"{}", {}, timeout=2, allow_private=False)
    assert not outcome.ok and outcome.status is None
    assert outcome.error and ("non-public" in outcome.error or "resolve" in outcome.error)
    assert listener.hits == 0, f"{url} reached the listener"


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_an_alert_webhook_never_reaches_a_loopback_listener(listener: Listener, host: str) -> None:
    channel = AlertWebhook(f"http://{host}:{listener.port}/alert", timeout_s=2)
    error = deliver(channel, _ALERT, allow_private=False)
    assert error is not None and "alert webhook" in error
    assert listener.hits == 0


@pytest.mark.parametrize("host", [h.strip("[]").replace("%25", "%") for h in LOOPBACK_HOSTS])
def test_an_alert_email_never_reaches_a_loopback_smtp_listener(
    listener: Listener, host: str
) -> None:
    error = deliver(
        Email("oncall@example.com", host=host, port=listener.port), _ALERT, allow_private=False
    )
    assert error is not None and "email" in error
    assert listener.hits == 0


# The forms that really lead to the listener on this machine: the control that shows the
# table above is not refused for an unrelated reason (a wrong port, no route)
REACHABLE = ["127.0.0.1", "2130706433", "0x7f.1", "017700000001", "[::ffff:127.0.0.1]", "0"]


@pytest.mark.parametrize("host", REACHABLE)
def test_the_same_targets_do_reach_the_listener_when_private_targets_are_allowed(
    listener: Listener, host: str
) -> None:
    post(f"http://{host}:{listener.port}/hook", b"{}", {}, timeout=2, allow_private=True)
    assert listener.hits == 1


def test_a_live_server_refuses_to_subscribe_a_loopback_webhook(
    server_factory: object, listener: Listener, tmp_path: Path
) -> None:
    srv = server_factory()  # type: ignore[operator]
    for host in ("[::127.0.0.1]", "[64:ff9b::7f00:1]", "2130706433", "[::ffff:7f00:1]"):
        resp = httpx.post(
            f"{srv.url}/api/v1/registry/webhooks",
            json={"url": f"http://{host}:{listener.port}/", "events": ["model_version.created"]},
        )
        assert resp.status_code == 403, (host, resp.text)
        err = error_of(resp)
        assert err["code"] == "PERMISSION_DENIED" and err["field"] == "url"
    assert listener.hits == 0


_ALERT = {
    "fingerprint": "m:c",
    "event": "fired",
    "severity": "warning",
    "monitor": "m",
    "check": "c",
    "message": "drift",
}

NOT_PUBLIC = [
    # IPv4: this host, private, shared, link-local, documentation, reserved, multicast
    "0.0.0.0",
    "0.1.2.3",
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "100.100.100.200",
    "169.254.169.254",
    "192.0.0.1",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.1",
    "203.0.113.1",
    "192.88.99.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 proper
    "::",
    "::1",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd12:3456::1",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "5f00::1",
    "2001:10::1",
    # IPv6 forms that embed an IPv4 address that is not public
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:0.0.0.0",
    "::127.0.0.1",
    "::a9fe:a9fe",
    "::8.8.8.8",
    "::ffff:0:127.0.0.1",
    "::ffff:0:a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::10.0.0.1",
    "64:ff9b::100.64.0.1",
    "64:ff9b:1::1",
    "64:ff9b:1:7f00:1::",
    "64:ff9b:1::808:808",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2002:a00:1::",
    "2002:c0a8:101::1",
    _TEREDO_LOOPBACK_CLIENT,
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo server 10.0.0.1, client 8.8.8.8
    "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo client 169.254.169.254 (inverted)
    # not addresses at all: refused, not guessed
    "",
    "localhost",
    "127.0.0.1:80",
    "[::1]",
    "1.2.3",
    "::ffff:1.2.3.4.5",
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700::1111",
    "2a00:1450:4001:81c::200e",
    "::ffff:8.8.8.8",
    "::ffff:0:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_not_public(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public(address: str) -> None:
    assert is_public(address)


def test_both_teredo_addresses_are_read() -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(_TEREDO_LOOPBACK_CLIENT))
    assert [str(a) for a in found] == ["65.54.227.120", "127.0.0.1"]
