"""Passwords: argon2id hashes, verified in the time a wrong password takes, whoever is asked.

``verify_unknown`` spends what a real verify spends (one argon2 verify against a dummy hash
made once per cost), so a login for a name that does not exist cannot be told apart from a
wrong password by its timing. A password is never logged nor put in a message. argon2 is
imported on first use: ``import modelyard`` does not pay for it.

Rules for a new password: a string of 12 to 1024 characters (after NFC normalization, so the
same word typed on two systems is one password), without NUL, encodable as UTF-8. Verifying
applies only the limits that make a text impossible (over 1024 characters, NUL, lone
surrogates): such a text is a plain mismatch, answered without hashing.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelyard.errors import InvalidArgument

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_LENGTH = 12
MAX_LENGTH = 1024
_RULES = f"a password is {MIN_LENGTH} to {MAX_LENGTH} characters, without NUL"


@dataclass(frozen=True)
class PasswordCost:
    """argon2id parameters; the default is RFC 9106's low-memory profile (64 MiB, t=3, p=4)."""

    memory_kib: int = 65536
    time_cost: int = 3
    parallelism: int = 4

    def __post_init__(self) -> None:
        if self.parallelism < 1 or self.time_cost < 1 or self.memory_kib < 8 * self.parallelism:
            raise InvalidArgument(
                "argon2 needs time_cost >= 1, parallelism >= 1 and memory_kib >= 8 * parallelism",
                field="password_cost",
            )


RFC_9106_LOW_MEMORY = PasswordCost()
CHEAP = PasswordCost(memory_kib=8192, time_cost=1, parallelism=1)  # tests only


def hash_password(password: str, cost: PasswordCost = RFC_9106_LOW_MEMORY) -> str:
    """The argon2id hash (PHC string, salt included) of a password that meets the rules."""
    text = _usable(password)
    if text is None or len(text) < MIN_LENGTH:
        raise InvalidArgument(_RULES, field="password")
    return _hasher(cost).hash(text)


def verify_password(
    stored_hash: str, password: str, cost: PasswordCost = RFC_9106_LOW_MEMORY
) -> tuple[bool, str | None]:
    """``(ok, new_hash)``: ``new_hash`` is set when the password is right and the stored hash
    was made with other parameters than ``cost`` (store it in place of the old one)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    text = _usable(password)
    if text is None:
        return False, None
    hasher = _hasher(cost)
    try:
        hasher.verify(stored_hash, text)
    except VerificationError:
        return False, None
    except InvalidHashError:  # a damaged row: refuse, in the time a real refusal takes
        verify_unknown(password, cost)
        return False, None
    if hasher.check_needs_rehash(stored_hash):
        return True, hasher.hash(text)
    return True, None


def verify_unknown(password: str, cost: PasswordCost = RFC_9106_LOW_MEMORY) -> bool:
    """False, after the work ``verify_password`` would do: for a name that has no password."""
    from argon2.exceptions import VerificationError

    text = _usable(password)
    if text is None:
        return False
    with contextlib.suppress(VerificationError):
        _hasher(cost).verify(_dummy_hash(cost), text)
    return False


def _usable(password: str) -> str | None:
    """The NFC form of a text that can be a password, or None (short ones are kept: the
    minimum is a rule for new passwords, checked by ``hash_password``)."""
    if not isinstance(password, str) or len(password) > 4 * MAX_LENGTH:
        return None  # bounded before normalizing, which may grow or shrink the text
    try:
        text = unicodedata.normalize("NFC", password)
        text.encode("utf-8")
    except UnicodeError:
        return None
    if len(text) > MAX_LENGTH or "\x00" in text:
        return None
    return text


@functools.cache
def _hasher(cost: PasswordCost) -> PasswordHasher:
    from argon2 import PasswordHasher, Type

    return PasswordHasher(
        time_cost=cost.time_cost,
        memory_cost=cost.memory_kib,
        parallelism=cost.parallelism,
        hash_len=32,
        salt_len=16,
        type=Type.ID,
    )


@functools.cache
def _dummy_hash(cost: PasswordCost) -> str:
    """A hash of a random text nobody knows, made once per cost and process."""
    return _hasher(cost).hash(secrets.token_urlsafe(32))
