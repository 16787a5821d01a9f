"""Who may do what, where (``platform.access``): each role's actions and not one more, a global
admin, a token narrowed by intersection, 404 for a project one cannot see and 403 naming the
action for one one can; with no grants (auth off) everything is allowed, as before."""

from __future__ import annotations

import pytest

from modelyard.errors import InvalidArgument, NotFound, PermissionDenied
from modelyard.identity import Actor, acting_as
from modelyard.platform.access import (
    ACTIONS,
    GLOBAL_ACTIONS,
    ROLE_ACTIONS,
    Grants,
    allowed,
    require,
    visible_projects,
)

ROLES = list(ROLE_ACTIONS)
# each role, and one action the role above it (or beside it) holds that it does not
NEXT = [
    ("viewer", "experiment.create"),
    ("editor", "approval.decide"),
    ("editor", "model.delete"),
    ("approver", "gate.record"),
    ("gatekeeper", "deployment.write"),
    ("deployer", "model.create"),
    ("admin", "project.create"),
]


def _in(project: str, *roles: str, name: str = "ann") -> Actor:
    return Actor(name, grants=Grants.of({project: roles}))


@pytest.mark.parametrize("role", ROLES)
def test_a_role_holds_its_actions_in_its_project_and_no_other(role: str) -> None:
    actor = _in("churn", role)
    for action in ACTIONS:
        assert allowed(actor, action, "churn") is (action in ROLE_ACTIONS[role]), action
        assert not allowed(actor, action, "fraud"), action
        assert not allowed(actor, action, None), action


@pytest.mark.parametrize(("role", "action"), NEXT)
def test_the_next_role_s_action_is_denied_naming_the_action(role: str, action: str) -> None:
    actor = _in("churn", role)
    assert not allowed(actor, action, "churn")
    with pytest.raises(PermissionDenied) as denied:
        require(action, "churn", "model 'm' not found", actor=actor)
    assert action in denied.value.message and "'ann'" in denied.value.message
    assert denied.value.field == "user"
    holders = [r for r in ROLES if action in ROLE_ACTIONS[r]]
    assert all(repr(r) in denied.value.message for r in holders)


def test_every_role_reads_and_admin_holds_every_project_action() -> None:
    for role in ROLES:
        assert ROLE_ACTIONS["viewer"] <= ROLE_ACTIONS[role] <= ROLE_ACTIONS["admin"]
    assert ROLE_ACTIONS["admin"] | GLOBAL_ACTIONS == ACTIONS
    assert not GLOBAL_ACTIONS & ROLE_ACTIONS["admin"]


def test_a_global_admin_acts_in_every_project_and_on_none() -> None:
    admin = Actor("root", grants=Grants.of({}, global_roles=["admin"]))
    for action in ACTIONS:
        assert allowed(admin, action, "any-project") and allowed(admin, action, None)
    assert require("project.create", None, "unused", actor=admin) is admin
    assert visible_projects(admin) is None


def test_a_project_admin_is_not_a_global_one() -> None:
    actor = _in("churn", "admin")
    with pytest.raises(PermissionDenied, match=r"project\.create needs the global 'admin' role"):
        require("project.create", None, "unused", actor=actor)


def test_a_global_viewer_reads_everywhere_and_writes_nowhere() -> None:
    actor = Actor("audit", grants=Grants.of({"churn": ["editor"]}, global_roles=["viewer"]))
    assert allowed(actor, "model.read", "fraud") and not allowed(actor, "model.create", "fraud")
    assert allowed(actor, "model.create", "churn")
    assert visible_projects(actor) is None


