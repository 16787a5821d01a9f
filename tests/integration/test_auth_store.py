"""The auth store on SQLite and PostgreSQL, through its public methods: users and their
passwords (lockout, must-change, disabled), projects and role bindings, API tokens (mint
rules, scopes that narrow and never widen, revoked, expired, malformed) and sessions."""

from __future__ import annotations

import pytest
from tests.fixtures.auth import PASSWORD, Seeded

from modelyard.auth import sql_logins, sql_sessions, sql_tokens
from modelyard.auth.entities import TokenScope
from modelyard.auth.sql_store import SqlAuthStore
from modelyard.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from modelyard.identity import acting_as
from modelyard.platform.access import allowed
from modelyard.store import audit

NEW_PASSWORD = "a new and longer secret"


def actions(store: SqlAuthStore) -> list[str]:
    return [e.action for e in audit.query(store.db, limit=1000)]


def test_a_new_user_logs_in_with_the_one_time_password_and_must_change_it(
    auth: SqlAuthStore,
) -> None:
    made = auth.create_user("Dana", email="dana@example.com")
    assert made.principal.name == "Dana" and made.principal.kind == "user"
    assert len(made.password) >= 20 and not made.principal.is_admin
    for _ in range(2):
        logged = auth.logins.check_password("dana", made.password)  # names ignore case
        assert logged.must_change and logged.row["name"] == "Dana"
    auth.principals.change_password("Dana", made.password, NEW_PASSWORD)
    assert not auth.logins.check_password("Dana", NEW_PASSWORD).must_change
    with pytest.raises(Unauthenticated, match="invalid username or password"):
        auth.logins.check_password("Dana", made.password)
    with pytest.raises(InvalidArgument, match="differ"):
        auth.principals.change_password("Dana", NEW_PASSWORD, NEW_PASSWORD)
    with pytest.raises(InvalidArgument, match="12 to 1024"):
        auth.principals.change_password("Dana", NEW_PASSWORD, "short")
    assert "user.create" in actions(auth) and "user.password_change" in actions(auth)


