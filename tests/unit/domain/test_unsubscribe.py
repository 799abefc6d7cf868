"""The unsubscribe service: GET publishes nothing, POST publishes once per press with a stable eventId; a link
lives its lifetime across key rotations, then asks to reply STOP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from stoplist.domain.links import make_unsubscribe_url
from stoplist.domain.ports import SecretVersion
from stoplist.domain.unsubscribe import OpenedLink, UnsubscribeLinks

from tests.unit.fakes import FakePublisher, FakeSigningKeys

KEY = "current-key-0123456789abcdefghijklmnop"
NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
LIFETIME = timedelta(days=365)
# Made with KEY before links carried their issue day (32 characters): the same number, +33612345678.
UNDATED_TOKEN = "FI4sE1YJGhBKZcsNOmZ73W1nHGRzKK17"


def service(publisher: FakePublisher, keys: FakeSigningKeys) -> UnsubscribeLinks:
    return UnsubscribeLinks(publisher=publisher, signing_keys=keys, lifetime=LIFETIME, now=lambda: NOW)


def token(key: str = KEY, issued_on: date | None = None) -> str:
    url = make_unsubscribe_url("https://x", "06 12 34 56 78", key, issued_on=issued_on or NOW.date())
    return url.rsplit("/", 1)[1]


def test_view_publishes_nothing() -> None:
    publisher = FakePublisher()
    assert service(publisher, FakeSigningKeys(KEY)).view(token()) == OpenedLink("+33612345678", expired=False)
    assert publisher.events == []


def test_confirm_twice_publishes_the_same_event() -> None:
    publisher = FakePublisher()
    links = service(publisher, FakeSigningKeys(KEY))
    links.confirm(token())
    links.confirm(token())
    assert publisher.events[0] == publisher.events[1]
    assert publisher.events[0]["phoneNumber"] == "+33612345678"
    assert publisher.events[0]["source"] == "unsubscribe-link"
    assert publisher.events[0]["eventId"].startswith("link-")
    assert token() not in str(publisher.events)


def test_invalid_tokens_publish_nothing_and_ask_for_a_reread() -> None:
    publisher = FakePublisher()
    keys = FakeSigningKeys("another-key-0123456789abcdefghijklmn")
    links = service(publisher, keys)
    assert links.confirm(token()) is None
    assert links.view("nonsense") is None
    assert publisher.events == []
    assert keys.rereads == 2


def rotated(*retired_days_ago: float) -> FakeSigningKeys:
    """KEY, retired ``retired_days_ago[0]`` days ago, then succeeded by keys created at the later dates."""
    successors = [
        SecretVersion(f"successor-{index}-0123456789abcdefghijklmnop", NOW - timedelta(days=days))
        for index, days in enumerate(retired_days_ago)
    ]
    return FakeSigningKeys(*reversed(successors), SecretVersion(KEY, NOW - timedelta(days=900)))


def test_a_link_lives_its_lifetime_across_rotations() -> None:
    publisher = FakePublisher()
    keys = rotated(300, 200, 100, 1)  # four rotations since the link was issued, 364 days ago
    link = service(publisher, keys).confirm(token(issued_on=NOW.date() - timedelta(days=364)))
    assert link == OpenedLink("+33612345678", expired=False)
    assert [event["phoneNumber"] for event in publisher.events] == ["+33612345678"]


@pytest.mark.parametrize(("days_ago", "expired"), [(0, False), (365, False), (366, True), (2000, True)])
def test_a_link_past_its_lifetime_is_expired_and_publishes_nothing(days_ago: int, expired: bool) -> None:
    """A link works through the whole day its lifetime ends on."""
    publisher = FakePublisher()
    issued_on = NOW.date() - timedelta(days=days_ago)
    link = service(publisher, FakeSigningKeys(KEY)).confirm(token(issued_on=issued_on))
    assert link == OpenedLink("+33612345678", expired=expired)
    assert len(publisher.events) == (0 if expired else 1)


def test_a_link_dated_after_its_keys_retirement_is_not_ours() -> None:
    keys = rotated(10)  # KEY retired 10 days ago: a link made with it today was not made by us
    assert service(FakePublisher(), keys).view(token(issued_on=NOW.date())) is None
    assert service(FakePublisher(), keys).view(token(issued_on=NOW.date() - timedelta(days=9))) is not None


@pytest.mark.parametrize(("retired_days_ago", "expired"), [(None, False), (364, False), (366, True)])
def test_an_undated_link_lives_the_lifetime_after_its_keys_retirement(
    retired_days_ago: int | None, expired: bool
) -> None:
    keys = FakeSigningKeys(KEY) if retired_days_ago is None else rotated(retired_days_ago, 30)
    assert service(FakePublisher(), keys).view(UNDATED_TOKEN) == OpenedLink("+33612345678", expired=expired)
