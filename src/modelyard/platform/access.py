"""Who may do what, where: the roles of a project and the actions each holds, an actor's grants
(roles per project, roles in every project), and the one rule every check asks.

An actor whose ``grants`` are None is unrestricted: auth off (the embedded store, a server
without ``--auth``), or the server's own loops. Then every check here passes and the
MODELYARD_ROLES checks (``identity.require_role``) stay the only ones, as before.

With grants, a project the actor holds no action in does not exist for it: ``require`` raises
the very ``NotFound`` a missing object gets (404, never 403, so names do not leak); a project it
may read but not act in gets ``PermissionDenied`` naming the action and the roles that hold it.
A token narrows its principal's grants by intersection of actions, so it is never wider.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from modelyard.errors import InvalidArgument, NotFound, PermissionDenied
from modelyard.identity import Actor, current_actor

DEFAULT_PROJECT = "default"
GLOBAL_ADMIN = "admin"  # held in every project, with the actions no project role holds

_READ = frozenset(
    {
        "experiment.read",
        "run.read",
        "artifact.read",
        "dataset.read",
        "lineage.read",
        "model.read",
        "approval.read",
        "policy.read",
        "deployment.read",
        "deployment.predict",
        "monitor.read",
        "alert.read",
        "prediction.read",
        "pipeline.read",
    }
)
_EDIT = frozenset(
    {
        "experiment.create",
        "experiment.write",
        "run.write",
        "run.delete",
        "artifact.write",
        "dataset.write",
        "model.create",
        "model.write",
        "alias.set",  # an alias no policy governs
        "approval.request",
        "prediction.write",
        "pipeline.write",  # define a pipeline, clear its cache
        "pipeline.run",  # run, cancel and retry it
    }
)
_DEPLOY = frozenset(
    {
        "deployment.write",
        "monitor.write",
        "monitor.run",
        "alert.ack",
        "prediction.write",
        "serving.token",
    }
)
_ADMIN = frozenset(
    {
        "experiment.delete",
        "dataset.delete",
        "model.delete",
        "pipeline.delete",
        "policy.write",
        "webhook.read",
        "webhook.write",
        "audit.read",
        "project.grant",
    }
)

# a project role -> the actions it holds in that project; every role reads
ROLE_ACTIONS: Mapping[str, frozenset[str]] = {
    "viewer": _READ,
    "editor": _READ | _EDIT,
    "approver": _READ | {"approval.decide"},
    "gatekeeper": _READ | {"gate.record"},
    "deployer": _READ | _DEPLOY,
    "admin": _READ | _EDIT | {"approval.decide", "gate.record"} | _DEPLOY | _ADMIN,
}

# what only a global admin holds: actions on no project (``project`` None in a check), and on
# what belongs to none (global webhooks, audit entries of no project)
GLOBAL_ACTIONS = frozenset(
    {
        "user.read",
        "user.write",
        "service_account.read",
        "service_account.write",
        "project.create",
        "project.delete",
        "group_mapping.read",
        "group_mapping.write",
        "audit.verify",
        "signing_key.rotate",
    }
)

ACTIONS = frozenset().union(*ROLE_ACTIONS.values(), GLOBAL_ACTIONS)


def _actions_of(roles: Iterable[str], *, everywhere: bool = False) -> frozenset[str]:
    held: set[str] = set()
    for role in roles:
        if role not in ROLE_ACTIONS:
            raise InvalidArgument(
                f"unknown role {role!r}; the roles are {', '.join(ROLE_ACTIONS)}", field="role"
            )
        held |= ROLE_ACTIONS[role]
        if everywhere and role == GLOBAL_ADMIN:
            held |= GLOBAL_ACTIONS
    return frozenset(held)


@dataclass(frozen=True)
class Grants:
    """The actions an actor holds: per project, and in every project (a global role). Build
    it with ``of``; a token's scope narrows it with ``narrowed``. Hashable, like ``Actor``."""

    by_project: tuple[tuple[str, frozenset[str]], ...] = ()
    everywhere: frozenset[str] = frozenset()
    _lookup: dict[str, frozenset[str]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._lookup.update(self.by_project)

    @classmethod
    def of(cls, projects: Mapping[str, Iterable[str]], global_roles: Iterable[str] = ()) -> Grants:
        """``{"churn": ["editor"]}``, ``global_roles=["admin"]`` -> the actions they hold."""
        held = {p: _actions_of(roles) for p, roles in projects.items()}
        return cls(
            tuple(sorted((p, a) for p, a in held.items() if a)),
            _actions_of(global_roles, everywhere=True),
        )

    def actions(self, project: str) -> frozenset[str]:
        return self._lookup.get(project, frozenset()) | self.everywhere

    def projects(self) -> frozenset[str]:
        """The projects named by a grant of their own (a global role reaches the rest)."""
        return frozenset(self._lookup)

    def narrowed(self, scope: Grants) -> Grants:
        """What a token whose scope is ``scope`` may do: only what both hold, in each project
        (a scope that claims more than its principal holds gets no more)."""
        both = {p: self.actions(p) & scope.actions(p) for p in self.projects() | scope.projects()}
        return Grants(
            tuple(sorted((p, a) for p, a in both.items() if a)),
            self.everywhere & scope.everywhere,
        )


def allowed(actor: Actor, action: str, project: str | None) -> bool:
    """Whether ``actor`` may do ``action`` in ``project`` (None: an action on no project)."""
    grants = actor.grants
    if grants is None:
        return True
    if project is None:
        return action in grants.everywhere
    return action in grants.actions(project)


def sees(actor: Actor, project: str) -> bool:
    """Whether ``project`` exists for ``actor``: it holds some action there."""
    grants = actor.grants
    return grants is None or bool(grants.actions(project))


def visible_projects(actor: Actor | None = None) -> frozenset[str] | None:
    """The projects ``actor`` (by default the current one) may read; None: every project."""
    grants = (actor or current_actor()).grants
    if grants is None or grants.everywhere:
        return None
    return frozenset(p for p in grants.projects() if grants.actions(p))


def holders(action: str) -> str:
    roles = [repr(role) for role, held in ROLE_ACTIONS.items() if action in held]
    if not roles:
        return f"the global {GLOBAL_ADMIN!r} role"
    return f"the {roles[0]} role" if len(roles) == 1 else f"one of the roles {', '.join(roles)}"


def require(
    action: str, project: str | None, what: str | NotFound, *, actor: Actor | None = None
) -> Actor:
    """The acting actor, if it may do ``action`` in ``project``. Where it may not read the
    project, the ``NotFound`` of a missing object (``what``: that error, or its message);
    where it may read but not act, ``PermissionDenied`` naming the action and its roles."""
    actor = actor or current_actor()
    if allowed(actor, action, project):
        return actor
    if project is not None and not sees(actor, project):
        raise what if isinstance(what, NotFound) else NotFound(what)
    where = "" if project is None else f" in project {project!r}"
    raise PermissionDenied(
        f"{action}{where} needs {holders(action)}; user {actor.name!r} does not hold it",
        field="user",
    )
