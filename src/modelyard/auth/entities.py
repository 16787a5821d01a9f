"""What auth hands out: principals, projects, role bindings and API tokens (never a secret
except in the one answer that creates it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

PrincipalKind = Literal["user", "service"]


@dataclass(frozen=True)
class Principal:
    """A user or a service account. ``owner``: the user behind a service account (whose
    person approvals count)."""

    name: str
    kind: PrincipalKind
    is_admin: bool = False
    disabled: bool = False
    owner: str | None = None
    display_name: str | None = None
    email: str | None = None
    created_by: str | None = None
    created_time: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Principal:
        fields: dict[str, Any] = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**fields)


@dataclass(frozen=True)
class NewUser:
    """A user just made (or whose password was reset): the one-time password is shown once
    and must be changed at the first login."""

    principal: Principal
    password: str

    def to_dict(self) -> dict[str, Any]:
        return {"principal": self.principal.to_dict(), "password": self.password}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NewUser:
        return cls(Principal.from_dict(d["principal"]), d["password"])


@dataclass(frozen=True)
class Project:
    name: str
    description: str | None = None
    created_by: str | None = None
    created_time: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Project:
        fields: dict[str, Any] = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**fields)


@dataclass(frozen=True)
class RoleBinding:
    project: str
    principal: str
    role: str
    granted_by: str
    granted_time: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RoleBinding:
        return cls(d["project"], d["principal"], d["role"], d["granted_by"], d["granted_time"])


@dataclass(frozen=True)
class TokenScope:
    project: str
    role: str

    def to_dict(self) -> dict[str, str]:
        return {"project": self.project, "role": self.role}


@dataclass(frozen=True)
class TokenInfo:
    """An API token without its secret. ``scopes`` None: the token acts with whatever its
    principal holds at the time; else only with these roles (and never more than held)."""

    token_id: str
    name: str
    principal: str
    scopes: tuple[TokenScope, ...] | None
    expires_time: int
    created_by: str
    created_time: int
    last_used_time: int | None = None
    revoked_time: int | None = None
    # a single sign-on login's token: the provider's groups at that login (their roles count)
    groups: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scopes"] = None if self.scopes is None else [s.to_dict() for s in self.scopes]
        d["groups"] = None if self.groups is None else list(self.groups)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TokenInfo:
        scopes = d.get("scopes")
        return cls(
            token_id=d["token_id"],
            name=d["name"],
            principal=d["principal"],
            scopes=None if scopes is None else tuple(TokenScope(**s) for s in scopes),
            expires_time=d["expires_time"],
            created_by=d["created_by"],
            created_time=d["created_time"],
            last_used_time=d.get("last_used_time"),
            groups=None if d.get("groups") is None else tuple(d["groups"]),
            revoked_time=d.get("revoked_time"),
        )


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``token`` is shown this once and never kept."""

    info: TokenInfo
    token: str

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "token": self.token}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NewToken:
        return cls(TokenInfo.from_dict(d["info"]), d["token"])
