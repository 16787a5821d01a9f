"""A real browser (Debian's Chromium) logs in through the OpenID provider, lands back on the
server with a session, and a page of another site cannot act with that session: a
``text/plain`` form, an url-encoded form and a ``fetch`` with credentials all change nothing.

Several defences stand in the way here, each enough alone: writes need a JSON content type
(which a form cannot send and a cross-site fetch cannot send without a preflight the server
never grants), the cookie is SameSite=Strict, and a session's writes need its CSRF token
and a same-site origin (tested request by request in tests/security/test_auth_login.py)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.fixtures.oidc import SsoServer
from tests.fixtures.stores import free_port

CHROMIUM = "/usr/bin/chromium"  # Debian's package: `make browser` (.ci/browser.sh) installs it

ATTACK = """<!doctype html><meta charset=utf-8><title>cute cats</title>
<form id=plain method=POST enctype=text/plain action="{api}/experiments">
<input name='{{"name": "pwned-plain", "project": "churn", "x": "' value='"}}'></form>
<form id=urlenc method=POST action="{api}/experiments"><input name=name value=pwned-form></form>
<iframe name=sink></iframe>
<script>
fetch("{api}/experiments", {{method: "POST", credentials: "include", mode: "no-cors",
  headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{name: "pwned-fetch",
  project: "churn"}})}}).catch(() => {{}});
document.getElementById("plain").target = "sink";
document.getElementById("urlenc").target = "sink";
document.getElementById("plain").submit();
setTimeout(() => document.getElementById("urlenc").submit(), 300);
setTimeout(() => {{ document.title = "done"; }}, 1500);
</script>"""


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` (.ci/browser.sh) installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=CHROMIUM)
        yield found
        found.close()


def _attacker(page_html: str) -> Iterator[str]:
    """A site of its own (``localhost``: another site than ``127.0.0.1``)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page_html.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}/"
    finally:
        server.shutdown()


def test_a_browser_logs_in_through_the_provider_and_other_sites_cannot_use_it(
    sso_server: SsoServer, browser: Any
) -> None:
    admin = {"Authorization": f"Bearer {sso_server.seeded.admin}"}
    mapping = {"group": "data-science", "project": "churn", "role": "editor"}
    httpx.put(f"{sso_server.url}/api/v1/auth/group-mappings", json=mapping, headers=admin)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{sso_server.url}/api/v1/auth/oidc/start?return_to=/api/v1/auth/whoami")
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", "anything")
    page.click("button[type=submit]")
    page.wait_for_url(f"{sso_server.url}/api/v1/auth/whoami", timeout=15_000)
    me = json.loads(page.inner_text("body"))
    assert me["name"].startswith("alice") and me["roles"] == {"churn": ["viewer", "editor"]}
    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["modelyard_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    # the session works for a same-site write that carries its CSRF token only; another site's
    # page tries three ways to write with it
    for url in _attacker(ATTACK.format(api=f"{sso_server.url}/api/v1")):
        attack = context.new_page()
        attack.goto(url)
        attack.wait_for_function("document.title === 'done'", timeout=15_000)
        attack.wait_for_timeout(500)
    found = httpx.get(
        f"{sso_server.url}/api/v1/experiments", params={"view": "all"}, headers=admin
    ).json()["experiments"]
    assert not [e["name"] for e in found if e["name"].startswith("pwned")]
    context.close()


def test_the_command_line_logs_in_through_a_real_browser(
    sso_server: SsoServer, browser: Any, tmp_path: Path
) -> None:
    """``modelyard login URL`` as a user runs it: the command prints the address, Chromium
    logs in at the provider and lands on the command line's page on 127.0.0.1, and the
    command saves a token that acts as the user."""
    import os
    import re
    import subprocess
    import sys

    env = {**os.environ, "MODELYARD_CONFIG_DIR": str(tmp_path), "COLUMNS": "80"}
    env.pop("MODELYARD_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelyard", "login", sso_server.url, "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    start = None
    for _ in range(20):
        found = re.search(r"(http://127\.0\.0\.1:\d+/start)\b", proc.stdout.readline())
        if found:
            start = found.group(1)
            break
    assert start is not None, "modelyard login printed no address"
    context = browser.new_context()
    page = context.new_page()
    page.goto(start)
    page.fill("input[name=login]", "erin")
    page.fill("input[name=password]", "anything")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"http://127\.0\.0\.1:\d+/callback\?.*code="), timeout=15_000)
    assert "You can close this tab" in page.inner_text("body")
    out, errs = proc.communicate(timeout=60)
    assert proc.returncode == 0, errs
    assert "logged in to" in out
    # the browser holds no session of the server: the token went to the command line only
    assert "modelyard_session" not in {c["name"] for c in context.cookies()}
    token = json.loads((tmp_path / "credentials.json").read_text())[sso_server.url]["token"]
    me = httpx.get(
        f"{sso_server.url}/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert me["name"].startswith("erin")
    context.close()
