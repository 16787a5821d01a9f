"""Who is acting: the actor behind every mutation, and the roles the configuration gives them.

Until authenticated users exist, the actor is the configured identity (``MODELYARD_USER``, else
the OS user); a server takes it from the ``X-Modelyard-User`` request header. Roles come from
``MODELYARD_ROLES`` (``approver=alice,carol;admin=alice``); with no roles configured every actor
holds every role (single-user mode). Callers ask ``current_actor()`` and ``require_role``;
authentication will replace only how the actor is bound, not these calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from modelyard.config import Settings, identity_env
from modelyard.errors import InvalidArgument, PermissionDenied

USER_HEADER = "x-modelyard-user"
MAX_ACTOR = 256
ADMIN_ROLE = "admin"
GATE_ROLE = "gatekeeper"  # records gate results (version tags gate.<name>); admin may too
_ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")


ActorKind = Literal["user", "service", "system", "anonymous"]


class Granted(Protocol):
    """What an authenticated actor may do (``platform.access.Grants`` is the one kind): the
    actions it holds in a project, and those it holds in every project."""

    @property
    def everywhere(self) -> frozenset[str]: ...

    def actions(self, project: str) -> frozenset[str]: ...

    def projects(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Actor:
    """Who acts. ``grants`` None: unrestricted (auth off, as before authentication, or a
    system loop of the server's own); ``roles`` are the MODELYARD_ROLES of auth-off mode.
    ``person`` is the human behind a service account (the one approvals count)."""

    name: str
    roles: frozenset[str] | None = None  # None: no roles configured, every role is held
    id: str | None = None
    kind: ActorKind = "user"
    person: str | None = None
    grants: Granted | None = None
    # how it proved who it is, where that matters: "sso", a single sign-on session or a
    # provider's token; "sso-token", an API token a single sign-on login made. Both carry
    # the provider's ``groups`` (their mapped roles are in ``grants``), so the tokens they
    # make must not outlive the provider's say
    credential: str | None = None
    groups: tuple[str, ...] | None = None

    def has_role(self, role: str) -> bool:
        return self.roles is None or role in self.roles


def parse_roles(text: str | None) -> dict[str, frozenset[str]] | None:
    """``approver=alice,carol;admin=alice`` -> {user: roles}; None when nothing is configured."""
    if text is None or not text.strip():
        return None
    by_user: dict[str, set[str]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        role, eq, users = part.partition("=")
        role = role.strip()
        if not eq or not _ROLE_NAME.fullmatch(role):
            raise InvalidArgument(
                f"MODELYARD_ROLES entry {part.strip()!r} must look like role=user1,user2 "
                "(role: lower-case letters, digits, '_' or '-')",
                field="MODELYARD_ROLES",
            )
        for user in users.split(","):
            if user.strip():
                by_user.setdefault(user.strip(), set()).add(role)
    return {user: frozenset(roles) for user, roles in by_user.items()}


def check_actor_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_ACTOR:
        raise InvalidArgument(
            f"the acting user must be a non-empty string of at most {MAX_ACTOR} characters",
            field="user",
        )
    if any(ord(c) < 32 for c in name):
        raise InvalidArgument("the acting user must not hold control characters", field="user")
    return name


def actor_for(name: str, roles: Mapping[str, frozenset[str]] | None) -> Actor:
    check_actor_name(name)
    return Actor(name, None if roles is None else roles.get(name, frozenset()))


def settings_actor(settings: Settings) -> Actor:
    return actor_for(settings.user, parse_roles(settings.roles))


_current: ContextVar[Actor | None] = ContextVar("modelyard_actor", default=None)


_configured: tuple[tuple[str | None, str | None], Actor] | None = None


def current_actor() -> Actor:
    """The actor bound to this context, else the process's configured identity (read again
    only when MODELYARD_USER or MODELYARD_ROLES changes: every store call asks)."""
    global _configured
    bound = _current.get()
    if bound is not None:
        return bound
    key = identity_env()
    known = _configured
    if known is not None and known[0] == key:
        return known[1]
    actor = settings_actor(Settings.from_env())
    _configured = (key, actor)
    return actor


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def require_role(role: str, action: str, *, or_admin: bool = False) -> Actor:
    actor = current_actor()
    if not actor.has_role(role) and not (or_admin and actor.has_role(ADMIN_ROLE)):
        either = f" (or {ADMIN_ROLE!r})" if or_admin else ""
        raise PermissionDenied(
            f"{action} needs the {role!r} role{either}; user {actor.name!r} does not hold it "
            "(roles come from MODELYARD_ROLES on the server)",
            field="user",
        )
    return actor


class ActingAs:
    """A proxy whose method calls run as ``actor``, even on another thread (a client's
    background writer applies its queued writes as the client's user)."""

    def __init__(self, target: object, actor: Actor) -> None:
        self._target = target
        self._actor = actor

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if not callable(found):
            return found
        actor = self._actor

        def bound(*args: Any, **kwargs: Any) -> Any:
            with acting_as(actor):
                return found(*args, **kwargs)

        return bound
