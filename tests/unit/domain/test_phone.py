from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.domain.phone import _CANONICAL_MAINLAND, _parse, provider_e164, regions, time_zones, to_e164
from stoplist.errors import InvalidPhoneNumberError

# One number of each overseas range of the French plan (docs/integrating.md, "Numbers"), typed as at home.
OVERSEAS = [
    ("0692123456", "+262692123456"),  # Réunion mobile
    ("0693123456", "+262693123456"),  # Réunion mobile
    ("0262161234", "+262262161234"),  # Réunion landline
    ("0263101234", "+262263101234"),  # Réunion landline
    ("0709201234", "+262709201234"),  # Réunion mobile (new range)
    ("0639012345", "+262639012345"),  # Mayotte mobile
    ("0269601234", "+262269601234"),  # Mayotte landline
    ("0709351234", "+262709351234"),  # Mayotte mobile (new range)
    ("0690001234", "+590690001234"),  # Guadeloupe, Saint-Barthélemy, Saint-Martin mobile
    ("0691221234", "+590691221234"),  # idem
    ("0590201234", "+590590201234"),  # Guadeloupe landline
    ("0590271234", "+590590271234"),  # Saint-Barthélemy landline
    ("0590871234", "+590590871234"),  # Saint-Martin landline
    ("0709001234", "+590709001234"),  # Guadeloupe mobile (new range)
    ("0694201234", "+594694201234"),  # French Guiana mobile
    ("0594101234", "+594594101234"),  # French Guiana landline
    ("0709301234", "+594709301234"),  # French Guiana mobile (new range)
    ("0696201234", "+596696201234"),  # Martinique mobile
    ("0697123456", "+596697123456"),  # Martinique mobile
    ("0596301234", "+596596301234"),  # Martinique landline (phonenumbers alone: +33596301234)
    ("0709101234", "+596709101234"),  # Martinique mobile (new range)
    ("0508412345", "+508412345"),  # Saint-Pierre-et-Miquelon landline: 05 08 and six digits
    ("0508551234", "+508551234"),  # Saint-Pierre-et-Miquelon mobile
    ("0708451234", "+508708451234"),  # Saint-Pierre-et-Miquelon mobile (nine digits)
]


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


def test_numbers_longer_than_e164_allows_are_rejected() -> None:
    with pytest.raises(InvalidPhoneNumberError, match="15 digits"):
        to_e164("20100000000000", "DE", "FR")  # phonenumbers: a valid German number of 16 digits


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


def test_fast_path_agrees_with_the_full_parse_on_every_three_digit_prefix() -> None:
    """The fast path decides on the first three digits of the national number; past them it takes any six."""
    fast = 0
    for prefix in range(100, 1000):
        for suffix in ("000000", "123456", "505050", "999999"):
            number = f"+33{prefix}{suffix}"
            if not _CANONICAL_MAINLAND.fullmatch(number):
                continue
            fast += 1
            assert _parse(number, "FR") == number
    # 1xx, 3xx: 200; 2[0-57-9]x: 90; 4[1-9]x: 90; 6[0-24-8]x, 63[0-8], 69[589]: 92; 7[3-9]x: 70
    assert fast == 4 * 542


@pytest.mark.parametrize(("raw", "expected"), OVERSEAS)
def test_overseas_numbers_become_their_own_e164(raw: str, expected: str) -> None:
    assert to_e164(raw, None, "FR") == expected
    assert provider_e164(expected, "FR") == expected
    spaced = " ".join(raw[index : index + 2] for index in range(0, len(raw), 2))
    assert to_e164(spaced, None, "FR") == expected
    assert to_e164("+33" + raw[1:], None, "FR") == expected  # written with France's code: same number, same outcome


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+377 6 12 34 56 78", None, "+377612345678"),  # Monaco has its own plan
        ("0800 12 34 56", None, "+33800123456"),  # free phone: the same range everywhere, stays French
        ("0806 12 34 56", None, "+33806123456"),  # claimed by three overseas codes at once: stays French
        ("41 23 45", "PM", "+508412345"),  # Saint-Pierre-et-Miquelon's own six digits
        ("0612345678", "RE", "+33612345678"),  # a mainland mobile typed in Réunion
        ("0692 12 34 56", "YT", "+262692123456"),
        ("+262 692 12 34 56", "DE", "+262692123456"),
        ("+33 5 91 12 34 56", None, "+33591123456"),  # a mainland 05 landline outside the fast path
    ],
)
def test_shared_plan_edges(raw: str, country: str | None, expected: str) -> None:
    assert to_e164(raw, country, "FR") == expected


