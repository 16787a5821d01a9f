"""API tokens: the format an attacker cannot bend, the secret never repeated, the constant-time
check."""

from __future__ import annotations

import hashlib

import pytest

from modelyard.auth import tokens
from modelyard.auth.tokens import matches, new_token, parse_token
from modelyard.errors import Unauthenticated

GOOD_ID = "abcdefghjkmn"
GOOD_SECRET = "A" * 21 + "z" * 21 + "9"
GOOD = f"myd_{GOOD_ID}_{GOOD_SECRET}"


def test_a_new_token_parses_back_to_its_id_and_a_secret_that_matches_its_hash() -> None:
    token, token_id, digest = new_token()
    assert len(token) == tokens.TOKEN_LENGTH == 60
    assert parse_token(token) == (token_id, token.rsplit("_", 1)[1])
    _, secret = parse_token(token)
    assert matches(secret, digest)
    assert digest == hashlib.sha256(secret.encode()).hexdigest() and secret not in digest
    assert set(token_id) <= set(tokens.ID_ALPHABET) and len(token_id) == 12


def test_new_tokens_differ_in_id_and_secret() -> None:
    made = [new_token() for _ in range(200)]
    assert len({t[1] for t in made}) == 200
    assert len({parse_token(t[0])[1] for t in made}) == 200


def test_the_secret_carries_at_least_256_bits() -> None:
    assert len(tokens.SECRET_ALPHABET) ** tokens.SECRET_LENGTH >= 2**256
    assert "_" not in tokens.SECRET_ALPHABET + tokens.ID_ALPHABET


def test_a_well_formed_token_parses() -> None:
    assert parse_token(GOOD) == (GOOD_ID, GOOD_SECRET)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("myd__", id="empty-parts"),
        pytest.param(f"myd_{GOOD_ID}_", id="empty-secret"),
        pytest.param(f"myd__{GOOD_SECRET}", id="empty-id"),
        pytest.param(f"MYD_{GOOD_ID}_{GOOD_SECRET}", id="prefix-upper-case"),
        pytest.param(f"mlf_{GOOD_ID}_{GOOD_SECRET}", id="wrong-prefix"),
        pytest.param(f"myd-{GOOD_ID}-{GOOD_SECRET}", id="dashes-for-underscores"),
        pytest.param(f"xmyd_{GOOD_ID}_{GOOD_SECRET[:-1]}", id="prefix-inside"),
        pytest.param(f"myd_{GOOD_ID}__{GOOD_SECRET[:-1]}", id="extra-underscore-middle"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}_", id="extra-underscore-end"),
        pytest.param(f"_myd_{GOOD_ID}_{GOOD_SECRET[:-1]}", id="extra-underscore-start"),
        pytest.param(f"myd_{GOOD_ID[:-1]}_{GOOD_SECRET}x", id="short-id-long-secret"),
        pytest.param(f"myd_{GOOD_ID}x_{GOOD_SECRET[:-1]}", id="long-id-short-secret"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}", id="secret-one-short"),
        pytest.param(f"{GOOD}A", id="secret-one-long"),
        pytest.param(f"myd_ABCDEFGHJKMN_{GOOD_SECRET}", id="id-upper-case"),
        pytest.param(f"myd_abcdefghjk0l_{GOOD_SECRET}", id="id-look-alike-characters"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}-", id="secret-dash"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}=", id="secret-padding"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}/", id="secret-slash"),
        pytest.param(f" {GOOD[:-1]}", id="leading-space"),
        pytest.param(f"{GOOD[:-1]}\n", id="trailing-newline"),
        pytest.param(f"{GOOD[:-1]}\t", id="trailing-tab"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:20]} {GOOD_SECRET[21:]}", id="inner-space"),
        pytest.param(f"{GOOD}\n", id="valid-then-newline"),
        pytest.param(f"Bearer {GOOD}", id="with-scheme"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}\u0661", id="arabic-digit"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}\uff21", id="fullwidth-letter"),
        pytest.param(f"myd_abcdefghjk\u217f_{GOOD_SECRET}", id="roman-numeral-in-id"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}\x00", id="nul"),
        pytest.param(f"myd_{GOOD_ID}_{GOOD_SECRET[:-1]}\ud800", id="lone-surrogate"),
        pytest.param(f"myd\u200b_{GOOD_ID}_{GOOD_SECRET[:-1]}", id="zero-width-space"),
        pytest.param(GOOD * 2, id="twice"),
        pytest.param(GOOD + "A" * 10_000_000, id="ten-megabytes"),
    ],
)
def test_a_malformed_token_is_refused_without_being_repeated(text: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        parse_token(text)
    message = str(caught.value)
    assert GOOD_SECRET[:8] not in message and GOOD_ID not in message
    assert caught.value.code == "UNAUTHENTICATED"


@pytest.mark.parametrize("value", [None, b"myd_abc", 12, [GOOD]])
def test_a_value_that_is_not_text_is_refused(value: object) -> None:
    with pytest.raises(Unauthenticated):
        parse_token(value)  # type: ignore[arg-type]


def test_a_right_id_with_a_wrong_secret_does_not_match() -> None:
    _, token_id, digest = new_token()
    _, other_secret = parse_token(new_token()[0])
    forged = f"myd_{token_id}_{other_secret}"
    forged_id, forged_secret = parse_token(forged)
    assert forged_id == token_id
    assert not matches(forged_secret, digest)


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("", id="empty"),
        pytest.param(GOOD_SECRET[:-1], id="one-short"),
        pytest.param(GOOD_SECRET + "A", id="one-long"),
        pytest.param(GOOD_SECRET[:-1] + "\u0661", id="non-ascii"),
        pytest.param(GOOD_SECRET[:-1] + "\ud800", id="lone-surrogate"),
        pytest.param(GOOD_SECRET[:-1] + "_", id="underscore"),
        pytest.param(GOOD_SECRET * 100_000, id="overlong"),
    ],
)
def test_a_secret_not_of_the_token_form_never_matches(secret: str) -> None:
    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
    assert not matches(secret, digest)


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param("", id="empty"),
        pytest.param("0" * 64, id="zeros"),
        pytest.param(hashlib.sha256(GOOD_SECRET.encode()).hexdigest()[:-1], id="truncated"),
        pytest.param(hashlib.sha256(GOOD_SECRET.encode()).hexdigest().upper(), id="upper-case"),
        pytest.param(GOOD_SECRET, id="the-secret-itself"),
        pytest.param("\ud800" * 64, id="not-encodable"),
    ],
)
def test_a_stored_digest_that_is_not_the_secrets_sha256_does_not_match(stored: str) -> None:
    assert not matches(GOOD_SECRET, stored)


def test_the_right_secret_matches_its_stored_digest() -> None:
    assert matches(GOOD_SECRET, hashlib.sha256(GOOD_SECRET.encode()).hexdigest())
