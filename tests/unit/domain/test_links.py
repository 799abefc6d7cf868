"""Unsubscribe tokens: short, opaque, tamper-evident, rotation-friendly."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.domain.links import TOKEN_LENGTH, OpenedToken, make_unsubscribe_url, open_token, token_fingerprint
from stoplist.errors import ConfigurationError, InvalidPhoneNumberError

KEY = "k" * 16 + "0123456789abcdefghijklmnopqrstuv"
OLD_KEY = "o" * 48
BASE = "https://stop.example.fr"


def token_of(url: str) -> str:
    return url.rsplit("/u/", 1)[1]


def number(token: str, keys: list[str]) -> str | None:
    opened = open_token(token, keys)
    return None if opened is None else opened.number


def test_url_shape_and_round_trip() -> None:
    url = make_unsubscribe_url(BASE + "/", "06 12 34 56 78", KEY)
    assert url.startswith(BASE + "/u/")
    token = token_of(url)
    assert len(token) == TOKEN_LENGTH <= 40
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert open_token(token, [KEY]) == OpenedToken("+33612345678", datetime.now(UTC).date(), KEY)


def test_token_does_not_reveal_the_number() -> None:
    token = token_of(make_unsubscribe_url(BASE, "+33612345678", KEY))
    raw = base64.urlsafe_b64decode(token)
    for needle in (b"33612345678", b"612345678", (33612345678).to_bytes(7, "big")):
        assert needle not in raw
    assert "5678" not in token


def test_same_number_same_token_other_number_other_token() -> None:
    first = make_unsubscribe_url(BASE, "0612345678", KEY)
    assert first == make_unsubscribe_url(BASE, "+33 6 12 34 56 78", KEY)
    assert first != make_unsubscribe_url(BASE, "0612345679", KEY)


def test_every_single_character_change_is_detected() -> None:
    token = token_of(make_unsubscribe_url(BASE, "0612345678", KEY))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index in range(len(token)):
        for char in alphabet:
            if char != token[index]:
                changed = token[:index] + char + token[index + 1 :]
                assert open_token(changed, [KEY]) is None, (index, char)


def test_unknown_key_and_rotation() -> None:
    old_token = token_of(make_unsubscribe_url(BASE, "0612345678", OLD_KEY))
    assert open_token(old_token, [KEY]) is None
    assert number(old_token, [KEY, OLD_KEY]) == "+33612345678"
    new_token = token_of(make_unsubscribe_url(BASE, "0612345678", KEY))
    assert number(new_token, [KEY, OLD_KEY]) == "+33612345678"
    assert new_token != old_token


@pytest.mark.parametrize(
    "token",
    [
        None,
        42,
        "",
        "a",
        "A" * 31,
        "A" * 33,
        "A" * 32,
        "A" * 36,
        "A" * 35,
        "=" * 32,
        "A" * 31 + "=",
        "+" * 32,
        "/" * 32,
        "é" * 32,
    ],
)
def test_wrong_shapes_are_none(token: object) -> None:
    assert open_token(token, [KEY]) is None


def test_short_keys_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        make_unsubscribe_url(BASE, "0612345678", "short")


def test_invalid_numbers_raise() -> None:
    with pytest.raises(InvalidPhoneNumberError):
        make_unsubscribe_url(BASE, "3639", KEY)


def test_fingerprint_is_stable_and_hides_the_token() -> None:
    token = token_of(make_unsubscribe_url(BASE, "0612345678", KEY))
    assert token_fingerprint(token) == token_fingerprint(token)
    assert token not in token_fingerprint(token)
    assert token_fingerprint(token).startswith("link-")


@settings(max_examples=300, deadline=None)
@given(digits=st.from_regex(r"\A[1-9][0-9]{6,14}\Z"), key=st.text(min_size=16, max_size=64).filter(str.strip))
def test_any_e164_round_trips_under_any_key(digits: str, key: str) -> None:
    from stoplist.domain.links import link_key

    if len(key.strip()) < 16:
        return
    token = link_key(key).seal("+" + digits, date(2026, 11, 23))
    assert len(token) == TOKEN_LENGTH
    assert open_token(token, [key]) == OpenedToken("+" + digits, date(2026, 11, 23), key)


@settings(max_examples=300, deadline=None)
@given(junk=st.text(max_size=50))
def test_any_string_opens_to_nothing(junk: str) -> None:
    assert open_token(junk, [KEY]) is None


def test_tokens_made_before_links_carried_their_day_still_open() -> None:
    # Minted with KEY and OLD_KEY for +33612345678 by the 32-character format (key id || AES-SIV(number)).
    assert open_token("TMBJBp0oz8U41arlwdyJ_X9y0KGI599Y", [OLD_KEY, KEY]) == OpenedToken("+33612345678", None, KEY)
    assert number("AEUx7L_BVOnZH0-uqRLHnNBdC1Uq126T", [KEY, OLD_KEY]) == "+33612345678"


def test_the_issue_day_is_sealed_with_the_number() -> None:
    day = date(2026, 3, 1)
    token = token_of(make_unsubscribe_url(BASE, "0612345678", KEY, issued_on=day))
    assert open_token(token, [KEY]) == OpenedToken("+33612345678", day, KEY)
    assert token != token_of(make_unsubscribe_url(BASE, "0612345678", KEY, issued_on=date(2026, 3, 2)))