# --- properties: the same number, however it is spelled, gets the same outcome --------------------------------
national_numbers = st.builds(
    lambda head, tail: (head + tail)[:9],
    st.sampled_from(["6", "7", "1", "2", "3", "4", "5", "8", "9", "26", "59", "69", "639", "709", "708", "508"]),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


def spellings(national: str) -> list[str]:
    grouped = " ".join([national[0], *(national[index : index + 2] for index in range(1, 9, 2))])
    return [
        "+33" + national,
        "0033" + national,
        "0" + national,
        "+33 (0)" + grouped,
        "+33 " + grouped,
        "0" + grouped.replace(" ", "."),
        "0" + grouped.replace(" ", "-"),
        " 0" + grouped + "\n",
    ]


def outcome(raw: str, country: str | None = None) -> str:
    try:
        return to_e164(raw, country, "FR")
    except InvalidPhoneNumberError:
        return "invalid"


@settings(max_examples=1500, deadline=None)
@given(national_numbers)
def test_every_spelling_of_a_french_plan_number_has_one_outcome(national: str) -> None:
    outcomes = {outcome(raw) for raw in spellings(national)}
    assert len(outcomes) == 1, outcomes
    # the fast path is only a shortcut: the full parse of the canonical spelling says the same
    try:
        full = _parse("+33" + national, "FR")
    except InvalidPhoneNumberError:
        full = "invalid"
    assert outcomes == {full}
    assert provider_e164("+33" + national, "FR") == (None if full == "invalid" else full)


@settings(max_examples=300, deadline=None)
@given(national_numbers, st.sampled_from(["FR", "RE", "YT", "GP", "BL", "MF", "GF", "MQ", "PM"]))
def test_national_numbers_read_the_same_in_every_region_of_the_plan(national: str, region: str) -> None:
    assert outcome("0" + national, region) == outcome("0" + national, "FR")


@pytest.mark.parametrize(
    ("number", "zones"),
    [
        ("+33612345678", ("Europe/Paris",)),
        ("+596696123456", ("America/Martinique",)),
        ("+594694123456", ("America/Cayenne",)),
        ("+590690123456", ("America/Guadeloupe",)),
        ("+508551234", ("America/Miquelon",)),
        ("+262692123456", ("Indian/Mayotte", "Indian/Reunion")),  # the prefix does not tell which
        ("+262639123456", ("Indian/Mayotte", "Indian/Reunion")),  # unplaced by the data: its calling code's zones
    ],
)
def test_time_zones_of_a_number(number: str, zones: tuple[str, ...]) -> None:
    assert time_zones(number) == zones


def test_time_zones_load_without_a_system_database() -> None:
    """The zones exist in the tzdata package, with the machine's database out of reach (tests/conftest.py)."""
    import zoneinfo

    assert zoneinfo.TZPATH == ()
    for number in ("+33612345678", "+262692123456", "+596696123456"):
        assert all(zoneinfo.ZoneInfo(zone).key == zone for zone in time_zones(number))


@pytest.mark.parametrize(
    ("number", "places"),
    [
        ("+33612345678", ("FR",)),
        ("+33388123456", ("FR",)),
        ("+262692123456", ("RE",)),
        ("+262269601234", ("YT",)),
        ("+590590201234", ("GP",)),
        ("+590690001234", ("BL", "GP", "MF")),  # one range for the three
        ("+508551234", ("PM",)),
        ("+32470123456", ("BE",)),
        ("+33999", ()),
    ],
)
def test_regions_of_a_number(number: str, places: tuple[str, ...]) -> None:
    assert regions(number) == places


def test_a_spreadsheets_number_without_its_leading_zero_is_read_as_national() -> None:
    """A spreadsheet that took ``0612345678`` for a number writes ``612345678``: phonenumbers reads nine
    national digits in the French plan as the number without its trunk ``0``, in every region of the plan."""
    for region in ("FR", "RE", "MQ"):
        assert to_e164("612345678", None, region) == "+33612345678"
        assert to_e164("692123456", None, region) == "+262692123456"
