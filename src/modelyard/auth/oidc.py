"""Single sign-on with an OpenID provider: the browser login (authorization code with PKCE)
and bearer JWTs of programs.

Login: ``start`` keeps the login's state, nonce and PKCE verifier (hashed browser binding
beside them) and sends the browser to the provider; ``finish`` takes them back once (a state
is used once, within ten minutes, by the browser that started it), checks the provider's
``iss`` (RFC 9207), exchanges the code with the verifier, checks the ID token (signature from
the provider's JWKS, issuer, audience = this client, nonce, expiry) and answers the principal
of (``iss``, ``sub``) and the user's groups. ``return_to`` is a path on this server only, so
the login cannot be used to send a browser elsewhere.

A command-line login (``modelyard login URL`` with single sign-on) is the same browser
login started with the command line's loopback port and a PKCE challenge of its own; the
callback sends the browser to ``http://127.0.0.1:<port>/`` with a one-use code, which the
command line exchanges, with its verifier, for an API token carrying the user's groups.

Bearer JWTs: ``bearer`` checks an access token the provider signed for this server's
audience; a client-credentials token (``sub`` is the client) acts as a service account.
The provider's groups map to project roles (``SqlOidc.map_group``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx

from modelyard.auth.actors import actor_of
from modelyard.auth.jwks import ProviderKeys, check_issuer_url
from modelyard.auth.sql_oidc import SqlOidc, groups_of
from modelyard.auth.sql_projects import roles_of
from modelyard.auth.sql_sessions import sha256_hex, with_group_roles
from modelyard.auth.sql_store import SqlAuthStore
from modelyard.config import Settings
from modelyard.errors import InvalidArgument, Unauthenticated, Unavailable
from modelyard.identity import Actor

CALLBACK_PATH = "/api/v1/auth/oidc/callback"
SCOPES = "openid profile email"
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Answered:
    """A login the provider answered: who, their groups, and where the browser goes next
    (a path here; or, for a command-line login, its loopback port and PKCE challenge)."""

    principal: Any
    groups: list[str]
    return_to: str
    cli_port: int | None = None
    cli_challenge: str | None = None
    error: str | None = None  # the provider refused a command line's login


def check_cli(port: object, challenge: object) -> tuple[int, str] | None:
    """A command-line login's loopback port (1024-65535) and S256 PKCE challenge; None for
    a browser's login. The browser is sent back to http://127.0.0.1:<port>/ only (RFC 8252):
    the host is never the caller's to choose."""
    if port is None and challenge is None:
        return None
    try:
        number = int(str(port))
    except ValueError:
        number = 0
    if not 1024 <= number <= 65535 or str(number) != str(port):
        raise InvalidArgument(
            "cli_port must be the command line's loopback port, 1024 to 65535", field="cli_port"
        )
    if not isinstance(challenge, str) or not _CHALLENGE.fullmatch(challenge):
        raise InvalidArgument(
            "cli_challenge must be the S256 PKCE challenge (43 base64url characters)",
            field="cli_challenge",
        )
    return number, challenge


def check_return_to(value: str | None) -> str:
    """A path on this server (no scheme, no host, no '//' or backslash): where the browser
    goes after the login."""
    path = value or "/"
    if (
        not isinstance(path, str)
        or len(path) > 2000
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(ord(c) < 32 for c in path)
    ):
        raise InvalidArgument(
            "return_to must be a path on this server, such as /", field="return_to"
        )
    return path


