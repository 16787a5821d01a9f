"""The long-running processes log our INFO lines and not the HTTP client's request lines."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelyard.store.migrate import head_revision

_LOG = textwrap.dedent("""
    import logging, sys
    import httpx
    from modelyard import logs
    logs.configure(sys.argv[1])

    def handler(request):
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler)) as http:
        http.get("http://store.invalid/api/v1/deployments/churn-api")
    logging.getLogger("modelyard.serving").info("deployment churn-api: now serving revision 2")
    logging.getLogger("httpx").warning("a warning of the client's own")
    from modelyard.store.database import Database
    from modelyard.store.migrate import upgrade
    db = Database(f"sqlite:///{sys.argv[2]}/yard.db")
    upgrade(db)
    upgrade(db)  # already new: nothing to say
""")


def _stderr(level: str, tmp: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _LOG, level, str(tmp)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


@pytest.mark.parametrize("level", ["info", "INFO"])
def test_info_keeps_our_lines_and_drops_each_http_request(level: str, tmp_path: Path) -> None:
    lines = _stderr(level, tmp_path).splitlines()
    head = head_revision()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO modelyard.serving: deployment churn-api: now serving revision 2",
        "WARNING httpx: a warning of the client's own",
        f"INFO modelyard.store.migrate: store schema empty -> {head} (sqlite:///{tmp_path}/yard.db)",
    ]  # alembic's lines about the dialect it found and each step it ran are not there


def test_debug_shows_the_http_requests(tmp_path: Path) -> None:
    assert "HTTP Request: GET http://store.invalid/api/v1/deployments/churn-api" in _stderr(
        "debug", tmp_path
    )
