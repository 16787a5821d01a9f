"""The tokens ``modelyard login`` saves, per server URL, in the user's credentials file
(``config.credentials_file()``, mode 0600, written whole through a temporary file)."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from modelyard.config import credentials_file


def _read() -> dict[str, Any]:
    try:
        data = json.loads(credentials_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(data: dict[str, Any]) -> None:
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
        temp.chmod(0o600)
        temp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def save_token(url: str, token: str, principal: str, expires_time: int | None) -> None:
    data = _read()
    data[url.rstrip("/")] = {"token": token, "principal": principal, "expires_time": expires_time}
    _write(data)


def forget_token(url: str) -> str | None:
    """Drop the token saved for ``url``; the token it was, if any."""
    data = _read()
    found = data.pop(url.rstrip("/"), None)
    if found is None:
        return None
    _write(data)
    token = found.get("token") if isinstance(found, dict) else None
    return token if isinstance(token, str) else None
