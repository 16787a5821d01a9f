"""The command line's single sign-on (RFC 8252, "OAuth 2.0 for native apps"): it listens on
a free port of 127.0.0.1 and opens the browser at ``http://127.0.0.1:<port>/start``, which
gives the browser a cookie for this port (a secret in no URL) and sends it on to the
server's login with the port and a PKCE challenge. The browser comes back to
``/callback`` with a one-use code that only the command line's verifier can exchange for an
API token, and the login's challenge as ``state``. An answer without the cookie or the
state (another page, another login, another user of this machine who read the address) is
ignored without reaching the server; the start address opened twice ends the login. A
refusal by the provider comes back the same way and ends the wait. The provider's client
secret never leaves the server."""

from __future__ import annotations

import hmac
import html
import secrets
import threading
import time
import webbrowser
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from modelyard.auth.sql_oidc import pkce_challenge
from modelyard.errors import ModelyardError, TooManyRequests, Unauthenticated
from modelyard.store.rest import HttpTransport
from modelyard.terminal import err, out

START_PATH = "/api/v1/auth/oidc/start"
COOKIE = "modelyard_cli_login"
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
    secret = secrets.token_urlsafe(32)  # the browser's cookie on this port, in no URL
    got: dict[str, Any] = {}
    failed: list[str] = []
    started: list[bool] = []
    done = threading.Event()
    lock = threading.Lock()

    class Callback(BaseHTTPRequestHandler):
        timeout = 10  # a connection that sends nothing more is dropped, and blocks no other

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/start":
                self._start()
                return
            if parts.path != "/callback":
                self._answer(404, _page("Not found", "This is modelyard login's callback."))
                return
            query = parse_qs(parts.query)
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            mine = COOKIE in cookie and hmac.compare_digest(cookie[COOKIE].value, secret)
            if query.get("state", [""])[0] != challenge or not mine:
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
                    self._answer(401, _page("Login refused", failed[0]))
                    done.set()  # after the answer: the wait's end closes this server
                    return
                try:
                    found = _exchange(http, query.get("code", [""])[0], verifier)
                except ModelyardError as exc:
                    err.print(f"the login's code was refused: {exc.message}", markup=False)
                    text = f"The login was refused: {exc.message}. Run modelyard login again."
                    failed.append(exc.message)
                    self._answer(400, _page("Login refused", text))
                    done.set()
                    return
                got.update(found)
                text = f"Logged in to {url} as {found.get('principal')}. You can close this tab."
                self._answer(200, _page("Logged in", text))
                done.set()

        def _start(self) -> None:
            """Once: the browser gets this login's cookie and goes on to the server. A second
            opening (someone else who read the address) ends the login for everyone."""
            with lock:
                again = bool(started) or done.is_set()
                started.append(True)
                if again:
                    self._answer(409, _page("Opened twice", "This login was opened already."))
                    if not done.is_set():
                        failed.append(
                            "the login address was opened twice (by someone else?); run "
                            "modelyard login again"
                        )
                        done.set()
                    return
            self.send_response(302)
            self.send_header("Location", start)
            self.send_header(
                "Set-Cookie", f"{COOKIE}={secret}; Path=/callback; HttpOnly; SameSite=Lax"
            )
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the terminal is the user's; requests are not news

    start = ""  # the server's login address, set once the port is known

    server = ThreadingHTTPServer(("127.0.0.1", 0), Callback)  # one slow caller stalls no other
    port = int(server.server_address[1])
    start = f"{url}{START_PATH}?" + urlencode({"cli_port": port, "cli_challenge": challenge})
    thread = threading.Thread(target=server.serve_forever, name="login-callback", daemon=True)
    thread.start()
    try:
        here = f"http://127.0.0.1:{port}/start"
        out.print("Log in through your browser; if it does not open, open this address:")
        out.print(f"  {here}", soft_wrap=True, markup=False, highlight=False)
        if open_browser:
            webbrowser.open(here)
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
