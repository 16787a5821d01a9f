"""Governance as a team uses it, through a server: alice registers and asks, bob approves, a
gate must pass first, self-approval is refused, the alias moves in the last approval's
transaction, and the audit log tells the story. Every call twice where a user would retry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import modelyard as yard
from modelyard.config import Settings


def as_user(uri: str, user: str) -> yard.Client:
    return yard.Client(uri, settings=replace(Settings.from_env(), user=user))


def test_a_promotion_with_a_gate_and_an_approval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server_factory: Callable[..., Any]
) -> None:
    monkeypatch.setenv("MODELYARD_ROLES", "admin=alice;approver=bob;gatekeeper=ci")
    uri = server_factory().url
    alice, bob, ci = as_user(uri, "alice"), as_user(uri, "bob"), as_user(uri, "ci")
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.random((200, 2)), columns=["a", "b"])
    for seed in (0, 1):
        model = LogisticRegression(C=1.0 + seed).fit(x, x.a > 0.5)
        yard.models.save_model(model, tmp_path / f"m{seed}", input_example=x[:5])
        monkeypatch.setenv("MODELYARD_USER", "alice")
        yard.models.register_model(tmp_path / f"m{seed}", "fraud", tracking_uri=uri)
    alice.set_alias("fraud", "production", 1)
    alice.set_alias_policy("fraud", "production", min_approvals=1, required_gates=["eval"])

    with pytest.raises(yard.PermissionDenied):
        alice.set_alias("fraud", "production", 2)  # governed now
    request = alice.request_approval("fraud", 2, alias="production", comment="better AUC")
    with pytest.raises(yard.PermissionDenied):
        bob.set_model_version_tag("fraud", 2, "gate.eval", "passed")  # not a gatekeeper
    with pytest.raises(yard.ModelyardError) as early:
        bob.approve(request.request_id)  # the gate has not passed
    assert "gate" in early.value.message
    for _ in range(2):
        ci.set_model_version_tag("fraud", 2, "gate.eval", "passed")
    with pytest.raises(yard.PermissionDenied):
        alice.approve(request.request_id)  # alice is no approver (and asked herself)
    done = bob.approve(request.request_id, comment="ok")
    assert done.status == "APPROVED"
    for _ in range(2):
        assert alice.get_version("fraud", alias="production").version == 2
    loaded = yard.models.load("models:/fraud@production", tracking_uri=uri)
    assert (
        loaded.predict(x[:3]).tolist()
        == LogisticRegression(C=2.0).fit(x, x.a > 0.5).predict(x[:3]).tolist()
    )

    story = [
        (e.action, e.actor)
        for e in alice.audit_log(limit=100)
        if e.action.startswith(("alias.", "policy.", "approval."))
    ]
    assert story == [
        ("alias.set", "alice"),
        ("policy.set", "alice"),
        ("approval.request", "alice"),
        ("approval.approve", "bob"),
        ("alias.set", "bob"),  # moved in the approval's transaction, by the approver
    ]
