"""The command line's single sign-on (RFC 8252, "OAuth 2.0 for native apps"): it listens on
a free port of 127.0.0.1, sends the browser to the server's login with that port and a PKCE
challenge, and takes back, on that port, a one-use code that only its verifier can exchange
for an API token. The provider's client secret never leaves the server; a code someone else
plants on the port (another page, another login) is refused by the server and the command
line keeps waiting for its own."""

from __future__ import annotations

import html
import secrets
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from modelyard.auth.sql_oidc import pkce_challenge
from modelyard.errors import ModelyardError, Unauthenticated
from modelyard.store.rest import HttpTransport
from modelyard.terminal import err, out

START_PATH = "/api/v1/auth/oidc/start"
TOKEN_PATH = "/api/v1/auth/oidc/token"  # noqa: S105 - a path, not a secret


def _page(title: str, text: str) -> bytes:
    return (
        "<!doctype html><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><p>{html.escape(text)}</p>"
    ).encode()


def browser_login(
    url: str, http: HttpTransport, *, open_browser: bool, timeout_s: float
) -> dict[str, Any]:
    """What ``POST /api/v1/auth/oidc/token`` answered (principal, token, expires_time)."""
    verifier = secrets.token_urlsafe(48)
    challenge = pkce_challenge(verifier)
    got: dict[str, Any] = {}
    done = threading.Event()
    lock = threading.Lock()

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/callback":
                self._answer(404, _page("Not found", "This is modelyard login's callback."))
                return
            code = parse_qs(parts.query).get("code", [""])[0]
            with lock:
                if done.is_set():
                    self._answer(200, _page("Logged in", "Logged in already; close this tab."))
                    return
                try:
                    found = http.request(
                        "POST", TOKEN_PATH, json={"code": code, "code_verifier": verifier}
                    )
                except ModelyardError as exc:
                    err.print(f"a login came back and was refused: {exc.message}", markup=False)
                    text = f"The login was refused: {exc.message}. Run modelyard login again."
                    self._answer(400, _page("Login refused", text))
                    return
                got.update(found)
                done.set()
            text = f"Logged in to {url} as {found.get('principal')}. You can close this tab."
            self._answer(200, _page("Logged in", text))

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the terminal is the user's; requests are not news

    server = HTTPServer(("127.0.0.1", 0), Callback)
    port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="login-callback", daemon=True)
    thread.start()
    try:
        start = f"{url}{START_PATH}?" + urlencode({"cli_port": port, "cli_challenge": challenge})
        out.print("Log in through your browser; if it does not open, open this address:")
        out.print(f"  {start}", soft_wrap=True, markup=False, highlight=False)
        if open_browser:
            webbrowser.open(start)
        if not done.wait(timeout_s):
            raise Unauthenticated(
                f"no login came back within {timeout_s:.0f} s; run modelyard login again "
                "(the browser must run on this machine, or forward its port)"
            )
    finally:
        server.shutdown()
        server.server_close()
    return got
