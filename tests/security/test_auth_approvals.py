"""Approvals count people, not identities: a person cannot approve their own request through
a second identity they control (a token of their own service account), a service account does
not vote, and one person votes once whatever identity they use."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from tests.fixtures.auth import AuthServer
from tests.fixtures.logged import log_source

import modelyard as yard
from modelyard.auth.entities import TokenScope
from modelyard.config import Settings
from modelyard.errors import Conflict, PermissionDenied
from modelyard.platform import backends


@pytest.fixture
def yard_of(auth_server: AuthServer) -> Iterator[dict[str, yard.Client]]:
    """Clients for root, alice (editor + approver of churn), her service account alice-bot
    (editor + approver of churn), bob and carol (approvers of churn)."""
    store = auth_server.seeded.store
    for user in ("alice", "bob", "carol"):
        store.grant("churn", user, "approver")
    store.create_service_account("alice-bot", owner="alice")
    for role in ("editor", "approver"):
        store.grant("churn", "alice-bot", role)
    tokens = dict(auth_server.seeded.tokens, root=auth_server.seeded.admin)
    tokens["alice-bot"] = store.create_token("ci", expires_s=3600, principal="alice-bot").token
    clients = {
        who: yard.Client(
            auth_server.url, settings=replace(Settings.from_env(), token=token, project="churn")
        )
        for who, token in tokens.items()
    }
    yield clients
    for c in clients.values():
        c.close()
    backends.forget()


def test_a_request_through_ones_own_service_account_is_still_ones_own(
    yard_of: dict[str, yard.Client],
) -> None:
    root, alice, bot, bob = (yard_of[u] for u in ("root", "alice", "alice-bot", "bob"))
    source, _ = log_source(root)
    for _ in range(2):
        root.create_model_version("churn", source)
    root.set_alias_policy("churn", "production")
    # alice files through her bot and approves as herself: the same person
    req = bot.request_approval("churn", 1, alias="production")
    assert req.requested_by == "alice-bot"
    for _ in range(2):
        with pytest.raises(PermissionDenied, match=r"'alice' requested this change.*alice-bot"):
            alice.approve(req.request_id)
    # she files as herself and approves through her bot: a service account does not vote
    own = alice.request_approval("churn", 2, alias="production")
    for _ in range(2):
        with pytest.raises(PermissionDenied, match="service account"):
            bot.approve(own.request_id)
        with pytest.raises(PermissionDenied, match="service account"):
            bot.reject(own.request_id)
    assert alice.get_approval_request(own.request_id).status == "PENDING"
    # a person who is not the requester decides, once
    done = bob.approve(req.request_id)
    assert done.status == "APPROVED" and [v.actor for v in done.votes] == ["bob"]
    assert root.get_version("churn", alias="production").version == 1
    # the requester may cancel what she filed through her bot
    third = bot.request_approval("churn", 2, alias="staging")
    assert alice.cancel_approval(third.request_id).status == "CANCELLED"


def test_one_person_votes_once_whatever_identity_they_use(
    auth_server: AuthServer, yard_of: dict[str, yard.Client]
) -> None:
    root, bob, carol = (yard_of[u] for u in ("root", "bob", "carol"))
    store = auth_server.seeded.store
    source, _ = log_source(root)
    root.create_model_version("churn", source)
    root.set_alias_policy("churn", "production", min_approvals=2)
    req = root.request_approval("churn", 1, alias="production")
    assert bob.approve(req.request_id).status == "PENDING"
    # bob's second token, scoped to churn: still bob
    scoped = store.create_token(
        "second",
        expires_s=3600,
        principal="bob",
        scopes=[TokenScope("churn", "approver")],
    ).token
    with yard.Client(
        auth_server.url, settings=replace(Settings.from_env(), token=scoped)
    ) as bob_again:
        for _ in range(2):
            with pytest.raises(Conflict, match="'bob' already decided"):
                bob_again.approve(req.request_id)
    done = carol.approve(req.request_id)
    assert done.status == "APPROVED"
    assert sorted(v.actor for v in done.votes) == ["bob", "carol"]
