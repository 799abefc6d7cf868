"""The unsubscribe service: GET publishes nothing, POST publishes once per press with a stable eventId."""

from __future__ import annotations

from datetime import UTC, datetime

from stoplist.domain.unsubscribe import UnsubscribeLinks
from stoplist.links import make_unsubscribe_url

from tests.unit.fakes import FakePublisher, FakeSigningKeys

KEY = "current-key-0123456789abcdefghijklmnop"


def service(publisher: FakePublisher, keys: FakeSigningKeys) -> UnsubscribeLinks:
    return UnsubscribeLinks(
        publisher=publisher, signing_keys=keys, now=lambda: datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    )


def token() -> str:
    return make_unsubscribe_url("https://x", "06 12 34 56 78", KEY).rsplit("/", 1)[1]


def test_view_publishes_nothing() -> None:
    publisher = FakePublisher()
    assert service(publisher, FakeSigningKeys(KEY)).view(token()) == "+33612345678"
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


def test_previous_key_still_accepted() -> None:
    publisher = FakePublisher()
    keys = FakeSigningKeys("new-key-0123456789abcdefghijklmnopqr", KEY)
    assert service(publisher, keys).confirm(token()) == "+33612345678"
