"""Signed, encrypted unsubscribe links: ``make_unsubscribe_url(base_url, phone_number, signing_key)``.

A link is ``{base_url}/u/{token}``. The token is 32 characters of base64url (an SMS has 160), built as

    key id (1 byte) || AES-SIV(packed E.164 digits, 7 bytes)      -> 1 + 16 (tag) + 7 = 24 bytes -> 32 chars

- **Encrypted, not just signed**: URLs end up in proxy logs, SMS previews and browser histories; the number
  is not readable without the key. AES-SIV (RFC 5297) is deterministic authenticated encryption: no nonce to
  store or to send (there is no room for one), the same number gives the same token (so a link pressed twice
  is recognisably the same opt-out), and its 16-byte tag detects any change to the token.
- **Key id**: the first byte tells which key made the token (from a hash of the key, so it reveals nothing);
  it is also authenticated (associated data), so changing it is detected like any other change.
- **Rotation**: the key lives in ``LinkSigningKeySecret``. The functions accept the secret's ``AWSCURRENT``
  and ``AWSPREVIOUS`` versions, so after ``put-secret-value`` links minted with the previous key keep working
  until the next rotation (see docs/http-doors.md).
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
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from stoplist.config import DEFAULT_PHONE_REGION
from stoplist.domain.phone import to_e164
from stoplist.errors import ConfigurationError, InvalidPhoneNumberError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

TOKEN_LENGTH = 32
TOKEN_SHAPE = re.compile(rf"^[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}$")
MIN_KEY_LENGTH = 16
_PACKED_BYTES = 7  # 10**15 (E.164's 15 digits) < 2**56
_PURPOSE = b"stoplist unsubscribe link v1"
_E164_DIGITS = re.compile(r"^[1-9][0-9]{6,14}$")


class LinkKey:
    """One signing key, ready to use: its id byte and its AES-SIV cipher."""

    def __init__(self, secret: str) -> None:
        secret = secret.strip()
        if len(secret) < MIN_KEY_LENGTH:
            raise ConfigurationError(f"the link signing key is shorter than {MIN_KEY_LENGTH} characters")
        material = secret.encode("utf-8")
        self.key_id = hashlib.sha256(_PURPOSE + b" key id" + material).digest()[:1]
        self._cipher = _aessiv()(_derive(material))
        self._associated = [_PURPOSE, self.key_id]

    def seal(self, e164: str) -> str:
        digits = e164.removeprefix("+")
        if not _E164_DIGITS.match(digits):
            raise InvalidPhoneNumberError("not an E.164 number of at most 15 digits")
        sealed = self._cipher.encrypt(int(digits).to_bytes(_PACKED_BYTES, "big"), self._associated)
        return base64.urlsafe_b64encode(self.key_id + sealed).decode("ascii")

    def open(self, raw: bytes) -> str | None:
        """The E.164 number in a decoded token, or None when this key did not make it or it was changed."""
        from cryptography.exceptions import InvalidTag

        try:
            packed = self._cipher.decrypt(raw[1:], self._associated)
        except InvalidTag:
            return None
        digits = str(int.from_bytes(packed, "big"))
        return f"+{digits}" if _E164_DIGITS.match(digits) else None


@lru_cache(maxsize=8)
def link_key(secret: str) -> LinkKey:
    """Deriving a key costs far more than using it: mint thousands of links with one derivation."""
    return LinkKey(secret)


def make_unsubscribe_url(
    base_url: str, phone_number: str, signing_key: str, default_region: str = DEFAULT_PHONE_REGION
) -> str:
    """``{base_url}/u/{token}`` for this number, in any usual format (raises InvalidPhoneNumberError)."""
    return f"{base_url.rstrip('/')}/u/{link_key(signing_key).seal(to_e164(phone_number, None, default_region))}"


def open_token(token: object, signing_keys: Iterable[str]) -> str | None:
    """The E.164 number a token carries, if one of ``signing_keys`` made it and nothing changed it.

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
            number = key.open(raw)
            if number is not None:
                return number
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
