"""Phone numbers to E.164, with phonenumbers, the same way for events, snapshots and lookups.

Mainland France and its overseas departments and collectivities share one national numbering plan (``0``
and nine digits), so a person in Réunion types ``0692 12 34 56`` and one in Martinique ``0596 30 12 34``.
Read with region FR, phonenumbers calls the first invalid and the second ``+33596301234``, a number that
rings nowhere: the overseas parts have their own calling codes. So every number that ends up under +33,
however it was written (``0692…``, ``+33 6 92…``, ``0033692…``), is first offered to the overseas calling
codes of the shared plan, and becomes theirs when exactly one of them knows it as a landline or a mobile
(phonenumbers' own metadata decides: RE/YT +262, GP/BL/MF +590, GF +594, MQ +596, PM +508). Ranges that
all of them share with the mainland (free phone, premium rate, 0806-0809) stay French. Saint-Pierre-et-
Miquelon is dialled ``05 08`` and its six digits from the plan. Monaco (+377) has its own plan and stays
itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

from stoplist.errors import InvalidPhoneNumberError

# Longer than any real formatting of a number; phonenumbers itself refuses past 250 characters.
MAX_INPUT_LENGTH = 64
E164_MAX_DIGITS = 15
# Regions whose national numbers are written in the French plan: national input in any of them is read as
# French first, then offered to the overseas calling codes.
SHARED_PLAN_REGIONS = frozenset({"FR", "RE", "YT", "GP", "BL", "MF", "GF", "MQ", "PM"})
OVERSEAS_CALLING_CODES = (262, 590, 594, 596, 508)
_FRANCE = 33
_SAINT_PIERRE_ET_MIQUELON = 508
_REGION = re.compile(r"[A-Z]{2}")
# Mainland national numbers (nine digits after 0 or +33): phonenumbers' FR mobile and landline patterns less
# every range an overseas code claims (26x, 5x, 639, 69[0-4,6,7], 709x), so neither phonenumbers nor the
# overseas check is needed for them; a unit test checks the agreement against phonenumbers itself. ASCII
# only: ``\d`` would let other scripts' digits through.
_MAINLAND_NATIONAL = r"(?:6(?:[0-24-8][0-9]|3[0-8]|9[589])|7[3-9][0-9]|(?:[13][0-9]|2[0-57-9]|4[1-9])[0-9])[0-9]{6}"
_MAINLAND = re.compile(_MAINLAND_NATIONAL)
# Canonical mainland E.164, the vast majority of the provider's list: the fast path. phonenumbers parses
# about 40,000 numbers a second on one core here, too slow for a million-entry list on every snapshot.
_CANONICAL_MAINLAND = re.compile(r"\+33" + _MAINLAND_NATIONAL)
# An international number written without its "+": 8 to 15 digits, no leading 0 (a national prefix).
_INTERNATIONAL_DIGITS = re.compile(r"[1-9][0-9]{7,14}")
_NON_DIGITS = re.compile(r"[^0-9]")
# A mainland number as people type it in the plan (``06 12 34 56 78``, ``06.12.34.56.78``, ``0612345678``):
# what the full parse would make of it, without the parse (a CRM export of a million rows is mostly these).
_NATIONAL_MAINLAND = re.compile(r"0" + _MAINLAND_NATIONAL)
_SEPARATORS = str.maketrans("", "", " .-")


@cache
def _phonenumbers() -> ModuleType:
    """phonenumbers takes ~50 ms to import; load it when a number is not already canonical."""
    import phonenumbers

    return phonenumbers


def to_e164(raw: str, country: str | None, default_region: str) -> str:
    """Return the E.164 form of ``raw`` or raise InvalidPhoneNumberError.

    National numbers are read in ``country`` (ISO 3166 alpha-2) or else ``default_region``; numbers
    written with ``+`` or an international prefix (``00``) need neither.
    """
    if not isinstance(raw, str):
        raise InvalidPhoneNumberError("phone number is not a string")
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumberError("phone number is empty")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumberError(f"phone number is longer than {MAX_INPUT_LENGTH} characters")
    if not text.isprintable():
        raise InvalidPhoneNumberError("phone number contains control characters")
    region = (country or default_region).upper()
    if not _REGION.fullmatch(region):
        raise InvalidPhoneNumberError("country is not an ISO 3166 alpha-2 code")
    if _CANONICAL_MAINLAND.fullmatch(text):
        return text
    if region in SHARED_PLAN_REGIONS:
        national = text.translate(_SEPARATORS)
        if _NATIONAL_MAINLAND.fullmatch(national):
            return "+33" + national[1:]
    return _parse(text, region)


def provider_e164(raw: str | None, default_region: str) -> str | None:
    """Normalise a number read from the provider's list, or sent by it (the replies webhook); ``None`` when it is
    not a valid number. SMS Partner writes international numbers without the ``+`` too (``262692123456``, or the
    JSON number ``262692123456``): digits that do not start with 0 are read as international first."""
    if raw is None:
        return None
    if _CANONICAL_MAINLAND.fullmatch(raw):
        return raw
    text = raw.strip()
    candidates = (f"+{text}", text) if _INTERNATIONAL_DIGITS.fullmatch(text) else (text,)
    for candidate in candidates:
        try:
            return to_e164(candidate, None, default_region)
        except InvalidPhoneNumberError:
            continue
    return None


def listed_as(number: str, default_region: str) -> Callable[[str | None], bool]:
    """A test of the provider's list entries for one E.164 number, however the provider spells it.

    A million entries pass through it on an opt-in: every spelling of the number ends with its national
    significant number, so that digit check rejects nearly every entry before the full normalisation
    (``provider_e164``, ~25 µs with phonenumbers) is paid for the few that pass."""
    tail = _national_significant(number)

    def matches(raw: str | None) -> bool:
        if raw is None:
            return False
        body = raw[1:] if raw.startswith("+") else raw
        digits = body if body.isdigit() else _NON_DIGITS.sub("", body)
        return digits.endswith(tail) and provider_e164(raw, default_region) == number

    return matches


def _national_significant(e164: str) -> str:
    phonenumbers = _phonenumbers()
    return str(phonenumbers.parse(e164, None).national_number)


def _parse(text: str, region: str) -> str:
    """The full parse: phonenumbers, then the overseas codes for anything under +33."""
    phonenumbers = _phonenumbers()
    plan_region = "FR" if region in SHARED_PLAN_REGIONS else region
    try:
        parsed = phonenumbers.parse(text, plan_region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and parsed.country_code == _FRANCE:
        national = str(parsed.national_number)
        if _MAINLAND.fullmatch(national):
            return "+33" + national  # what the fast path would say of its E.164
        overseas = _overseas(national)
        if overseas is not None:
            return overseas
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        return _e164(parsed)
    if plan_region != region:
        # A region's own short form outside the ten-digit plan (Saint-Pierre-et-Miquelon's six digits).
        try:
            own = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            own = None
        if own is not None and phonenumbers.is_valid_number(own):
            return _e164(own)
    if parsed is None:
        raise InvalidPhoneNumberError("not a phone number")
    raise InvalidPhoneNumberError("not a valid phone number for its country")


def _overseas(national: str) -> str | None:
    """The overseas E.164 of a French national number, when exactly one overseas code has it as a landline
    or a mobile; ``None`` when it is not overseas (or shared by several of them, like 0806)."""
    if len(national) != 9:
        return None
    claims = []
    for code, landlines_and_mobiles in _overseas_patterns():
        local = national
        if code == _SAINT_PIERRE_ET_MIQUELON and national.startswith("508"):
            local = national[3:]  # 05 08 41 23 45 is +508 41 23 45
        if landlines_and_mobiles.fullmatch(local):
            claims.append(f"+{code}{local}")
    return claims[0] if len(claims) == 1 else None


@cache
def _overseas_patterns() -> tuple[tuple[int, re.Pattern[str]], ...]:
    """Per overseas calling code, one pattern: the landline and mobile patterns of each of its regions, from
    phonenumbers' metadata (matching them directly is ~4x faster than ``number_type`` on every region)."""
    phonenumbers = _phonenumbers()
    table = []
    for code in OVERSEAS_CALLING_CODES:
        patterns = [
            f"(?:{desc.national_number_pattern})"
            for region in phonenumbers.region_codes_for_country_code(code)
            for desc in _landline_and_mobile(phonenumbers.PhoneMetadata.metadata_for_region(region))
        ]
        table.append((code, re.compile("|".join(patterns))))
    return tuple(table)


