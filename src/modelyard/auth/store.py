"""What an administrator does with auth, wherever the store is: embedded (SQL) or a server
(REST). Logging in, sessions and checking a token happen only on the server's side
(``SqlAuthStore``), never through a client."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

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


class AuthStore(ABC):
    # principals: users and service accounts
    @abstractmethod
    def create_user(
        self,
        name: str,
        *,
        admin: bool = False,
        password: str | None = None,
        email: str | None = None,
        display_name: str | None = None,
    ) -> NewUser:
        """A new user; without ``password`` a one-time one is made, to be changed at the
        first login. ``admin``: a global admin (and admin of the default project)."""

    @abstractmethod
    def create_service_account(self, name: str, *, owner: str | None = None) -> Principal:
        """A principal for programs; ``owner`` (by default the caller) is the person behind it."""

    @abstractmethod
    def get_principal(self, name: str) -> Principal: ...

    @abstractmethod
    def list_principals(self, kind: PrincipalKind | None = None) -> list[Principal]: ...

    @abstractmethod
    def set_disabled(self, name: str, disabled: bool) -> Principal:
        """A disabled principal cannot log in; its sessions end and its tokens stop working."""

    @abstractmethod
    def reset_password(self, name: str, password: str | None = None) -> NewUser:
        """A new password for a user (one-time unless given); every session of theirs ends."""

    @abstractmethod
    def unlock(self, name: str) -> None:
        """Lift the login lockout of a name (real or not)."""

    # projects and roles
    @abstractmethod
    def create_project(self, name: str, description: str | None = None) -> Project: ...

    @abstractmethod
    def list_projects(self) -> list[Project]:
        """The projects the caller can see."""

    @abstractmethod
    def grant(self, project: str, principal: str, role: str) -> RoleBinding: ...

    @abstractmethod
    def revoke(self, project: str, principal: str, role: str) -> None: ...

    @abstractmethod
    def members(self, project: str) -> list[RoleBinding]: ...

    # API tokens
    @abstractmethod
    def create_token(
        self,
        name: str,
        *,
        expires_s: int,
        principal: str | None = None,
        scopes: Sequence[TokenScope] | None = None,
    ) -> NewToken:
        """A token for the caller or for ``principal`` (a service account of theirs, or
        anyone for a global admin). ``scopes`` None: whatever the principal holds."""

    @abstractmethod
    def list_tokens(self, principal: str | None = None) -> list[TokenInfo]: ...

    @abstractmethod
    def revoke_token(self, token_id: str) -> None: ...
