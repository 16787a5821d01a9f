"""Auth as a client of a modelyard server: ``/api/v1/users``, ``/api/v1/service-accounts``,
``/api/v1/projects`` and ``/api/v1/tokens``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from modelyard.auth.entities import (
    NewToken,
    NewUser,
    Principal,
    PrincipalKind,
    Project,
    RoleBinding,
    TokenInfo,
    TokenScope,
)
from modelyard.auth.store import AuthStore
from modelyard.store.rest import HttpTransport

USERS = "/api/v1/users"
PROJECTS = "/api/v1/projects"
TOKENS = "/api/v1/tokens"


def _q(part: str) -> str:
    return quote(part, safe="")


class RestAuthStore(AuthStore):
    def __init__(self, http: HttpTransport) -> None:
        self.http = http

    def rotate_signing_key(self) -> str:
        """Sign serving tokens with a new key from now on (a global admin's); its kid."""
        found = self.http.request("POST", "/api/v1/auth/signing-keys/rotate", json={})
        return str(found["kid"])

    def serving_token(
        self, endpoint: str | None, ttl: str = "15m", *, admin: bool = False
    ) -> dict[str, Any]:
        """A short-lived token to call ``endpoint`` on inference servers with --auth (or,
        ``admin``, their admin routes: a global admin's)."""
        body: dict[str, Any] = {"ttl": ttl}
        if admin:
            body["admin"] = True
        else:
            body["endpoint"] = endpoint
        found: dict[str, Any] = self.http.request("POST", "/api/v1/auth/serving-tokens", json=body)
        return found

    def whoami(self) -> dict[str, Any]:
        """Who this client's token is, and what it may do per project."""
        found: dict[str, Any] = self.http.request("GET", "/api/v1/auth/whoami")
        return found

    def serving_tokens(self, principal: str | None = None) -> list[dict[str, Any]]:
        """Unexpired serving tokens: one's own, or ``principal``'s (a global admin)."""
        params = {} if principal is None else {"principal": principal}
        found = self.http.request("GET", "/api/v1/auth/serving-tokens", params=params)
        return list(found["serving_tokens"])

    def revoke_serving_token(self, jti: str) -> None:
        """Inference servers refuse it within seconds, before it expires."""
        self.http.request("DELETE", f"/api/v1/auth/serving-tokens/{quote(jti, safe='')}")

    def create_user(
        self,
        name: str,
        *,
        admin: bool = False,
        password: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
    ) -> NewUser:
        body = {
            "name": name,
            "admin": admin,
            "password": password,
            "email": email,
            "display_name": display_name,
        }
        return NewUser.from_dict(self.http.request("POST", USERS, json=body))

    def create_service_account(self, name: str, *, owner: str | None = None) -> Principal:
        got = self.http.request(
            "POST", "/api/v1/service-accounts", json={"name": name, "owner": owner}
        )
        return Principal.from_dict(got)

    def get_principal(self, name: str) -> Principal:
        return Principal.from_dict(self.http.request("GET", f"{USERS}/{_q(name)}"))

    def list_principals(self, kind: PrincipalKind | None = None) -> list[Principal]:
        params = {} if kind is None else {"kind": kind}
        got = self.http.request("GET", USERS, params=params)
        return [Principal.from_dict(p) for p in got["principals"]]

    def set_disabled(self, name: str, disabled: bool) -> Principal:
        verb = "disable" if disabled else "enable"
        return Principal.from_dict(self.http.request("POST", f"{USERS}/{_q(name)}/{verb}"))

    def reset_password(self, name: str, password: str | None = None) -> NewUser:
        got = self.http.request(
            "POST", f"{USERS}/{_q(name)}/password-reset", json={"password": password}
        )
        return NewUser.from_dict(got)

    def unlock(self, name: str) -> None:
        self.http.request("POST", f"{USERS}/{_q(name)}/unlock", idempotent=True)

    def create_project(self, name: str, description: str | None = None) -> Project:
        body = {"name": name, "description": description}
        return Project.from_dict(self.http.request("POST", PROJECTS, json=body))

    def list_projects(self) -> list[Project]:
        return [Project.from_dict(p) for p in self.http.request("GET", PROJECTS)["projects"]]

    def grant(self, project: str, principal: str, role: str) -> RoleBinding:
        body = {"principal": principal, "role": role}
        got = self.http.request(
            "POST", f"{PROJECTS}/{_q(project)}/members", json=body, idempotent=True
        )
        return RoleBinding.from_dict(got)

    def revoke(self, project: str, principal: str, role: str) -> None:
        path = f"{PROJECTS}/{_q(project)}/members/{_q(principal)}/{_q(role)}"
        self.http.request("DELETE", path)

    def members(self, project: str) -> list[RoleBinding]:
        got = self.http.request("GET", f"{PROJECTS}/{_q(project)}/members")
        return [RoleBinding.from_dict(m) for m in got["members"]]

    def create_token(
        self,
        name: str,
        *,
        expires_s: int,
        principal: str | None = None,
        scopes: Sequence[TokenScope] | None = None,
    ) -> NewToken:
        body: dict[str, Any] = {"name": name, "expires": expires_s, "principal": principal}
        if scopes is not None:
            body["scopes"] = [s.to_dict() for s in scopes]
        return NewToken.from_dict(self.http.request("POST", TOKENS, json=body))

    def list_tokens(self, principal: str | None = None) -> list[TokenInfo]:
        params = {} if principal is None else {"principal": principal}
        got = self.http.request("GET", TOKENS, params=params)
        return [TokenInfo.from_dict(t) for t in got["tokens"]]

    def revoke_token(self, token_id: str) -> None:
        self.http.request("DELETE", f"{TOKENS}/{_q(token_id)}")
