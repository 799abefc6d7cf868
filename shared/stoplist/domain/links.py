"""Signed, encrypted unsubscribe links: ``make_unsubscribe_url(base_url, phone_number, signing_key)``.

A link is ``{base_url}/u/{token}``. The token is 36 characters of base64url (an SMS has 160), built as

    key id (1 byte) || AES-SIV(packed E.164 digits (7 bytes) || issue day (3 bytes))  -> 1 + 16 + 10 = 27 bytes

- **Encrypted, not just signed**: URLs end up in proxy logs, SMS previews and browser histories; the number
  is not readable without the key. AES-SIV (RFC 5297) is deterministic authenticated encryption: no nonce to
  store or to send (there is no room for one), the same number on the same day gives the same token (so a
  link pressed twice is recognisably the same opt-out), and its 16-byte tag detects any change to the token.
- **Key id**: the first byte tells which key made the token (from a hash of the key, so it reveals nothing);
  it is also authenticated (associated data), so changing it is detected like any other change.
- **Issue day** (days since 1970-01-01, UTC), sealed with the number: a link lives ``LinkLifetimeDays`` from
  it (``stoplist.domain.unsubscribe``), then gets the page that says to reply STOP. Tokens of 32 characters,
  made before links carried their day, have none: they live as long as the key that made them was retired
  less than the lifetime ago (a token is never younger than its key's retirement).
- **Rotation**: the key lives in ``LinkSigningKeySecret``; every version the secret keeps can open a token
  (``BareSecret.history``), so a rotation never cuts a link short (docs/http-doors.md has the procedure).
- The 64-byte AES-SIV key is derived from the secret string with HKDF-SHA256 (the secret is a 48-character
  generated string, not raw key bytes). ``cryptography`` is imported on first use (cold start).

Measured here: about 200,000 tokens a second on one core for the cipher alone; phone normalisation is the
larger cost for numbers not already in E.164 (see bench/links.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.domain.phone import to_e164
from stoplist.errors import ConfigurationError, InvalidPhoneNumberError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

TOKEN_LENGTH = 36
UNDATED_TOKEN_LENGTH = 32  # made before links carried their issue day: still opened
TOKEN_SHAPE = re.compile(rf"^(?:[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}|[A-Za-z0-9_-]{{{UNDATED_TOKEN_LENGTH}}})$")
MIN_KEY_LENGTH = 16
_PACKED_BYTES = 7  # 10**15 (E.164's 15 digits) < 2**56
_DAY_BYTES = 3  # days since 1970-01-01: 2**24 days is 45,000 years
_PURPOSE = b"stoplist unsubscribe link v1"
_DATED = b" dated"
_E164_DIGITS = re.compile(r"^[1-9][0-9]{6,14}$")
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class OpenedToken:
    number: str  # E.164
    issued_on: date | None  # None: a token made before links carried their issue day
    secret: str  # the signing key that made it


class LinkKey:
    """One signing key, ready to use: its id byte and its AES-SIV cipher."""

    def __init__(self, secret: str) -> None:
        secret = secret.strip()
        if len(secret) < MIN_KEY_LENGTH:
            raise ConfigurationError(f"the link signing key is shorter than {MIN_KEY_LENGTH} characters")
        material = secret.encode("utf-8")
        self.key_id = hashlib.sha256(_PURPOSE + b" key id" + material).digest()[:1]
        self._cipher = _aessiv()(_derive(material))
        self._undated = [_PURPOSE, self.key_id]
        self._dated = [_PURPOSE + _DATED, self.key_id]

    def seal(self, e164: str, issued_on: date) -> str:
        digits = e164.removeprefix("+")
        if not _E164_DIGITS.match(digits):
            raise InvalidPhoneNumberError("not an E.164 number of at most 15 digits")
        day = (issued_on - _EPOCH).days.to_bytes(_DAY_BYTES, "big")
        sealed = self._cipher.encrypt(int(digits).to_bytes(_PACKED_BYTES, "big") + day, self._dated)
        return base64.urlsafe_b64encode(self.key_id + sealed).decode("ascii")

    def open(self, raw: bytes) -> tuple[str, date | None] | None:
        """The E.164 number in a decoded token and its issue day, or None when this key did not make it or it
        was changed."""
        from cryptography.exceptions import InvalidTag

        dated = len(raw) * 4 // 3 == TOKEN_LENGTH
        try:
            plain = self._cipher.decrypt(raw[1:], self._dated if dated else self._undated)
        except InvalidTag:
            return None
        digits = str(int.from_bytes(plain[:_PACKED_BYTES], "big"))
        if not _E164_DIGITS.match(digits):
            return None
        if not dated:
            return f"+{digits}", None
        return f"+{digits}", _EPOCH + timedelta(days=int.from_bytes(plain[_PACKED_BYTES:], "big"))


@lru_cache(maxsize=64)
def link_key(secret: str) -> LinkKey:
    """Deriving a key costs far more than using it: mint thousands of links with one derivation, and keep the
    key ring's keys (a rotation a month for five years) derived."""
    return LinkKey(secret)


def make_unsubscribe_url(
    base_url: str,
    phone_number: str,
    signing_key: str,
    default_region: str = DEFAULT_PHONE_REGION,
    issued_on: date | None = None,
) -> str:
    """``{base_url}/u/{token}`` for this number, in any usual format (raises InvalidPhoneNumberError), issued
    today (UTC) unless said otherwise."""
    e164 = to_e164(phone_number, None, default_region)
    token = link_key(signing_key).seal(e164, issued_on or datetime.now(UTC).date())
    return f"{base_url.rstrip('/')}/u/{token}"


def open_token(token: object, signing_keys: Iterable[str]) -> OpenedToken | None:
    """The number a token carries, its issue day and its key, if one of ``signing_keys`` made it and nothing
    changed it. Whether it is still within its lifetime is the caller's rule.

    Anything else (wrong type, shape or length, unknown key, any changed character) is ``None``: the caller
    answers all of them the same way, so a probe learns nothing.
    """
    if not isinstance(token, str) or not TOKEN_SHAPE.match(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    for secret in signing_keys:
        key = link_key(secret)
        if key.key_id == raw[:1]:
            opened = key.open(raw)
            if opened is not None:
                return OpenedToken(number=opened[0], issued_on=opened[1], secret=secret)
    return None


def token_fingerprint(token: str) -> str:
    """A stable id for a token that is safe to log and to use as an eventId (the token itself is a bearer
    credential and never logged): pressing the button twice sends the same eventId."""
    return "link-" + hashlib.sha256(token.encode("ascii", errors="replace")).hexdigest()[:32]


@cache
def _aessiv() -> type[AESSIV]:
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

    return AESSIV


def _derive(material: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_PURPOSE).derive(material)
