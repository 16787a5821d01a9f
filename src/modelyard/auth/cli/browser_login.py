"""The command line's single sign-on (RFC 8252, "OAuth 2.0 for native apps"): it listens on
a free port of 127.0.0.1, sends the browser to the server's login with that port and a PKCE
challenge, and takes back, on that port, a one-use code that only its verifier can exchange
for an API token. The provider's client secret never leaves the server; a code someone else
plants on the port (another page, another login) is refused by the server and the command
line keeps waiting for its own: the server echoes the login's challenge as ``state``, and an
answer without it is not even sent to the server (junk cannot use up the login rate limit).
A refusal by the provider comes back the same way and ends the wait."""

from __future__ import annotations

import html
import secrets
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from modelyard.auth.sql_oidc import pkce_challenge
from modelyard.errors import ModelyardError, TooManyRequests, Unauthenticated
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
    failed: list[str] = []
    done = threading.Event()
    lock = threading.Lock()

    class Callback(BaseHTTPRequestHandler):
        timeout = 10  # a connection that sends nothing more is dropped, and blocks no other

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != "/callback":
                self._answer(404, _page("Not found", "This is modelyard login's callback."))
                return
            query = parse_qs(parts.query)
            if query.get("state", [""])[0] != challenge:
                # another page, or another login: not ours, and not worth the server's time
                text = "This answer is not for the login this command line started; it waits on."
                self._answer(400, _page("Not this login", text))
                return
            with lock:
                if done.is_set():
                    self._answer(200, _page("Logged in", "Logged in already; close this tab."))
                    return
                if "error" in query:
                    failed.append(query["error"][0][:200])
                    done.set()
                    self._answer(401, _page("Login refused", failed[0]))
                    return
                try:
                    found = _exchange(http, query.get("code", [""])[0], verifier)
                except ModelyardError as exc:
                    err.print(f"the login's code was refused: {exc.message}", markup=False)
                    text = f"The login was refused: {exc.message}. Run modelyard login again."
                    failed.append(exc.message)
                    done.set()
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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)  # one slow caller stalls no other
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
    if failed:
        raise Unauthenticated(failed[0])
    return got


def _exchange(http: HttpTransport, code: str, verifier: str) -> dict[str, Any]:
    """The token for the code; a server that asks to wait (429) is asked again, twice."""
    for attempt in range(3):
        try:
            found: dict[str, Any] = http.request(
                "POST", TOKEN_PATH, json={"code": code, "code_verifier": verifier}
            )
            return found
        except TooManyRequests as exc:
            if attempt == 2:
                raise
            time.sleep(min(float(exc.retry_after or 5), 30.0))
    raise AssertionError("unreachable")
