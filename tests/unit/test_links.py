"""Unsubscribe tokens: short, opaque, tamper-evident, rotation-friendly."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.errors import ConfigurationError, InvalidPhoneNumberError
from stoplist.links import TOKEN_LENGTH, make_unsubscribe_url, open_token, token_fingerprint

KEY = "k" * 16 + "0123456789abcdefghijklmnopqrstuv"
OLD_KEY = "o" * 48
BASE = "https://stop.example.fr"


def token_of(url: str) -> str:
    return url.rsplit("/u/", 1)[1]


def test_url_shape_and_round_trip() -> None:
    url = make_unsubscribe_url(BASE + "/", "06 12 34 56 78", KEY)
    assert url.startswith(BASE + "/u/")
    token = token_of(url)
    assert len(token) == TOKEN_LENGTH <= 40
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert open_token(token, [KEY]) == "+33612345678"


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
    assert open_token(old_token, [KEY, OLD_KEY]) == "+33612345678"
    new_token = token_of(make_unsubscribe_url(BASE, "0612345678", KEY))
    assert open_token(new_token, [KEY, OLD_KEY]) == "+33612345678"
    assert new_token != old_token


@pytest.mark.parametrize(
    "token",
    [None, 42, "", "a", "A" * 31, "A" * 33, "A" * 32, "=" * 32, "A" * 31 + "=", "+" * 32, "/" * 32, "é" * 32],
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
    from stoplist.links import link_key

    if len(key.strip()) < 16:
        return
    token = link_key(key).seal("+" + digits)
    assert len(token) == TOKEN_LENGTH
    assert open_token(token, [key]) == "+" + digits


@settings(max_examples=300, deadline=None)
@given(junk=st.text(max_size=50))
def test_any_string_opens_to_nothing(junk: str) -> None:
    assert open_token(junk, [KEY]) is None
