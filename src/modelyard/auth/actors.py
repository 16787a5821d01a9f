"""The actor an authenticated principal acts as: its grants (narrowed by a token's scopes),
its person, and the role names the checks of auth-off mode still ask for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelyard.auth.entities import TokenScope
from modelyard.auth.sql_rows import person_of
from modelyard.identity import Actor
from modelyard.platform.access import ROLE_ACTIONS, Grants


def actor_of(
    row: Any,
    bindings: Mapping[str, frozenset[str]],
    scopes: Sequence[TokenScope] | None = None,
) -> Actor:
    """``row``: the principal (PRINCIPAL_COLUMNS); ``bindings``: its roles per project;
    ``scopes``: a token's, which narrow what it holds and never widen it."""
    is_admin = bool(row["is_admin"])
    grants = Grants.of(bindings, ["admin"] if is_admin else [])
    names: set[str] = set().union(*bindings.values()) if bindings else set()
    if scopes is not None:
        wanted: dict[str, list[str]] = {}
        for scope in scopes:
            wanted.setdefault(scope.project, []).append(scope.role)
        held = grants
        grants = grants.narrowed(Grants.of(wanted))
        names = {s.role for s in scopes if ROLE_ACTIONS[s.role] <= held.actions(s.project)}
    # the role names the governance checks of auth-off mode ask (identity.require_role):
    # those held in some project, all for an unscoped global admin
    roles = None if is_admin and scopes is None else frozenset(names)
    return Actor(
        name=str(row["name"]),
        roles=roles,
        id=str(row["principal_id"]),
        kind="service" if row["kind"] == "service" else "user",
        person=person_of(row),
        grants=grants,
    )