def _landline_and_mobile(metadata: Any) -> list[Any]:
    return [desc for desc in (metadata.fixed_line, metadata.mobile) if desc and desc.national_number_pattern]


def _e164(number: Any) -> str:
    """E.164, which allows 15 digits at most (phonenumbers calls some longer German numbers valid)."""
    phonenumbers = _phonenumbers()
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if len(e164) > E164_MAX_DIGITS + 1:
        raise InvalidPhoneNumberError(f"longer than the {E164_MAX_DIGITS} digits E.164 allows")
    return e164


# The zone of a number that phonenumbers places nowhere, and of the provider's own dates (a French company).
PARIS = "Europe/Paris"
_UNKNOWN_ZONE = "Etc/Unknown"


def time_zones(e164: str) -> tuple[str, ...]:
    """The IANA time zones of the place a number belongs to, from phonenumbers' time-zone data.

    One zone for most numbers (``Europe/Paris`` for the mainland, ``America/Martinique`` for +596); several
    where the prefix does not tell (``+262 692…`` is Réunion or Mayotte, an hour apart): callers decide which
    reading is the safe one. A number the data does not place gets the zones of its calling code's regions
    (their example numbers), and failing that Paris. Sorted, so that the answer never depends on the data's
    order.
    """
    code = _calling_code(e164)
    if code is not None:
        single = _single_zone(code)
        if single is not None:
            return single
    phonenumbers = _phonenumbers()
    from phonenumbers import timezone

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return (PARIS,)
    zones = _known(timezone.time_zones_for_number(parsed))
    return zones or _calling_code_zones(parsed.country_code)


