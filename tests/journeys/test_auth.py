"""The issue's "what a user gets", typed at a shell against a real server with --auth on
PostgreSQL: the first admin made at the database, the server started, logins with one-time
passwords changed on the way, a project with its members, a scoped CI token used through
MODELYARD_TOKEN, a user who can do only what their role says whatever header they send,
the audit log naming who really acted, and a logout that ends the token. Every command in a
real process; reads twice; refusals are one line without a trace."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from tests.e2e.test_cli import cli
from tests.fixtures.stores import free_port

import modelyard as yard

CHEAP_ARGON2 = {
    "MODELYARD_ARGON2_MEMORY_KIB": "8192",
    "MODELYARD_ARGON2_TIME": "1",
    "MODELYARD_ARGON2_PARALLELISM": "1",
}
TOKEN = re.compile(r"\bmyd_[A-Za-z0-9]+_[A-Za-z0-9_-]+")


class Shell:
    """One person's terminal: their own config folder (saved logins), their environment."""

    def __init__(self, home: Path, **env: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.env = {"MODELYARD_CONFIG_DIR": str(home), **CHEAP_ARGON2, **env}

    def run(self, *args: str, stdin: str | None = None, refused: bool = False) -> str:
        """The command's output; with ``refused``, its one-line error (any non-zero exit)."""
        done = cli(*args, cwd=self.home, env=self.env, stdin=stdin)
        assert (done.returncode != 0) == refused, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr, args
        if refused:
            assert len(done.stderr.strip().splitlines()) <= 2, done.stderr
            return done.stderr
        return done.stdout

    def twice(self, *args: str, refused: bool = False) -> str:
        first = self.run(*args, refused=refused)
        second = self.run(*args, refused=refused)
        assert first == second, args
        return second


def _one_time_password(said: str) -> str:
    return said.strip().splitlines()[-1].strip()


@pytest.fixture
def server(pg_store_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``(the store's URL, the server's URL)``: the first admin is made at the database
    (the only way before anyone can log in), then ``modelyard server --auth`` starts."""
    operator = Shell(tmp_path / "operator")
    assert "was empty" in operator.run("db", "upgrade", "--store", pg_store_url)
    again = operator.run("db", "upgrade", "--store", pg_store_url)
    assert re.search(r"schema at (\S+) \(was \1\)", again), again  # nothing left to do
    made = operator.run("users", "create", "ops-admin", "--role", "admin", "-t", pg_store_url)
    (tmp_path / "otp").write_text(_one_time_password(made))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(CHEAP_ARGON2)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelyard",
            "server",
            "--store",
            pg_store_url,
            "--auth",
            "--port",
            str(port),
            "--artifacts",
            str(tmp_path / "artifacts"),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the server did not start: {proc.stderr.read() if proc.stderr else ''}"
                )
            time.sleep(0.3)
        yield pg_store_url, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_team_sets_up_auth_from_the_shell(server: tuple[str, str], tmp_path: Path) -> None:
    _, url = server
    admin = Shell(tmp_path / "admin")
    otp = (tmp_path / "otp").read_text()
    new_admin_password = "correct horse battery staple 1"
    said = admin.run(
        "login",
        url,
        "--user",
        "ops-admin",
        "--password-stdin",
        stdin=f"{otp}\n{new_admin_password}\n",
    )
    assert "must be changed" in said and "logged in to" in said and "ops-admin" in said
    assert "ops-admin (user) (global admin)" in admin.twice("whoami", "-t", url)

    assert "made project churn" in admin.run("projects", "create", "churn", "-t", url)
    taken = admin.run("projects", "create", "churn", "-t", url, refused=True)
    assert "churn" in taken and "exist" in taken
    passwords = {}
    for person in ("reviewer", "alice"):
        passwords[person] = _one_time_password(admin.run("users", "create", person, "-t", url))
    admin.twice("projects", "grant", "churn", "reviewer", "approver", "-t", url)
    admin.twice("projects", "grant", "churn", "alice", "editor", "-t", url)
    members = admin.twice("projects", "members", "churn", "-t", url)
    assert "reviewer" in members and "approver" in members and "alice" in members

    # CI: a token scoped to deploying in churn, shown once, then sent through MODELYARD_TOKEN
    made = admin.run(
        "tokens",
        "create",
        "ci-bot",
        "--scope",
        "project:churn",
        "--role",
        "deployer",
        "--expires",
        "90d",
        "-t",
        url,
    )
    found = TOKEN.search(made)
    assert found is not None, made
    ci = Shell(tmp_path / "ci", MODELYARD_TOKEN=found.group(0))
    me = ci.twice("whoami", "-t", url)
    assert "churn" in me and "deployer" in me and "global admin" not in me
    refused = ci.run("experiments", "create", "from-ci", "-t", url, refused=True)
    assert "experiment" in refused  # a deployer's token does not write experiments
    listed = admin.twice("tokens", "list", "-t", url)
    assert "ci-bot" in listed and found.group(0) not in listed  # the secret is never shown again

    # alice changes her one-time password at her first login, then works in churn
    alice = Shell(tmp_path / "alice", MODELYARD_PROJECT="churn")
    alice.run(
        "login",
        url,
        "--user",
        "alice",
        "--password-stdin",
        stdin=f"{passwords['alice']}\nalice's own passphrase 2\n",
    )
    assert "editor" in alice.twice("whoami", "-t", url)
    assert "churn-baseline" in alice.run("experiments", "create", "churn-baseline", "-t", url)
    assert "churn-baseline" in alice.twice("experiments", "list", "-t", url)
    # a model folder registered from her shell lands in churn, the run beside it too
    model = LogisticRegression().fit(pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}), [0, 0, 1, 1])
    yard.models.save_model(model, alice.home / "churn-model")
    said = alice.run("models", "register", "churn", "churn-model", "-t", url)
    assert "models:/churn/1" in said, said
    assert "churn-registered" in alice.twice("experiments", "list", "-t", url)
    shown = json.loads(admin.run("models", "show", "churn", "--json", "-t", url))
    assert shown["project"] == "churn", shown
    escalate = alice.run("projects", "grant", "churn", "alice", "admin", "-t", url, refused=True)
    assert "admin" in escalate
    saved = httpx.get(
        f"{url}/api/v1/auth/whoami",
        headers={
            "Authorization": f"Bearer {_saved_token(alice.home, url)}",
            "X-Modelyard-User": "ops-admin",  # a header names nobody once a token says who
        },
    )
    assert saved.json()["name"] == "alice"

    # the audit log names who acted, as the server authenticated them
    log = json.loads(admin.twice("audit", "log", "--type", "experiment", "--json", "-t", url))
    made_by = [(e["action"], e["actor"], e.get("project")) for e in log]
    assert ("experiment.create", "alice", "churn") in made_by, made_by
    assert "churn-baseline" in admin.twice("audit", "log", "--actor", "alice", "-t", url)
    # nobody logged in: a clear refusal that says how to log in
    nobody = Shell(tmp_path / "nobody")
    anonymous = nobody.run("experiments", "list", "-t", url, refused=True)
    assert "MODELYARD_TOKEN" in anonymous or "login" in anonymous
    # the login limit counts the connection's address, whatever X-Forwarded-For claims
    answers = [
        httpx.post(
            f"{url}/api/v1/auth/login",
            json={"name": f"guess-{i}", "password": "wrong password"},
            headers={"X-Forwarded-For": f"10.0.0.{i}"},
        ).status_code
        for i in range(12)
    ]
    # (the logins above spent some of this address's ten a minute already)
    assert answers[-1] == 429 and set(answers) == {401, 429}, answers
    # logging out revokes the saved token on the server
    old = _saved_token(alice.home, url)
    assert "logged out" in alice.run("logout", url)
    gone = httpx.get(f"{url}/api/v1/auth/whoami", headers={"Authorization": f"Bearer {old}"})
    assert gone.status_code == 401
    assert "no saved login" in alice.run("logout", url)


def _saved_token(home: Path, url: str) -> str:
    return str(json.loads((home / "credentials.json").read_text())[url]["token"])
