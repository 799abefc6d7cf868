"""The unsubscribe pages: language, masking, size, headers, no script."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from stoplist.adapters import pages


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "fr"),
        ("", "fr"),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE,en;q=0.5", "en"),
        ("de-DE,es", "fr"),
        ("fr;q=0.2,en;q=0.8", "en"),
        ("en;q=abc,fr", "fr"),
        ("*", "fr"),
    ],
)
def test_language(header: str | None, language: str) -> None:
    assert pages.choose_language(header) == language


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+33612345677", "06 ** ** ** 77"),
        ("+33187654321", "01 ** ** ** 21"),
        ("+262692123456", "06 ** ** ** 56"),
        ("+596696123456", "06 ** ** ** 56"),
        ("+4915123456789", "+49 ** ** ** ** ** 89"),
        ("+508411234", "+50 ** ** ** 34"),
    ],
)
def test_masking(number: str, masked: str) -> None:
    assert pages.mask_for_display(number) == masked


@pytest.mark.parametrize("language", pages.LANGUAGES)
def test_pages_are_small_scriptless_and_labelled(language: str) -> None:
    for html in (
        pages.confirm_page(language, "+33612345677"),
        pages.done_page(language, "+33612345677"),
        pages.not_found_page(language),
        pages.expired_page(language),
        pages.unavailable_page(language),
    ):
        assert len(html.encode()) < 10_000
        assert f'<html lang="{language}">' in html
        assert "<script" not in html.lower()
        assert "612345677" not in html
        assert "<h1" in html
    confirm = pages.confirm_page(language, "+33612345677")
    assert '<form method="post"' in confirm
    assert '<button type="submit">' in confirm
    assert "06 ** ** ** 77" in confirm


def test_not_found_reveals_nothing() -> None:
    assert "**" not in pages.not_found_page("fr")


@pytest.mark.parametrize(("language", "words"), [("fr", "répondez STOP"), ("en", "reply STOP")])
def test_the_expired_page_says_to_reply_stop_and_shows_no_number(language: str, words: str) -> None:
    html = pages.expired_page(language)
    assert words in html
    assert "**" not in html
    assert "<form" not in html


def test_headers_allow_exactly_the_inline_style() -> None:
    headers = pages.page_headers("en")
    digest = base64.b64encode(hashlib.sha256(pages.STYLE.encode()).digest()).decode()
    csp = headers["content-security-policy"]
    assert f"'sha256-{digest}'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'none'" in csp
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"
    assert headers["content-language"] == "en"
    assert re.search(r"<style>(.*)</style>", pages.confirm_page("en", "+33612345677")).group(1) == pages.STYLE  # type: ignore[union-attr]
