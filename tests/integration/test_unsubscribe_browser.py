"""The unsubscribe link in a real browser: Debian's headless Chromium, driven by Selenium through the
system chromedriver (no browser download), against the local HTTP API. Saves screenshots of the pages to
docs/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from stoplist.domain.links import make_unsubscribe_url

from devkit.services import REPO_ROOT
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources
from tests.integration.http_doors import Doors, start_doors

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=412,915",  # a phone's viewport
)
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"


@pytest.fixture
def doors(resources: LocalResources) -> Iterator[Doors]:
    yield from start_doors(resources)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail("chromium and chromium-driver are missing: run `bash scripts/bootstrap.sh` (installs them)")
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a browser or a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_argument("--lang=fr-FR")
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})  # a French phone
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def test_open_link_press_button_number_in_stop_list(doors: Doors, standin: SmsPartnerStandIn, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    link = doors.link("06 12 34 56 77")
    # A messaging app's preview and a link scanner fetch with GET: nobody is opted out.
    for agent in ("WhatsApp/2.24.1 A", "Mozilla/5.0 (compatible; Google-Safety; +http://www.google.com/bot.html)"):
        assert requests.get(link, headers={"User-Agent": agent}, timeout=10).status_code == 200
    assert requests.head(link, timeout=10).status_code == 404  # no HEAD route, as on API Gateway

    browser.get(link)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert browser.find_element(By.CSS_SELECTOR, ".number").text == "06 ** ** ** 77"
    button = browser.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    assert button.text == "Me désabonner"
    assert button.size["height"] >= 48  # the inline style applied (the CSP hash matches): a large tap target
    assert doors.queued() == 0  # opening the page changed nothing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "unsubscribe-confirm.png"))

    button.click()
    WebDriverWait(browser, 10).until(expected_conditions.title_is("Désabonnement enregistré"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "C'est fait"
    assert browser.find_element(By.CSS_SELECTOR, ".number").text == "06 ** ** ** 77"
    browser.save_screenshot(str(SCREENSHOTS / "unsubscribe-done.png"))
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not [entry for entry in errors if "favicon" not in entry["message"]]  # no CSP violation

    assert doors.queued() == 1
    doors.drain()
    assert "+33612345677" in standin.stop_list()


def test_english_and_invalid_links(doors: Doors, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Accept-Language": "en-GB,en;q=0.9"}})
    link = doors.link("+33 7 81 23 45 67")
    browser.get(link)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.CSS_SELECTOR, "form button").text == "Unsubscribe"
    assert browser.find_element(By.CSS_SELECTOR, ".number").text == "07 ** ** ** 67"
    browser.get(link[:-1] + ("A" if link[-1] != "A" else "B"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "This link is not valid"
    assert "**" not in browser.page_source
    browser.save_screenshot(str(SCREENSHOTS / "unsubscribe-invalid-en.png"))
    assert doors.queued() == 0


def test_a_link_past_its_lifetime_asks_to_reply_stop(doors: Doors, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    lifetime = int(doors.resources.parameters["LinkLifetimeDays"])
    issued_on = datetime.now(UTC).date() - timedelta(days=lifetime + 1)
    browser.get(make_unsubscribe_url(doors.url, "06 12 34 56 77", doors.link_key, issued_on=issued_on))

    assert browser.title == "Lien expiré"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Ce lien a expiré"
    assert "répondez STOP" in browser.find_element(By.TAG_NAME, "p").text
    assert "**" not in browser.page_source  # an expired link shows no number
    assert not browser.find_elements(By.TAG_NAME, "form")
    browser.save_screenshot(str(SCREENSHOTS / "unsubscribe-expired.png"))
    assert doors.queued() == 0
