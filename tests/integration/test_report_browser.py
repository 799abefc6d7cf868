"""``stoplist report --html`` in a real browser: a month of history on DynamoDB Local, the page written by the
command, opened from disk in Debian's headless Chromium at a phone's width and a desktop's, with nothing fetched
and nothing wider than the screen. Saves docs/screenshots/report-fr.png (phone) and report-en.png (desktop)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import boto3
import pytest
from stoplist.adapters.history import HistoryTable
from stoplist.domain.changes import CHANGE_OPT_IN, CHANGE_OPT_OUT, CHANGE_SNAPSHOT_ADDITION
from stoplist.domain.records import HistoryEntry

from devkit.template import LocalResources
from tests.integration.test_cli import stoplist
from tests.integration.test_unsubscribe_browser import SCREENSHOTS, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

SOURCES = ["smspartner-reply"] * 5 + ["unsubscribe-link"] * 3 + ["crm", "import"]


def a_month(seed: int = 20) -> list[HistoryEntry]:
    """March 2026: 20 to 60 opt-outs a day through every door, a few re-opt-ins, and a provider outage on the
    17th (STOPs honoured 5 to 40 minutes late, received several times)."""
    rng = random.Random(seed)
    entries = []
    for day in range(1, 32):
        for index in range(rng.randint(20, 60)):
            at = f"2026-03-{day:02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00.000000Z"
            number = f"+3361{day:02d}{index:05d}"
            outage = day == 17 and index < 25
            seconds = rng.uniform(300, 2400) if outage else rng.lognormvariate(0.4, 0.35)
            change = CHANGE_SNAPSHOT_ADDITION if index % 17 == 16 else CHANGE_OPT_OUT
            entries.append(
                HistoryEntry(
                    number,
                    at,
                    f"ev-{day}-{index}",
                    change,
                    "snapshot" if change == CHANGE_SNAPSHOT_ADDITION else "optout",
                    at,
                    source="smspartner" if change == CHANGE_SNAPSHOT_ADDITION else rng.choice(SOURCES),
                    channel="bus" if index % 7 == 0 else None,
                    receive_count=rng.randint(2, 5) if outage else 1,
                    honour_seconds=None if change == CHANGE_SNAPSHOT_ADDITION else round(seconds, 3),
                )
            )
        if day % 6 == 0:
            at = f"2026-03-{day:02d}T12:00:00.000000Z"
            entries.append(
                HistoryEntry(f"+3369{day:07d}", at, f"in-{day}", CHANGE_OPT_IN, "optin", at, consent_source="web-form")
            )
    return entries


def open_page(driver: Any, page: Path, width: int, height: int) -> None:
    driver.set_window_size(width, height)
    driver.get(page.as_uri())


def full_page_screenshot(driver: Any, path: Path, width: int) -> None:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, height + 140)  # the window's frame is not the page's
    driver.save_screenshot(str(path))


def test_the_monthly_report_reads_on_a_phone_and_a_desktop(
    resources: LocalResources,
    browser: Any,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    HistoryTable(resources.table_names["StopListHistoryTable"], boto3.client("dynamodb")).append_all(a_month())
    pages = {}
    for lang in ("fr", "en"):
        pages[lang] = tmp_path / f"report-{lang}.html"
        result = stoplist(
            resources,
            "report",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--html",
            str(pages[lang]),
            "--lang",
            lang,
        )
        assert result.exit_code == 0, result.output

    for lang, width, height in (("fr", 412, 915), ("en", 1280, 900)):
        open_page(browser, pages[lang], width, height)
        assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
        viewport = browser.execute_script("return document.documentElement.clientWidth")
        assert browser.execute_script("return document.documentElement.scrollWidth") <= viewport
        assert len(browser.find_elements(By.CSS_SELECTOR, "svg")) == 2
        assert len(browser.find_elements(By.CSS_SELECTOR, "svg rect")) == 31  # one bar a day
        resources_loaded = browser.execute_script("return performance.getEntriesByType('resource').length")
        assert resources_loaded == 0  # nothing fetched: styles and charts are in the page
        body = browser.find_element(By.TAG_NAME, "body").text
        assert ("Les dix oppositions les plus lentes" if lang == "fr" else "The ten slowest opt-outs") in body
        assert ("reçue 5 fois" if lang == "fr" else "received 5 times") in body
        full_page_screenshot(browser, SCREENSHOTS / f"report-{lang}.png", width)
