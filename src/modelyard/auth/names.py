"""The names auth keeps: principals, projects and roles, and a token's lifetime; each checked
with a message that names the field and what it must be."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from modelyard.errors import InvalidArgument
from modelyard.platform.access import ROLE_ACTIONS
from modelyard.platform.scope import check_project

_PRINCIPAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}", re.ASCII)
_LIFETIME = re.compile(r"(\d{1,6})([smhd])", re.ASCII)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# names the platform itself writes as actors: nobody may take them
RESERVED = frozenset({"anonymous", "monitors", "migration", "system", "unknown", "webhooks"})
MIN_LIFETIME_S = 60
MAX_LIFETIME_S = 365 * 86400


def name_key(name: str) -> str:
    """The form two names are compared in: ``Alice`` and ``alice`` are one principal."""
    return unicodedata.normalize("NFC", name).lower()


def check_principal_name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not _PRINCIPAL.fullmatch(value):
        raise InvalidArgument(
            f"{field} must be 1 to 64 characters: letters, digits and . _ @ + - "
            "(starting with a letter or digit)",
            field=field,
        )
    if name_key(value) in RESERVED:
        raise InvalidArgument(
            f"{field} {value!r} is reserved for the platform's own actors", field=field
        )
    return value


def check_project_name(value: Any, field: str = "project") -> str:
    return check_project(value, field)  # the one rule, the platform's


def check_role(value: Any, field: str = "role") -> str:
    if not isinstance(value, str) or value not in ROLE_ACTIONS:
        raise InvalidArgument(f"{field} must be one of {', '.join(ROLE_ACTIONS)}", field=field)
    return value


def parse_lifetime(value: Any, field: str = "expires") -> int:
    """Seconds from ``90d``, ``12h``, ``30m``, ``600s`` or a whole number of seconds; between
    a minute and a year (every token expires)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (found := _LIFETIME.fullmatch(value.strip())):
        seconds = int(found.group(1)) * _UNITS[found.group(2)]
    else:
        raise InvalidArgument(
            f"{field} must be a lifetime such as 90d, 12h, 30m or 600s", field=field
        )
    if not MIN_LIFETIME_S <= seconds <= MAX_LIFETIME_S:
        raise InvalidArgument(f"{field} must be between 1 minute and 365 days", field=field)
    return seconds
