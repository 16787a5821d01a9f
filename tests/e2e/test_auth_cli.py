"""The auth commands as a team uses them against a server with --auth: the admin makes a
project and a user, the user logs in (changing the one-time password), is granted a role,
makes a scoped token for CI, the SDK acts as the token's user, and logout revokes the token."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.e2e.test_cli import cli
from tests.fixtures.auth import AuthServer

NEW_PASSWORD = "dave's own password"


def test_an_admin_a_user_and_ci_through_the_cli(auth_server: AuthServer, tmp_path: Path) -> None:
    url = auth_server.url
    config = tmp_path / "dave-config"
    root = {"MODELYARD_TOKEN": auth_server.seeded.admin, "MODELYARD_CONFIG_DIR": str(tmp_path)}
    dave = {"MODELYARD_CONFIG_DIR": str(config)}
    for _ in range(2):
        made = cli("projects", "create", "churn2", "-t", url, cwd=tmp_path, env=root)
    assert "exists" in made.stderr and made.returncode == 4  # the second time
    listed = cli("projects", "list", "--json", "-t", url, cwd=tmp_path, env=root)
    assert "churn2" in [p["name"] for p in json.loads(listed.stdout)]

    made = cli("users", "create", "dave", "--json", "-t", url, cwd=tmp_path, env=root)
    assert made.returncode == 0, made.stderr
    one_time = json.loads(made.stdout)["password"]
    refused = cli("users", "list", "-t", url, cwd=tmp_path, env={"MODELYARD_CONFIG_DIR": "x"})
    assert refused.returncode == 8 and "authentication required" in refused.stderr

    logged = cli(
        "login",
        url,
        "-u",
        "dave",
        "--password-stdin",
        cwd=tmp_path,
        env=dave,
        stdin=f"{one_time}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert logged.returncode == 0, logged.stderr
    saved = config / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert one_time not in saved.read_text() and NEW_PASSWORD not in saved.read_text()
    mine = cli("projects", "list", "--json", "-t", url, cwd=tmp_path, env=dave)
    assert mine.returncode == 0 and json.loads(mine.stdout) == []  # dave holds nothing yet

    for _ in range(2):
        granted = cli(
            "projects", "grant", "churn2", "dave", "editor", "-t", url, cwd=tmp_path, env=root
        )
        assert granted.returncode == 0, granted.stderr
    members = cli("projects", "members", "churn2", "--json", "-t", url, cwd=tmp_path, env=root)
    assert [(m["principal"], m["role"]) for m in json.loads(members.stdout)] == [("dave", "editor")]
    theirs = cli("projects", "members", "churn2", "-t", url, cwd=tmp_path, env=dave)
    assert theirs.returncode == 5, theirs.stdout  # a project's admins' to see
    denied = cli("projects", "grant", "churn2", "dave", "admin", "-t", url, cwd=tmp_path, env=dave)
    assert denied.returncode == 5 and "project.grant" in denied.stderr

    made = cli(
        "tokens",
        "create",
        "ci",
        "--scope",
        "project:churn2",
        "--role",
        "viewer",
        "--expires",
        "1d",
        "-t",
        url,
        cwd=tmp_path,
        env=dave,
    )
    assert made.returncode == 0, made.stderr
    ci_token = made.stdout.strip().splitlines()[-1]
    wider = cli(
        "tokens",
        "create",
        "wider",
        "--scope",
        "project:churn2",
        "--role",
        "deployer",
        "-t",
        url,
        cwd=tmp_path,
        env=dave,
    )
    assert wider.returncode == 2 and "does not hold" in wider.stderr
    listed = cli("tokens", "list", "--json", "-t", url, cwd=tmp_path, env=dave)
    assert ci_token not in listed.stdout
    assert {t["name"] for t in json.loads(listed.stdout)} == {"modelyard login", "ci"}

    env_token = {**dave, "MODELYARD_TOKEN": ci_token}
    ci_view = cli("tokens", "list", "--json", "-t", url, cwd=tmp_path, env=env_token)
    assert {t["name"] for t in json.loads(ci_view.stdout)} == {"modelyard login", "ci"}

    out = cli("logout", url, cwd=tmp_path, env=dave)
    assert out.returncode == 0 and "logged out" in out.stdout
    assert cli("projects", "list", "-t", url, cwd=tmp_path, env=dave).returncode == 8
    again = cli("logout", url, cwd=tmp_path, env=dave)
    assert "no saved login" in again.stdout
