"""Projects in the stores' queries: which project a new object goes in, which rows a list may
return, and the check on one object's project (``access.require``: a hidden project answers
the very NotFound of a missing object).

Every function here is free for an unrestricted actor (auth off, or the server's own loops):
no filter, no extra query, the object goes in the configured project.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelyard.errors import InvalidArgument, NotFound, PermissionDenied
from modelyard.identity import ADMIN_ROLE, Actor, current_actor, require_role
from modelyard.platform.access import DEFAULT_PROJECT, ROLE_ACTIONS, require, visible_projects

_PROJECT = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}", re.ASCII)
# the projects table is the auth domain's; a lightweight handle is all a check needs
_projects = sa.table("projects", sa.column("project"))


def check_project(name: object, field: str = "project") -> str:
    if not isinstance(name, str) or not _PROJECT.fullmatch(name):
        raise InvalidArgument(
            f"{field} must be 1 to 64 lower-case letters, digits, '_' or '-', starting with a "
            "letter or digit",
            field=field,
        )
    return name


def restricted(actor: Actor | None = None) -> bool:
    """Whether project checks apply to ``actor`` (by default the current one)."""
    return (actor or current_actor()).grants is not None


def new_object_project(asked: str | None, action: str) -> str:
    """The project a new object goes in: the one asked for (the SDK asks for its
    MODELYARD_PROJECT), else the caller's only project where it may do ``action``, else
    ``default``. The caller must be allowed ``action`` there (a project it cannot see does
    not exist for it)."""
    actor = current_actor()
    if asked is not None:
        wanted = check_project(asked)
        require(action, wanted, NotFound(f"project {wanted!r} does not exist", field="project"))
        return wanted
    grants = actor.grants
    if grants is None or action in grants.everywhere:
        return DEFAULT_PROJECT
    where = sorted(p for p in grants.projects() if action in grants.actions(p))
    if len(where) == 1:
        return where[0]
    if DEFAULT_PROJECT in where or not where:
        require(action, DEFAULT_PROJECT, NotFound(f"project {DEFAULT_PROJECT!r} does not exist"))
        return DEFAULT_PROJECT
    raise InvalidArgument(
        f"say which project the new object goes in (MODELYARD_PROJECT, or project=): "
        f"{actor.name!r} may {action} in {', '.join(where)}",
        field="project",
    )


def check_project_exists(conn: Connection, project: str) -> None:
    """NotFound unless ``project`` was made (only asked when checks apply: the embedded store
    keeps no project list, its projects are labels)."""
    if not restricted():
        return
    found = conn.execute(sa.select(_projects.c.project).where(_projects.c.project == project))
    if found.first() is None:
        raise NotFound(f"project {project!r} does not exist", field="project")


def visible_filter(column: Any) -> Any:
    """A WHERE clause keeping rows whose project the caller may read; None: keep all."""
    visible = visible_projects()
    if visible is None:
        return None
    return column.in_(sorted(visible))


def where_visible(query: Any, column: Any) -> Any:
    clause = visible_filter(column)
    return query if clause is None else query.where(clause)


def require_in(action: str, project: str | None, missing: NotFound) -> None:
    """``access.require`` for one object's project, free when checks do not apply."""
    if project is None or not restricted():
        return
    require(action, project, missing)


def holds_role(actor: Actor, role: str, project: str) -> bool:
    """Whether ``actor`` holds ``role`` in ``project``: every action of the role there (an
    admin holds them all); without grants, the MODELYARD_ROLES of auth-off mode decide."""
    if actor.grants is None:
        return actor.has_role(role)
    wanted = ROLE_ACTIONS.get(role)
    return wanted is not None and wanted <= actor.grants.actions(project)


def require_role_in(
    role: str, project: str, action: str, *, or_admin: bool = False, field: str = "user"
) -> Actor:
    """The current actor, if it holds ``role`` in ``project`` (or the admin role there, with
    ``or_admin``); PermissionDenied naming the role and the project otherwise."""
    actor = current_actor()
    if actor.grants is None:
        return require_role(role, action, or_admin=or_admin)
    if holds_role(actor, role, project) or (or_admin and holds_role(actor, ADMIN_ROLE, project)):
        return actor
    either = f" (or {ADMIN_ROLE!r})" if or_admin else ""
    raise PermissionDenied(
        f"{action} needs the {role!r} role{either} in project {project!r}; user "
        f"{actor.name!r} does not hold it",
        field=field,
    )


def require_global_admin(what: str) -> Actor:
    """The current actor, if it is an admin everywhere: the admin role of MODELYARD_ROLES
    with authentication off, a global admin with it (for what spans every project, such as
    a webhook that hears every model's events). ``what`` says what was asked and why it
    spans every project."""
    actor = current_actor()
    if actor.grants is None:
        return require_role(ADMIN_ROLE, what)
    if ADMIN_ROLE in ROLE_ACTIONS and ROLE_ACTIONS[ADMIN_ROLE] <= actor.grants.everywhere:
        return actor
    raise PermissionDenied(
        f"{what} needs a global admin; user {actor.name!r} is not one", field="user"
    )


def projects_with(action: str) -> frozenset[str] | None:
    """The projects where the current actor may ``action``; None: every project (and what
    belongs to none), for an unrestricted actor or one who holds it everywhere."""
    grants = current_actor().grants
    if grants is None or action in grants.everywhere:
        return None
    return frozenset(p for p in grants.projects() if action in grants.actions(p))
