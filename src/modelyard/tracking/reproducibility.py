"""What a run needs to be reproduced: source, arguments, git state, Python and packages.

Captured once per process (git and package metadata are not free) and stored as run tags
under ``modelyard.``; git is asked with a short timeout and its absence is not an error.
"""

from __future__ import annotations

import functools
import json
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from modelyard._version import __version__
from modelyard.platform.checks import MAX_TAG_VALUE

SOURCE_NAME = "modelyard.source.name"
SOURCE_ARGS = "modelyard.source.args"
GIT_COMMIT = "modelyard.source.git.commit"
GIT_DIRTY = "modelyard.source.git.dirty"
GIT_BRANCH = "modelyard.source.git.branch"
PYTHON = "modelyard.python"
PLATFORM = "modelyard.platform"
PACKAGES = "modelyard.packages"
VERSION = "modelyard.version"
USER = "modelyard.user"


_SECRET_FLAG = re.compile(
    r"^-{0,2}[\w.-]*(password|passwd|secret|token|api[_-]?key|credential|auth)[\w.-]*",
    re.IGNORECASE,
)


def redact_args(args: list[str]) -> list[str]:
    """Command-line arguments with the values of secret-looking options replaced by '***':
    ``--password=x``, ``--api-key x``, ``token=x``. Run tags are shown in the UI and logs."""
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        match = _SECRET_FLAG.match(arg)
        if match and "=" in arg:
            out.append(arg.split("=", 1)[0] + "=***")
        elif match and arg.startswith("-"):
            out.append(arg)
            hide_next = True
        else:
            out.append(arg)
    return out


def _json_within(items: list[str], limit: int) -> str:
    """JSON of a list, dropping trailing items (not cutting the text) to fit ``limit``."""
    kept = list(items)
    text = json.dumps(kept)
    while len(text) > limit and kept:
        kept.pop()
        text = json.dumps([*kept, "...truncated"])
    return text


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _entry_point() -> Path | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return Path(path).resolve() if path else None


@functools.lru_cache(maxsize=1)
def _static_tags() -> tuple[tuple[str, str], ...]:
    entry = _entry_point()
    tags = {
        SOURCE_NAME: str(entry) if entry else "<interactive>",
        SOURCE_ARGS: _json_within(redact_args(sys.argv[1:]), MAX_TAG_VALUE),
        PYTHON: platform.python_version(),
        PLATFORM: platform.platform(),
        VERSION: __version__,
    }
    cwd = entry.parent if entry else Path.cwd()
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit:
        tags[GIT_COMMIT] = commit
        status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
        tags[GIT_DIRTY] = "true" if status else "false"
        branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd)
        if branch:
            tags[GIT_BRANCH] = branch
    return tuple(tags.items())


@functools.lru_cache(maxsize=1)
def _module_distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


@functools.cache
def _dist_version(dist: str) -> str | None:
    """A distribution's version, read from its metadata once per process."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def imported_packages() -> dict[str, str]:
    """Versions of the installed distributions whose modules this process has imported."""
    dists = _module_distributions()
    found: dict[str, str] = {}
    for top in {name.partition(".")[0] for name in list(sys.modules)}:
        for dist in dists.get(top, []):
            if dist not in found:
                version = _dist_version(dist)
                if version is not None:
                    found[dist] = version
    return dict(sorted(found.items()))


def reproducibility_tags() -> dict[str, str]:
    tags = dict(_static_tags())
    packages = imported_packages()
    text = json.dumps(packages, separators=(",", ":"))
    while len(text) > MAX_TAG_VALUE and packages:  # drop entries, keep valid JSON
        packages.popitem()
        text = json.dumps(packages, separators=(",", ":"))
    packages_json = text
    tags[PACKAGES] = packages_json
    return tags
