"""Passwords: argon2id at the configured cost, rehashed when the cost moves, the rules kept,
never echoed, and an unknown name refused in the time a wrong password takes."""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable

import pytest

from modelyard.auth.passwords import (
    CHEAP,
    RFC_9106_LOW_MEMORY,
    PasswordCost,
    hash_password,
    verify_password,
    verify_unknown,
)
from modelyard.errors import InvalidArgument

PASSWORD = "correct horse battery staple"


def test_the_default_cost_is_rfc_9106_low_memory_and_the_cheap_one_is_for_tests() -> None:
    assert PasswordCost() == RFC_9106_LOW_MEMORY == PasswordCost(65536, 3, 4)
    assert PasswordCost(memory_kib=8192, time_cost=1, parallelism=1) == CHEAP
    with pytest.raises(dataclasses.FrozenInstanceError):
        CHEAP.memory_kib = 1  # type: ignore[misc]


@pytest.mark.parametrize("cost", [(8192, 0, 1), (8192, 1, 0), (7, 1, 1), (63, 1, 8)], ids=str)
def test_a_cost_argon2_cannot_run_is_refused(cost: tuple[int, int, int]) -> None:
    with pytest.raises(InvalidArgument):
        PasswordCost(*cost)


def test_a_hash_is_argon2id_at_the_cost_given_and_verifies() -> None:
    stored = hash_password(PASSWORD, CHEAP)
    assert stored.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert PASSWORD not in stored
    assert verify_password(stored, PASSWORD, CHEAP) == (True, None)
    assert hash_password(PASSWORD, CHEAP) != stored  # salted


@pytest.mark.parametrize(
    "attempt",
    [
        pytest.param("correct horse battery stapl", id="one-short"),
        pytest.param(PASSWORD + " ", id="trailing-space"),
        pytest.param(PASSWORD.upper(), id="case"),
        pytest.param(PASSWORD + "\x00", id="nul-appended"),
        pytest.param("", id="empty"),
        pytest.param("short", id="below-the-minimum"),
        pytest.param("x" * 5000, id="overlong"),
        pytest.param(PASSWORD + "\ud800", id="lone-surrogate"),
    ],
)
def test_a_wrong_password_is_refused_without_a_new_hash(attempt: str) -> None:
    stored = hash_password(PASSWORD, CHEAP)
    assert verify_password(stored, attempt, CHEAP) == (False, None)


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("pässwörd-ünïcödé", id="latin-accents"),
        pytest.param("密码密码密码密码密码密码", id="cjk"),
        pytest.param("🔑🔒🗝️🔐🔑🔒🗝️🔐🔑🔒🗝️🔐", id="emoji"),
        pytest.param("كلمة المرور السرية", id="right-to-left"),
        pytest.param("x" * 1024, id="longest"),
        pytest.param("😀" * 1024, id="longest-four-byte"),
        pytest.param("twelve chars", id="shortest"),
    ],
)
def test_a_unicode_password_hashes_verifies_and_is_not_in_the_hash(password: str) -> None:
    stored = hash_password(password, CHEAP)
    assert password not in stored and password.encode() not in stored.encode()
    assert verify_password(stored, password, CHEAP) == (True, None)
    assert verify_password(stored, password[:-1], CHEAP) == (False, None)


def test_the_same_word_in_composed_and_decomposed_form_is_one_password() -> None:
    composed = "café au lait, s'il vous plaît"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    stored = hash_password(decomposed, CHEAP)
    assert verify_password(stored, composed, CHEAP) == (True, None)


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("", id="empty"),
        pytest.param("eleven char", id="eleven"),
        pytest.param("x" * 1025, id="1025"),
        pytest.param("x" * 10_000_000, id="ten-megabytes"),
        pytest.param("twelve chars\x00", id="nul"),
        pytest.param("\x00" * 20, id="only-nul"),
        pytest.param("twelve chars\ud800", id="lone-surrogate"),
        pytest.param(None, id="none"),
        pytest.param(b"twelve bytes ok", id="bytes"),
    ],
)
def test_a_password_against_the_rules_is_refused_without_being_repeated(
    password: str,
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        hash_password(password, CHEAP)
    assert caught.value.field == "password"
    if isinstance(password, str) and password:
        assert password[:11] not in str(caught.value)


@pytest.mark.parametrize(
    "newer",
    [
        pytest.param(PasswordCost(16384, 1, 1), id="more-memory"),
        pytest.param(PasswordCost(8192, 2, 1), id="more-time"),
        pytest.param(PasswordCost(8192, 1, 2), id="more-lanes"),
    ],
)
def test_a_right_password_under_another_cost_comes_back_rehashed(newer: PasswordCost) -> None:
    stored = hash_password(PASSWORD, CHEAP)
    ok, new_hash = verify_password(stored, PASSWORD, newer)
    assert ok and new_hash is not None
    assert f"m={newer.memory_kib},t={newer.time_cost},p={newer.parallelism}$" in new_hash
    assert verify_password(new_hash, PASSWORD, newer) == (True, None)
    assert verify_password(stored, "not the password", newer) == (False, None)


def test_an_argon2i_hash_verifies_and_is_rehashed_as_argon2id() -> None:
    from argon2 import PasswordHasher, Type

    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.I)
    ok, new_hash = verify_password(old.hash(PASSWORD), PASSWORD, CHEAP)
    assert ok and new_hash is not None and new_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    "stored",
    ["", "not a hash", "$argon2id$v=19$m=8192,t=1,p=1$garbage", "$2b$12$" + "a" * 53],
)
def test_a_damaged_stored_hash_refuses_every_password(stored: str) -> None:
    assert verify_password(stored, PASSWORD, CHEAP) == (False, None)


@pytest.mark.parametrize("password", [PASSWORD, "", "x" * 5000, "pässwörd-ünïcödé", "a\x00b"])
def test_verifying_for_an_unknown_name_is_always_false(password: str) -> None:
    assert verify_unknown(password, CHEAP) is False


def _median_seconds(call: Callable[[], object], tries: int = 7) -> float:
    times = []
    for _ in range(tries):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_an_unknown_name_costs_what_a_wrong_password_costs() -> None:
    stored = hash_password(PASSWORD, CHEAP)
    verify_unknown("warm the dummy hash", CHEAP)
    wrong = _median_seconds(lambda: verify_password(stored, "a wrong password", CHEAP))
    unknown = _median_seconds(lambda: verify_unknown("a wrong password", CHEAP))
    assert 1 / 3 < unknown / wrong < 3, (unknown, wrong)


def test_importing_the_auth_modules_does_not_import_argon2() -> None:
    code = (
        "import sys, modelyard.auth.passwords, modelyard.auth.tokens; "
        "print('argon2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
