"""SMS replies: both documented shapes, STOP detection on normalised text, the webhook's outcomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.config import DEFAULT_STOP_KEYWORDS
from stoplist.domain.events import parse_sqs_body
from stoplist.domain.ports import DeadLetterSink, OptOutPublisher, SecretVersion
from stoplist.domain.replies import ReplyOutcome, ReplyWebhook, StopKeywords, normalise_text, parse_reply
from stoplist.errors import AwsServiceError, ConfigurationError, InvalidReplyError, RequestRefusedError

from tests.helpers import metrics_counted
from tests.unit.fakes import (
    FailingDeadLetters,
    FailingPublisher,
    FakeDeadLetters,
    FakePublisher,
    FakeWebhookToken,
)

KEYWORDS = StopKeywords(DEFAULT_STOP_KEYWORDS)
LONG = {
    "msisdn": "33612345678",
    "to": "33700000000",
    "messageId": "02000000ABC",
    "text": "Stop",
    "type": "text",
    "keyword": "STOP",
    "message-timestamp": "2016-03-10 09:51:46",
}
SHORT = {"type": "response", "phone_number": "+33612345678", "text": "STOP", "message_id": "123"}


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop",
        " stop ",
        "STOP!",
        "Stop.",
        "stop !!!",
        "STOP SMS",
        "stop sms",
        "Stop-SMS",
        "STOP merci",
        "Stop, merci de ne plus m'écrire",
        "ARRET",
        "arrêt",
        "Arrêt !",
        "ARRÊT",
        "désabonner",
        "DESABONNER",
        "Désinscrire",
        "desinscription",
        "UNSUBSCRIBE",
        "unsubscribe please",
        "\u00a0STOP\u00a0",
        "\uff33\uff34\uff2f\uff30",
        "🛑 STOP",
        "stop\npub",
        "S.T.O.P",
    ],
)
def test_opt_out_words(text: str) -> None:
    if text == "S.T.O.P":
        assert KEYWORDS.match(text) is None  # letters spelled apart are not the word
    else:
        assert KEYWORDS.match(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "stopper",
        "Bonjour",
        "",
        "   ",
        "je veux stop",
        "Non merci",
        "STOPPEZ",
        "arrete de m'ecrire",
        "stops",
        "Pas stop",
        "OK",
        "?",
        "unsubscribed",
        "destop",
    ],
)
def test_not_opt_out_words(text: str) -> None:
    assert KEYWORDS.match(text) is None


def test_normalise_text() -> None:
    assert normalise_text("  Arrêt !! ") == "arret"
    assert normalise_text("STOP-SMS") == "stop sms"
    assert normalise_text("Désabonner\t\nmoi") == "desabonner moi"


def test_keyword_list_is_a_parameter() -> None:
    only_fin = StopKeywords("FIN, Annuler")
    assert only_fin.match("fin") == "fin"
    assert only_fin.match("annuler svp") == "annuler"
    assert only_fin.match("STOP") is None
    with pytest.raises(ConfigurationError, match="no keyword"):
        StopKeywords(" , ")


@settings(max_examples=400)
@given(keyword=st.sampled_from(DEFAULT_STOP_KEYWORDS.split(",")), tail=st.text(max_size=40))
def test_a_keyword_then_a_word_boundary_is_an_opt_out(keyword: str, tail: str) -> None:
    text = keyword.lower() + " " + tail
    assert KEYWORDS.match(text) is not None


@settings(max_examples=400)
@given(text=st.text(max_size=60))
def test_detection_is_deterministic_and_ignores_case_and_accents(text: str) -> None:
    assert KEYWORDS.match(text) == KEYWORDS.match(text.upper()) == KEYWORDS.match(normalise_text(text))


@settings(max_examples=400)
@given(word=st.from_regex(r"\A[a-z]{1,12}\Z"))
def test_a_first_word_that_only_starts_like_stop_is_not_one(word: str) -> None:
    assert KEYWORDS.match("stop" + word) is None or "stop" + word in {"stopall", "stopsms", "stoppub"}


def test_long_number_shape() -> None:
    reply = parse_reply(LONG)
    assert reply.phone_number == "+33612345678"
    assert reply.message_id == "02000000ABC"
    assert not reply.continuation


def test_short_number_shape() -> None:
    reply = parse_reply(SHORT)
    assert (reply.phone_number, reply.message_id, reply.text) == ("+33612345678", "123", "STOP")


def test_concatenated_parts() -> None:
    first = {**LONG, "concat": "true", "concat-ref": "171", "concat-total": "2", "concat-part": "1"}
    assert not parse_reply(first).continuation
    assert parse_reply({**first, "concat-part": "2"}).continuation
    for part, total in (("3", "2"), ("0", "2"), ("x", "2"), ("1", "")):
        with pytest.raises(InvalidReplyError):
            parse_reply({**first, "concat-part": part, "concat-total": total})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": "STOP"}, "neither"),
        ({**LONG, "phone_number": "+33612345678"}, "both"),
        ({k: v for k, v in LONG.items() if k != "text"}, "text is missing"),
        ({**LONG, "msisdn": "3639"}, "sender"),
        ({**LONG, "msisdn": ""}, "sender"),
        ({**LONG, "text": "x" * 1601}, "longer"),
        ({**LONG, "messageId": "x" * 129}, "longer"),
    ],
)
def test_not_a_reply(fields: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidReplyError, match=message):
        parse_reply(fields)


NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def webhook(
    publisher: OptOutPublisher,
    token: FakeWebhookToken | None = None,
    dead_letters: DeadLetterSink | None = None,
) -> ReplyWebhook:
    return ReplyWebhook(
        publisher=publisher,
        dead_letters=dead_letters or FakeDeadLetters(),
        keywords=KEYWORDS,
        token=token or FakeWebhookToken(SecretVersion("s3cret-token", NOW - timedelta(days=100))),
        token_grace=timedelta(hours=72),
        default_region="FR",
        now=lambda: NOW,
    )


def test_stop_reply_publishes_the_contract_event() -> None:
    publisher = FakePublisher()
    assert webhook(publisher).process("s3cret-token", lambda: LONG) is ReplyOutcome.OPT_OUT
    assert publisher.events == [
        {
            "phoneNumber": "+33612345678",
            "source": "smspartner-reply",
            "eventId": "02000000ABC",
            "occurredAt": "2026-11-23T05:00:00+00:00",
            "reason": "SMS reply STOP",
        }
    ]


def test_other_replies_and_continuations_are_ignored() -> None:
    publisher = FakePublisher()
    service = webhook(publisher)
    assert service.process("s3cret-token", lambda: {**LONG, "text": "Bonjour"}) is ReplyOutcome.IGNORED
    continuation = {**LONG, "concat": "true", "concat-total": "2", "concat-part": "2"}
    assert service.process("s3cret-token", lambda: continuation) is ReplyOutcome.IGNORED
    assert publisher.events == []


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("", 401), ("wrong", 403), ("s3cret-token ", 403)])
def test_token_is_checked_before_the_body_is_read(token: str | None, status: int) -> None:
    publisher = FakePublisher()
    read: list[bool] = []

    def fields() -> dict[str, str]:
        read.append(True)
        return LONG

    with pytest.raises(RequestRefusedError) as refused:
        webhook(publisher).process(token, fields)
    assert refused.value.status == status
    assert not read
    assert publisher.events == []


def test_a_body_that_is_not_a_reply_is_400() -> None:
    with pytest.raises(RequestRefusedError) as refused:
        webhook(FakePublisher()).process("s3cret-token", lambda: {"hello": "world"})
    assert refused.value.status == 400


def rotated(hours_ago: float) -> FakeWebhookToken:
    return FakeWebhookToken(
        SecretVersion("new-token", NOW - timedelta(hours=hours_ago)),
        SecretVersion("old-token", NOW - timedelta(days=400)),
    )


@pytest.mark.parametrize(("hours_ago", "old_accepted"), [(1, True), (71.9, True), (72, False), (500, False)])
def test_the_previous_token_is_accepted_for_the_grace_after_the_rotation(hours_ago: float, old_accepted: bool) -> None:
    token = rotated(hours_ago)
    assert webhook(FakePublisher(), token).process("new-token", lambda: LONG) is ReplyOutcome.OPT_OUT
    if old_accepted:
        assert webhook(FakePublisher(), token).process("old-token", lambda: LONG) is ReplyOutcome.OPT_OUT
    else:
        with pytest.raises(RequestRefusedError) as refused:
            webhook(FakePublisher(), token).process("old-token", lambda: LONG)
        assert refused.value.status == 403
        assert token.rereads == 1  # a token we do not know re-reads the secret (throttled inside the adapter)


def test_a_stop_the_queue_refuses_is_dead_lettered_as_the_contract_event_and_counted() -> None:
    kept = FakeDeadLetters()

    with metrics_counted() as counted:
        outcome = webhook(FailingPublisher(), dead_letters=kept).process("s3cret-token", lambda: LONG)

    assert outcome is ReplyOutcome.PUBLISH_FAILED
    [letter] = kept.sent
    assert json.loads(letter["body"]) == {
        "phoneNumber": "+33612345678",
        "source": "smspartner-reply",
        "eventId": "02000000ABC",
        "occurredAt": "2026-11-23T05:00:00+00:00",
        "reason": "SMS reply STOP",
    }
    assert parse_sqs_body(letter["body"], "msg-1").phone_number == "+33612345678"  # what the queue reads back
    assert letter["error_type"] == "aws_service"
    assert letter["reason"].startswith("reply webhook could not send it to OptOutQueue: ")
    assert letter["event_id"] == "02000000ABC"
    assert counted == {"ReplyPublishFailed": 1}


def test_a_stop_kept_nowhere_is_an_error_for_the_sender_to_retry() -> None:
    with metrics_counted() as counted, pytest.raises(AwsServiceError):
        webhook(FailingPublisher(), dead_letters=FailingDeadLetters()).process("s3cret-token", lambda: LONG)
    assert counted == {"ReplyPublishFailed": 1}