def is_canonical_mainland(e164: str) -> bool:
    """True for a mainland number in E.164 (``+33`` and a mainland range): France's region, Paris's zone."""
    return _CANONICAL_MAINLAND.fullmatch(e164) is not None


def regions(e164: str) -> tuple[str, ...]:
    """The ISO 3166 regions a valid E.164 number may belong to, by phonenumbers' metadata: one for most
    (``RE`` for ``+262 692…``), several where ranges are shared (a ``+590 690…`` mobile is Guadeloupe's,
    Saint-Barthélemy's or Saint-Martin's); empty for a number valid nowhere. Sorted."""
    if is_canonical_mainland(e164):
        return ("FR",)
    phonenumbers = _phonenumbers()
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(
        sorted(
            region
            for region in phonenumbers.region_codes_for_country_code(parsed.country_code)
            if phonenumbers.is_valid_number_for_region(parsed, region)
        )
    )


def _calling_code(e164: str) -> int | None:
    """The calling code of an E.164 text (codes are prefix-free: at most one of 1 to 3 digits fits)."""
    for length in (1, 2, 3):
        digits = e164[1 : 1 + length]
        if len(digits) == length and digits.isascii() and digits.isdigit() and int(digits) in _calling_codes():
            return int(digits)
    return None


@cache
def _calling_codes() -> frozenset[int]:
    return frozenset(_phonenumbers().COUNTRY_CODE_TO_REGION_CODE)


@cache
def _single_zone(code: int) -> tuple[str, ...] | None:
    """The zone of every number of ``code`` when phonenumbers' time-zone data names exactly one for all of
    the code's prefixes (+33: Paris, whatever the number): the answer then needs no parse, which costs about
    22 µs a number here (a campaign scrub asks it for every row). ``None`` when the data tells them apart."""
    from phonenumbers.tzdata import TIMEZONE_DATA

    prefix = str(code)
    found = {zones for key, zones in TIMEZONE_DATA.items() if key.startswith(prefix)}
    if len(found) != 1:
        return None
    zones = _known(next(iter(found)))
    return zones if len(zones) == 1 else None


@cache
def _calling_code_zones(code: int) -> tuple[str, ...]:
    phonenumbers = _phonenumbers()
    from phonenumbers import timezone

    zones: set[str] = set()
    for region in phonenumbers.region_codes_for_country_code(code):
        example = phonenumbers.example_number(region)
        if example is not None:
            zones.update(_known(timezone.time_zones_for_number(example)))
    return tuple(sorted(zones)) or (PARIS,)


def _known(zones: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(zone for zone in zones if zone != _UNKNOWN_ZONE))
