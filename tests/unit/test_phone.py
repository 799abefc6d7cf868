from __future__ import annotations

import pytest
from stoplist.domain.phone import provider_e164, to_e164
from stoplist.errors import InvalidPhoneNumberError


@pytest.mark.parametrize(
    "raw",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0612345678",
        "0033 6 12 34 56 78",
        "0033612345678",
        "+33 (0)6 12 34 56 78",
        "+33 6 12 34 56 78",
        "+33612345678",
        "  +33612345678\n",
        "\uff10\uff16\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",  # full-width digits
    ],
)
def test_french_formats_become_e164(raw: str) -> None:
    assert to_e164(raw, None, "FR") == "+33612345678"


def test_international_number_with_plus_needs_no_country() -> None:
    assert to_e164("+49 1512 3456789", None, "FR") == "+4915123456789"


def test_national_number_of_another_country_needs_its_country() -> None:
    assert to_e164("01512 3456789", "DE", "FR") == "+4915123456789"
    with pytest.raises(InvalidPhoneNumberError):
        to_e164("01512 3456789", None, "FR")  # read as French: not a valid number


def test_default_region_is_a_setting() -> None:
    assert to_e164("0470 12 34 56", None, "BE") == "+32470123456"


def test_landlines_are_valid_numbers() -> None:
    assert to_e164("01 23 45 67 89", None, "FR") == "+33123456789"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("3639", "not a valid"),
        ("06 12 34", "not a valid"),
        ("hello", "not a phone number"),
        ("06 12 34 56 78\x00", "control characters"),
        ("+" + "1" * 70, "longer than"),
    ],
)
def test_invalid_numbers_are_rejected(raw: str, message: str) -> None:
    with pytest.raises(InvalidPhoneNumberError, match=message):
        to_e164(raw, None, "FR")


def test_country_must_be_an_iso_code() -> None:
    with pytest.raises(InvalidPhoneNumberError, match="ISO 3166"):
        to_e164("0612345678", "FRA", "FR")


def test_non_string_is_rejected() -> None:
    with pytest.raises(InvalidPhoneNumberError):
        to_e164(612345678, None, "FR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+33612345678", "+33612345678"),  # fast path
        ("0612345678", "+33612345678"),
        ("+330612345678", "+33612345678"),  # a trunk zero kept by mistake: the slow path corrects it
        ("+4915123456789", "+4915123456789"),
        ("12345", None),
    ],
)
def test_provider_numbers(raw: str, expected: str | None) -> None:
    assert provider_e164(raw, "FR") == expected


def test_fast_path_agrees_with_phonenumbers() -> None:
    import phonenumbers

    for number in ("+33612345678", "+33123456789", "+33755443322", "+33987654321"):
        parsed = phonenumbers.parse(number, None)
        assert provider_e164(number, "FR") == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