class SingleSignOn:
    def __init__(self, store: SqlAuthStore, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
            raise InvalidArgument(
                "single sign-on needs MODELYARD_OIDC_ISSUER, MODELYARD_OIDC_CLIENT_ID and "
                "MODELYARD_OIDC_CLIENT_SECRET",
                field="MODELYARD_OIDC_ISSUER",
            )
        self.issuer = check_issuer_url(settings.oidc_issuer)
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.audience = settings.oidc_audience or settings.oidc_client_id
        self.groups_claim = settings.oidc_groups_claim
        self.keys = ProviderKeys(self.issuer)
        self.sql = SqlOidc(store.db, self.issuer, auto_create=settings.oidc_auto_create)
        self.store = store
        store.sessions.group_roles = self.sql.mapped_roles
        store.tokens.group_roles = self.sql.mapped_roles

    # --- the browser login ---------------------------------------------------------------
    def start(
        self, return_to: str | None, redirect_uri: str, cli: tuple[int, str] | None = None
    ) -> tuple[str, str]:
        """``(the provider URL to send the browser to, the secret of its binding cookie)``;
        ``cli``: the loopback port and challenge of a command line waiting (``check_cli``)."""
        from authlib.common.security import generate_token
        from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        path = check_return_to(return_to)
        state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
        browser = secrets.token_urlsafe(32)
        self.sql.begin(state, nonce, verifier, sha256_hex(browser), path, cli)
        url = prepare_grant_uri(
            str(self.keys.discovery()["authorization_endpoint"]),
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=SCOPES,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return str(url), browser

    def finish(self, params: Mapping[str, str], browser: str | None, redirect_uri: str) -> Answered:
        """The login the provider answered (for a command line's login, a refusal too: its
        browser goes back to tell it)."""
        if "error" in params:
            refused = f"the provider refused the login: {str(params['error'])[:100]}"
            row = (
                None
                if browser is None
                else self.sql.take(str(params.get("state", ""))[:128], sha256_hex(browser))
            )
            if row is None or row["cli_port"] is None:
                raise Unauthenticated(refused)
            return Answered(None, [], "/", row["cli_port"], row["cli_challenge"], refused)
        disc = self.keys.discovery()
        iss = params.get("iss")
        said = iss is not None or disc.get("authorization_response_iss_parameter_supported")
        if said and (iss or "").rstrip("/") != self.issuer:
            raise Unauthenticated("the login's answer is not from the configured provider")
        if browser is None:
            raise Unauthenticated("this login was started in another browser; start it again")
        row = self.sql.take(str(params.get("state", ""))[:128], sha256_hex(browser))
        if row is None:
            raise Unauthenticated(
                "this login is unknown, too old or was started in another browser; start it again"
            )
        code = params.get("code")
        if not code:
            raise Unauthenticated("the provider's answer has no code")
        tokens = self._exchange(disc, code, redirect_uri, row["code_verifier"])
        claims = self.keys.verify(
            str(tokens.get("id_token", "")), audience=self.client_id, nonce=row["nonce"]
        )
        return Answered(
            self.sql.principal(claims),
            groups_of(claims, self.groups_claim),
            str(row["return_to"]),
            row["cli_port"],
            row["cli_challenge"],
        )

    def actor(self, row: Any, groups: list[str]) -> Actor:
        """The actor a principal logged in through the provider acts as: its own roles and
        those its groups are mapped to."""
        with self.store.db.read() as conn:
            held = with_group_roles(
                roles_of(conn, row["principal_id"]), self.sql.mapped_roles(conn, groups)
            )
        return replace(actor_of(row, held), credential="sso", groups=tuple(groups))

    def _exchange(
        self, disc: dict[str, Any], code: str, redirect_uri: str, verifier: str
    ) -> dict[str, Any]:
        try:
            resp = httpx.post(
                str(disc["token_endpoint"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": verifier,
                },
                auth=(self.client_id, self.client_secret),
                timeout=self.keys.timeout_s,
                follow_redirects=False,
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"the OpenID provider's token endpoint did not answer: {exc}"
            ) from None
        if resp.status_code != 200:
            raise Unauthenticated(f"the provider refused the code ({resp.status_code})")
        found = resp.json()
        if not isinstance(found, dict) or "id_token" not in found:
            raise Unauthenticated("the provider answered the code without an ID token")
        return found

    # --- bearer JWTs ------------------------------------------------------------------------
    def bearer(self, token: str) -> tuple[Actor, int]:
        """The actor a provider-signed access token stands for, and when it expires (ms)."""
        claims = self.keys.verify(token, audience=self.audience)
        service = claims.get("client_id") is not None and claims.get("client_id") == claims["sub"]
        row = self.sql.principal(claims, service=service)
        return self.actor(row, groups_of(claims, self.groups_claim)), int(claims["exp"]) * 1000
