"""API Gateway HTTP API (payload format 2.0) in and out: the request a handler reads, the answers it gives.

What API Gateway does that matters here: header names arrive lower-cased, with repeated headers and
repeated query parameters joined by commas (``?token=a&token=b`` gives ``"a,b"``, which no token equals);
bodies it considers binary, form posts included, arrive base64-encoded with ``isBase64Encoded``.

Every refusal is a RequestRefusedError with its status code, raised before anything is published.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from stoplist.errors import RequestRefusedError

# An SMS reply is a few hundred bytes, a long one a few kilobytes; anything larger is not one.
MAX_BODY_BYTES = 16 * 1024
MAX_FIELDS = 64
MAX_FIELD_NAME = 64
# JSON is UTF-8 (RFC 8259). Forms from PHP senders are sometimes Latin-1: honoured when declared.
_FORM_CHARSETS = {"utf-8", "utf8", "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252", "us-ascii"}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"
_T = TypeVar("_T")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    path_parameters: Mapping[str, str]
    raw_body: object
    base64_encoded: bool

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> HttpRequest:
        http = (event.get("requestContext") or {}).get("http") or {}
        return cls(
            method=str(http.get("method", "")).upper(),
            headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
            query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
            path_parameters={str(k): str(v) for k, v in (event.get("pathParameters") or {}).items()},
            raw_body=event.get("body"),
            base64_encoded=bool(event.get("isBase64Encoded")),
        )

    def body(self, limit: int = MAX_BODY_BYTES) -> bytes:
        """The body's bytes (base64 undone), refused past ``limit`` before it is decoded."""
        return _body(self.raw_body, self.base64_encoded, limit)

    def fields(self) -> dict[str, str]:
        """The body's fields as text: a form, multipart form or JSON object; each field at most once."""
        body = self.body()
        media_type, params = _content_type(self.headers.get("content-type", ""))
        if not body.strip():
            raise RequestRefusedError(400, "the body is empty")
        if not media_type:
            # Some senders post without a Content-Type: look at the body rather than lose a STOP.
            media_type = JSON if body.lstrip()[:1] == b"{" else FORM
        if media_type == JSON:
            if params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
                raise RequestRefusedError(415, "JSON must be UTF-8")
            return _json_fields(body)
        if media_type == FORM:
            return _form_fields(body, params.get("charset"))
        if media_type == MULTIPART:
            return _multipart_fields(body, self.headers.get("content-type", ""))
        raise RequestRefusedError(415, f"unsupported content type {media_type[:60]!r}")


def _body(body: object, base64_encoded: bool, limit: int) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise RequestRefusedError(400, "the body is not text")
    if base64_encoded:
        if len(body) > (limit + 2) // 3 * 4 + 4:
            raise RequestRefusedError(413, f"the body is larger than {limit} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise RequestRefusedError(400, "the body is not valid base64") from None
    else:
        if len(body) > limit:
            raise RequestRefusedError(413, f"the body is larger than {limit} bytes")
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > limit:
        raise RequestRefusedError(413, f"the body is larger than {limit} bytes")
    return raw


def _content_type(header: str) -> tuple[str, dict[str, str]]:
    media_type, _, rest = header.partition(";")
    params = {}
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"')
    return media_type.strip().lower(), params


def _json_fields(body: bytes) -> dict[str, str]:
    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=_no_repeats)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RequestRefusedError(400, "the body is not valid UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise RequestRefusedError(400, "the JSON body is not an object")
    fields: dict[str, str] = {}
    for key, value in document.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise RequestRefusedError(400, f"field {key[:MAX_FIELD_NAME]!r} is not a string")
        fields[key] = str(value)
    return _checked(fields)


def _form_fields(body: bytes, charset: str | None) -> dict[str, str]:
    if charset is not None and charset.lower() not in _FORM_CHARSETS:
        raise RequestRefusedError(415, "unsupported charset")
    encodings = [charset] if charset else ["utf-8", "windows-1252"]  # undeclared: UTF-8, else Latin-1's superset
    for encoding in encodings:
        try:
            pairs = parse_qsl(
                body.decode(encoding),
                keep_blank_values=True,
                strict_parsing=True,
                encoding=encoding,
                errors="strict",
                max_num_fields=MAX_FIELDS,
            )
        except UnicodeDecodeError:
            continue
        except ValueError:
            raise RequestRefusedError(400, "the body is not a form") from None
        return _unique(pairs)
    raise RequestRefusedError(400, "the form is not valid UTF-8")


def _multipart_fields(body: bytes, content_type: str) -> dict[str, str]:
    """PHP's curl posts an array as multipart/form-data; the stdlib's MIME parser reads it (loaded on use)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    head = b"Content-Type: " + content_type.encode("latin-1", errors="replace") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart() or message.defects:
        raise RequestRefusedError(400, "the body is not a multipart form")
    pairs = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes) or part.get_filename():
            raise RequestRefusedError(400, "a multipart part is not a named text field")
        try:
            pairs.append((name, payload.decode(part.get_content_charset() or "utf-8")))
        except (UnicodeDecodeError, LookupError):
            raise RequestRefusedError(400, "a multipart field is not valid text") from None
    if len(pairs) > MAX_FIELDS:
        raise RequestRefusedError(400, "too many fields")
    return _unique(pairs)


def _unique(pairs: list[tuple[str, str]]) -> dict[str, str]:
    return _checked(_no_repeats(pairs))


def _no_repeats(pairs: list[tuple[str, _T]]) -> dict[str, _T]:
    """A field given twice is ambiguous (which one did the sender mean?): refused, in forms and in JSON."""
    fields: dict[str, _T] = {}
    for key, value in pairs:
        if key in fields:
            raise RequestRefusedError(400, f"field {key[:MAX_FIELD_NAME]!r} is repeated")
        fields[key] = value
    return fields


def _checked(fields: dict[str, str]) -> dict[str, str]:
    if len(fields) > MAX_FIELDS:
        raise RequestRefusedError(400, "too many fields")
    for key, value in fields.items():
        if len(key) > MAX_FIELD_NAME or "\x00" in key or "\x00" in value:
            raise RequestRefusedError(400, "a field name or value is not text")
        if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
            raise RequestRefusedError(400, "a field value is not valid unicode")
    return fields


def json_response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            "content-type": "application/json",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
        "body": json.dumps(payload),
        "isBase64Encoded": False,
    }


def html_response(status: int, html: str, headers: Mapping[str, str]) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(headers), "body": html, "isBase64Encoded": False}
