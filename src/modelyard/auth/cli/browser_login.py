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
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
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


@dataclass
class _Login:
    """One command-line login under way, as its loopback server's handlers share it."""

    url: str
    http: HttpTransport
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # in no URL
    start: str = ""  # the server's login address, once the port is known
    got: dict[str, Any] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    started: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def challenge(self) -> str:
        return pkce_challenge(self.verifier)

    def fail(self, message: str) -> None:
        if not self.done.is_set():
            self.failed.append(message)
            self.done.set()


class _Server(ThreadingHTTPServer):  # one slow caller stalls no other
    login: _Login


class _Callback(BaseHTTPRequestHandler):
    timeout = 10  # a connection that sends nothing more is dropped, and blocks no other

    @property
    def login(self) -> _Login:
        return cast(_Server, self.server).login

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/start":
            self._start()
        elif parts.path == "/callback":
            self._callback(parse_qs(parts.query))
        else:
            self._answer(404, _page("Not found", "This is modelyard login's callback."))

    def _start(self) -> None:
        """Once: the browser gets this login's cookie and goes on to the server. A second
        opening (someone else who read the address) ends the login for everyone."""
        login = self.login
        with login.lock:
            if login.started or login.done.is_set():
                self._answer(409, _page("Opened twice", "This login was opened already."))
                login.fail(
                    "the login address was opened twice (by someone else?); run modelyard "
                    "login again"
                )
                return
            login.started = True
        self.send_response(302)
        self.send_header("Location", login.start)
        self.send_header(
            "Set-Cookie", f"{COOKIE}={login.secret}; Path=/callback; HttpOnly; SameSite=Lax"
        )
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _callback(self, query: dict[str, list[str]]) -> None:
        login = self.login
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        mine = COOKIE in cookie and hmac.compare_digest(cookie[COOKIE].value, login.secret)
        if query.get("state", [""])[0] != login.challenge or not mine:
            # another page, login or user: not ours, and not worth the server's time
            text = "This answer is not for the login this command line started; it waits on."
            self._answer(400, _page("Not this login", text))
            return
        with login.lock:
            if login.done.is_set():
                self._answer(200, _page("Logged in", "Logged in already; close this tab."))
            elif "error" in query:
                refused = query["error"][0][:200]
                self._answer(401, _page("Login refused", refused))
                login.fail(refused)  # after the answer: the wait's end closes this server
            else:
                self._exchange(login, query.get("code", [""])[0])

    def _exchange(self, login: _Login, code: str) -> None:
        try:
            found = _exchange(login.http, code, login.verifier)
        except ModelyardError as exc:
            err.print(f"the login's code was refused: {exc.message}", markup=False)
            text = f"The login was refused: {exc.message}. Run modelyard login again."
            self._answer(400, _page("Login refused", text))
            login.fail(exc.message)
            return
        login.got.update(found)
        text = f"Logged in to {login.url} as {found.get('principal')}. You can close this tab."
        self._answer(200, _page("Logged in", text))
        login.done.set()

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the terminal is the user's; requests are not news


def browser_login(
    url: str, http: HttpTransport, *, open_browser: bool, timeout_s: float
) -> dict[str, Any]:
    """What ``POST /api/v1/auth/oidc/token`` answered (principal, token, expires_time)."""
    login = _Login(url, http)
    server = _Server(("127.0.0.1", 0), _Callback)
    server.login = login
    port = int(server.server_address[1])
    login.start = f"{url}{START_PATH}?" + urlencode(
        {"cli_port": port, "cli_challenge": login.challenge}
    )
    thread = threading.Thread(target=server.serve_forever, name="login-callback", daemon=True)
    thread.start()
    try:
        here = f"http://127.0.0.1:{port}/start"
        out.print("Log in through your browser; if it does not open, open this address:")
        out.print(f"  {here}", soft_wrap=True, markup=False, highlight=False)
        if open_browser:
            webbrowser.open(here)
        if not login.done.wait(timeout_s):
            raise Unauthenticated(
                f"no login came back within {timeout_s:.0f} s; run modelyard login again "
                "(the browser must run on this machine, or forward its port)"
            )
    finally:
        server.shutdown()
        server.server_close()
    if login.failed:
        raise Unauthenticated(login.failed[0])
    return login.got


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