@pytest.mark.parametrize(
    "name",
    [
        "",
        " alice",
        "alice ",
        "a" * 65,
        "-alice",
        "al ice",
        "al/ice",
        "al\x00ice",
        "ålice",
        "anonymous",
        "Monitors",
        "SYSTEM",
        7,
        None,
    ],
)
def test_principal_names_that_are_refused(auth: SqlAuthStore, name: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        auth.create_user(name)  # type: ignore[arg-type]
    assert caught.value.field == "name"


def test_a_name_is_one_principal_whatever_its_case(auth: SqlAuthStore) -> None:
    auth.create_user("erin", password=PASSWORD)
    for other in ("erin", "ERIN", "Erin"):
        with pytest.raises(AlreadyExists):
            auth.create_user(other, password=PASSWORD)
        with pytest.raises(AlreadyExists):
            auth.create_service_account(other, owner="erin")
    assert [p.name for p in auth.list_principals()] == ["erin"]


def test_every_wrong_login_answers_alike_and_five_lock_the_name(
    auth: SqlAuthStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.create_user("frank", password=PASSWORD)
    auth.create_user("gone", password=PASSWORD)
    auth.set_disabled("gone", True)
    answers = set()
    for name, password in [
        ("frank", "wrong password!"),
        ("nobody", PASSWORD),
        ("gone", PASSWORD),
        (None, PASSWORD),
        ("frank", None),
    ]:
        with pytest.raises(Unauthenticated) as caught:
            auth.logins.check_password(name, password)
        answers.add(caught.value.message)
    assert answers == {"invalid username or password"}
    clock = [10**12]
    monkeypatch.setattr(sql_logins, "now_ms", lambda: clock[0])
    for name in ("frank", "made-up-name"):  # a real name and one nobody has lock alike
        for _ in range(5):
            with pytest.raises(Unauthenticated):
                auth.logins.check_password(name, "not the password")
        with pytest.raises(Unauthenticated):  # locked: the right password is refused too
            auth.logins.check_password(name, PASSWORD)
    clock[0] += 15 * 60 * 1000 + 1  # the first lock lasts 15 minutes
    assert auth.logins.check_password("frank", PASSWORD).row["name"] == "frank"
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            auth.logins.check_password("made-up-name", "x" * 12)
    clock[0] += 15 * 60 * 1000 + 1  # the second lasts 30
    with pytest.raises(Unauthenticated):
        auth.logins.check_password("made-up-name", "x" * 12)
    logged = actions(auth)
    assert logged.count("auth.lockout") == 3 and "auth.login_failed" in logged
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            auth.logins.check_password("frank", "not the password")
    auth.unlock("FRANK")
    auth.unlock("FRANK")
    assert auth.logins.check_password("frank", PASSWORD).row["name"] == "frank"


def test_only_a_global_admin_manages_principals_and_projects(seeded: Seeded) -> None:
    store = seeded.store
    for user in ("alice", "carol"):
        with acting_as(seeded.actor(user)):
            for call in (
                lambda: store.create_user("mallory", admin=True, password=PASSWORD),
                lambda: store.create_service_account("bot"),
                lambda: store.list_principals(),
                lambda: store.set_disabled("bob", True),
                lambda: store.reset_password("bob"),
                lambda: store.unlock("bob"),
                lambda: store.create_project("mine"),
                lambda: store.get_principal("bob"),
            ):
                with pytest.raises(PermissionDenied):
                    call()
            assert store.get_principal(user).name == user  # oneself
    with acting_as(seeded.actor("root")):
        assert store.get_principal("bob").name == "bob"
        reset = store.reset_password("bob")
    assert seeded.store.logins.check_password("bob", reset.password).must_change


def test_roles_are_granted_by_the_projects_admins_and_hidden_from_others(
    seeded: Seeded,
) -> None:
    store = seeded.store
    with acting_as(seeded.actor("carol")):  # admin of fraud
        for _ in range(2):
            made = store.grant("fraud", "bob", "approver")
        assert (made.principal, made.granted_by) == ("bob", "carol")
        assert {(m.principal, m.role) for m in store.members("fraud")} == {
            ("bob", "approver"),
            ("carol", "admin"),
        }
        with pytest.raises(NotFound, match="no project named 'churn'"):
            store.grant("churn", "carol", "admin")  # churn is not hers: it does not exist
        with pytest.raises(NotFound, match="no project named 'churn'"):
            store.members("churn")
        assert [p.name for p in store.list_projects()] == ["fraud"]
        with pytest.raises(InvalidArgument, match="role must be one of"):
            store.grant("fraud", "bob", "owner")
        store.revoke("fraud", "bob", "approver")
        with pytest.raises(NotFound, match="does not hold"):
            store.revoke("fraud", "bob", "approver")
    with acting_as(seeded.actor("bob")):  # a viewer of churn sees it, may not grant
        assert [p.name for p in store.list_projects()] == ["churn"]
        with pytest.raises(PermissionDenied, match=r"project\.grant"):
            store.grant("churn", "bob", "admin")
    with acting_as(seeded.actor("root")):
        assert [p.name for p in store.list_projects()] == ["churn", "default", "fraud"]
        with pytest.raises(AlreadyExists):
            store.create_project("churn")
        with pytest.raises(NotFound):
            store.grant("nope", "bob", "viewer")


def test_a_token_acts_as_its_principal_and_its_scopes_narrow(seeded: Seeded) -> None:
    store = seeded.store
    for _ in range(2):
        actor, _expires = store.tokens.authenticate(seeded.tokens["alice"])
    assert (actor.name, actor.kind, actor.person) == ("alice", "user", "alice")
    assert allowed(actor, "run.write", "churn") and not allowed(actor, "run.read", "fraud")
    with acting_as(actor):
        scoped = store.create_token(
            "read-only", expires_s=3600, scopes=[TokenScope("churn", "viewer")]
        )
    narrow, _ = store.tokens.authenticate(scoped.token)
    assert allowed(narrow, "run.read", "churn") and not allowed(narrow, "run.write", "churn")
    with acting_as(narrow):  # a scoped token makes nothing wider than itself
        with pytest.raises(PermissionDenied, match="more than its maker"):
            store.create_token("wider", expires_s=3600)
        with pytest.raises(PermissionDenied, match="more than its maker"):
            store.create_token("w", expires_s=3600, scopes=[TokenScope("churn", "editor")])
        assert store.create_token(
            "same", expires_s=3600, scopes=[TokenScope("churn", "viewer")]
        ).token
    with acting_as(actor), pytest.raises(InvalidArgument, match="does not hold what 'deployer'"):
        store.create_token("x", expires_s=3600, scopes=[TokenScope("churn", "deployer")])
    with acting_as(seeded.actor("root")):  # revoking the role shrinks the token at once
        store.revoke("churn", "alice", "editor")
    after, _ = store.tokens.authenticate(seeded.tokens["alice"])
    assert not allowed(after, "run.write", "churn") and not allowed(after, "run.read", "churn")


def test_a_global_admins_scoped_token_is_no_admin(seeded: Seeded) -> None:
    store = seeded.store
    with acting_as(seeded.actor("root")):
        made = store.create_token("ci", expires_s=3600, scopes=[TokenScope("churn", "deployer")])
    actor, _ = store.tokens.authenticate(made.token)
    assert allowed(actor, "deployment.write", "churn")
    assert not allowed(actor, "user.write", None) and not allowed(actor, "run.read", "fraud")
    assert actor.roles == frozenset({"deployer"})


def test_service_account_tokens_are_made_by_its_owner_and_act_for_that_person(
    seeded: Seeded,
) -> None:
    store = seeded.store
    with acting_as(seeded.actor("root")):
        store.create_service_account("ci-bot", owner="alice")
        store.grant("churn", "ci-bot", "deployer")
    with acting_as(seeded.actor("bob")):
        with pytest.raises(PermissionDenied, match="owner of a service account"):
            store.create_token("x", expires_s=3600, principal="ci-bot")
        with pytest.raises(PermissionDenied):
            store.list_tokens("ci-bot")
    with acting_as(seeded.actor("alice")):  # the owner; alice is an editor, not a deployer
        with pytest.raises(PermissionDenied, match="more than its maker"):
            store.create_token("deploy", expires_s=3600, principal="ci-bot")
        store.create_token(
            "view", expires_s=3600, principal="ci-bot", scopes=[TokenScope("churn", "viewer")]
        )
        assert [t.name for t in store.list_tokens("ci-bot")] == ["view"]
    with acting_as(seeded.actor("root")):
        made = store.create_token("deploy", expires_s=3600, principal="ci-bot")
    actor, _ = store.tokens.authenticate(made.token)
    assert (actor.name, actor.kind, actor.person) == ("ci-bot", "service", "alice")
    assert allowed(actor, "deployment.write", "churn")


def test_revoked_expired_wrong_and_malformed_tokens_are_refused(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = seeded.store
    token = seeded.tokens["bob"]
    prefix, token_id, secret = token.split("_")
    wrong_secret = f"{prefix}_{token_id}_{'A' * len(secret)}"
    unknown_id = f"{prefix}_{'2' * len(token_id)}_{secret}"
    for bad in (
        wrong_secret,
        unknown_id,
        token + "x",
        token[:-1],
        " " + token,
        "Bearer",
        "",
        "myd__",
        token.upper(),
    ):
        with pytest.raises(Unauthenticated) as caught:
            store.tokens.authenticate(bad)
        assert secret not in caught.value.message
    with acting_as(seeded.actor("alice")), pytest.raises(NotFound):
        store.revoke_token(token_id)  # another's token: not confirmed to exist
    with acting_as(seeded.actor("bob")):
        store.revoke_token(token_id)
        store.revoke_token(token_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        store.tokens.authenticate(token)
    real_now = sql_tokens.now_ms()
    monkeypatch.setattr(sql_tokens, "now_ms", lambda: real_now + 86400 * 1000 + 1)
    with pytest.raises(Unauthenticated, match="expired"):
        store.tokens.authenticate(seeded.tokens["carol"])
    monkeypatch.undo()
    with acting_as(seeded.actor("root")):
        store.set_disabled("carol", True)
    with pytest.raises(Unauthenticated, match="disabled"):
        store.tokens.authenticate(seeded.tokens["carol"])
    assert actions(store).count("token.revoke") == 1


@pytest.mark.parametrize("expires", [0, 59, 366 * 86400, "1y", "90 d", "-1d", "", None, True])
def test_every_token_expires_within_a_year(seeded: Seeded, expires: object) -> None:
    with acting_as(seeded.actor("alice")), pytest.raises(InvalidArgument, match="expires"):
        seeded.store.create_token("t", expires_s=expires)  # type: ignore[arg-type]


def test_sessions_end_on_logout_password_change_and_idle(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = seeded.store
    pid = store.logins.check_password("bob", PASSWORD).row["principal_id"]
    first, csrf = store.sessions.create(pid, "password")
    second, _ = store.sessions.create(pid, "password")
    assert first != second and csrf not in (first, second)
    for _ in range(2):
        found = store.sessions.lookup(first)
    assert found.actor.name == "bob" and found.csrf_sha256 == sql_sessions.sha256_hex(csrf)
    store.sessions.end(first)
    with pytest.raises(Unauthenticated, match="log in again"):
        store.sessions.lookup(first)
    store.principals.change_password("bob", PASSWORD, NEW_PASSWORD)
    with pytest.raises(Unauthenticated):
        store.sessions.lookup(second)
    third, _ = store.sessions.create(pid, "password")
    real_now = sql_sessions.now_ms()
    monkeypatch.setattr(sql_sessions, "now_ms", lambda: real_now + 7200 * 1000 + 1)
    with pytest.raises(Unauthenticated):
        store.sessions.lookup(third)
