"""Phone numbers to E.164, with phonenumbers, the same way for events, snapshots and lookups."""

from __future__ import annotations

import re
from functools import cache
from types import ModuleType

from stoplist.errors import InvalidPhoneNumberError

# Longer than any real formatting of a number; phonenumbers itself refuses past 250 characters.
MAX_INPUT_LENGTH = 64
_REGION = re.compile(r"^[A-Z]{2}$")
# Canonical French E.164: what the provider's list holds for the vast majority of entries. phonenumbers
# parses about 40,000 numbers a second on one core here, too slow for a million-entry list on every snapshot.
_CANONICAL_FRENCH = re.compile(r"^\+33[1-9][0-9]{8}$")


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
    if any(not char.isprintable() for char in text):
        raise InvalidPhoneNumberError("phone number contains control characters")
    region = (country or default_region).upper()
    if not _REGION.match(region):
        raise InvalidPhoneNumberError("country is not an ISO 3166 alpha-2 code")
    if _CANONICAL_FRENCH.match(text):
        return text
    phonenumbers = _phonenumbers()
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumberError("not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumberError("not a valid phone number for its country")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def provider_e164(raw: str, default_region: str) -> str | None:
    """Normalise a number read from the provider's list; ``None`` when it is not a valid number."""
    if _CANONICAL_FRENCH.match(raw):
        return raw
    try:
        return to_e164(raw, None, default_region)
    except InvalidPhoneNumberError:
        return None