def test_a_token_is_the_intersection_of_its_scope_and_its_principal() -> None:
    principal = Grants.of({"churn": ["editor"], "fraud": ["viewer"]})
    # the token claims more than the principal holds: deployer in churn, admin in fraud, and
    # a project the principal is not in
    scope = Grants.of({"churn": ["deployer"], "fraud": ["admin"], "secret": ["admin"]})
    token = Actor("ci-bot", kind="service", person="ann", grants=principal.narrowed(scope))
    for project in ("churn", "fraud", "secret", "elsewhere"):
        for action in ACTIONS:
            if allowed(token, action, project):
                assert action in principal.actions(project), (project, action)
                assert action in scope.actions(project), (project, action)
    # editor ∩ deployer = what both hold: reading, and prediction.write
    assert token.grants is not None
    assert token.grants.actions("churn") == ROLE_ACTIONS["viewer"] | {"prediction.write"}
    assert token.grants.actions("fraud") == ROLE_ACTIONS["viewer"]
    assert not allowed(token, "deployment.write", "churn")  # the scope's, not the principal's
    assert not allowed(token, "model.create", "churn")  # the principal's, not the scope's
    assert visible_projects(token) == {"churn", "fraud"}
    assert not allowed(token, "project.create", None)
    # a scope that claims global admin gets what the principal holds, no more
    assert principal.narrowed(Grants.of({}, global_roles=["admin"])) == principal


def test_a_narrower_token_stays_inside_its_scope() -> None:
    principal = Grants.of({"churn": ["admin"], "fraud": ["admin"]})
    token = principal.narrowed(Grants.of({"churn": ["viewer"]}))
    assert token.actions("churn") == ROLE_ACTIONS["viewer"]
    assert token.actions("fraud") == frozenset()
    assert principal.narrowed(principal) == principal
    assert token.narrowed(principal) == token  # narrowing again never widens


def test_a_project_one_cannot_see_is_not_found_as_a_missing_object_is() -> None:
    actor = _in("churn", "viewer")
    missing = NotFound("model 'm' not found", field="name")
    with pytest.raises(NotFound) as hidden:
        require("model.read", "fraud", missing, actor=actor)
    assert hidden.value is missing
    with pytest.raises(NotFound) as hidden_text:
        require("model.delete", "fraud", "model 'm' not found", actor=actor)
    assert hidden_text.value.message == "model 'm' not found" and hidden_text.value.field is None
    assert "fraud" not in hidden_text.value.message
    nobody = Actor("anonymous", kind="anonymous", grants=Grants())
    with pytest.raises(NotFound):
        require("model.read", "churn", "model 'm' not found", actor=nobody)
    assert visible_projects(nobody) == frozenset()


def test_with_no_grants_everything_is_allowed() -> None:
    for actor in (Actor("ann"), Actor("ann", frozenset()), Actor("monitors", kind="system")):
        for action in ACTIONS:
            assert allowed(actor, action, "churn") and allowed(actor, action, None)
        assert require("model.delete", "churn", "unused", actor=actor) is actor
        assert visible_projects(actor) is None


def test_require_and_visible_projects_ask_the_current_actor() -> None:
    assert require("model.delete", "churn", "unused").grants is None  # auth off, as today
    with acting_as(_in("churn", "viewer")) as actor:
        assert require("model.read", "churn", "unused") is actor
        assert visible_projects() == {"churn"}
        with pytest.raises(PermissionDenied):
            require("model.delete", "churn", "unused")


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown role 'owner'"):
        Grants.of({"churn": ["owner"]})


def test_actor_equality_and_hash_are_unchanged_for_existing_uses() -> None:
    assert Actor("ann") == Actor("ann", None) == Actor("ann", roles=None)
    assert hash(Actor("ann")) == hash(Actor("ann", None))
    assert Actor("ann", frozenset({"approver"})) == Actor("ann", frozenset({"approver"}))
    assert Actor("ann") != Actor("bob") and Actor("ann") != Actor("ann", frozenset())
    assert (Actor("ann").id, Actor("ann").kind, Actor("ann").person) == (None, "user", None)
    assert Actor("ann").grants is None
    assert len({Actor("ann"), Actor("ann"), _in("churn", "viewer"), _in("churn", "viewer")}) == 2
    assert _in("churn", "viewer") != Actor("ann")
