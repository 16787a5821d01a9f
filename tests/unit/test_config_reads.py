"""Only config.py reads modelyard's settings from the environment; every other module gets a
``Settings`` value. The few other touches of ``os.environ`` hand state to child processes."""

from __future__ import annotations

import re
from pathlib import Path

import modelyard

SRC = Path(modelyard.__file__).parent
READS = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[[^\]]+\](?!\s*=)")
# a process handing its state to the processes it starts, not a setting read
HANDOFF = {
    "serving/config.py",  # MODELYARD_SERVE_CONFIG: the server's configuration to its workers
    "serving/metrics.py",  # prometheus' multiprocess folder, set by the server for its workers
}


def test_only_config_reads_settings_from_the_environment() -> None:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel == "config.py" or rel in HANDOFF:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if READS.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert not found, "read the setting through modelyard.config.Settings:\n" + "\n".join(found)


def test_the_check_finds_a_read() -> None:
    assert READS.search('host = os.environ.get("MODELYARD_SMTP_HOST", "127.0.0.1")')
    assert READS.search('uri = os.environ["MODELYARD_TRACKING_URI"]')
    assert not READS.search("os.environ[ENV] = config.to_env()")  # setting, for a child
