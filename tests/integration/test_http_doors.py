"""The HTTP doors end to end, over real HTTP: the local HTTP API (API Gateway's v2 events) -> the webhook and
page functions -> OptOutQueue (moto) -> the SQS function -> the SMS Partner stand-in's stop list."""

from __future__ import annotations

import base64
import copy
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from stoplist.domain.links import make_unsubscribe_url

from devkit.emf import tally_metrics
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources, http_routes
from tests.helpers import load_event, local_function
from tests.integration.http_doors import Doors, start_doors
from tests.integration.test_cli import as_json, stoplist

pytestmark = pytest.mark.integration


@pytest.fixture
def doors(resources: LocalResources) -> Iterator[Doors]:
    yield from start_doors(resources)


def test_template_routes_are_served() -> None:
    from devkit.template import load_template

    keys = {route.route_key: route.function_id for route in http_routes(load_template())}
    assert keys == {
        "POST /webhooks/smspartner/replies": "RepliesWebhookFunction",
        "GET /u/{token}": "UnsubscribePageFunction",
        "POST /u/{token}": "UnsubscribePageFunction",
    }


def test_stop_reply_as_form_ends_in_the_stop_list(doors: Doors, standin: SmsPartnerStandIn) -> None:
    form = {"msisdn": "33612345678", "to": "33700000000", "messageId": "0200A1", "text": "Stop !", "type": "text"}
    answer = doors.webhook(data=form)
    assert (answer.status_code, answer.json()) == (200, {"status": "opt_out"})
    assert doors.queued() == 1
    doors.drain()
    assert "+33612345678" in standin.stop_list()


def test_short_number_reply_as_json(doors: Doors, standin: SmsPartnerStandIn) -> None:
    reply = {"type": "response", "phone_number": "+33698765432", "text": "ARRÊT", "message_id": "123"}
    assert doors.webhook(json=reply).json() == {"status": "opt_out"}
    doors.drain()
    assert "+33698765432" in standin.stop_list()


def test_other_replies_are_acknowledged_and_ignored(doors: Doors) -> None:
    for text in ("Bonjour", "stopper", "je veux stop", ""):
        answer = doors.webhook(data={"msisdn": "33612345678", "messageId": "x", "text": text})
        assert (answer.status_code, answer.json()) == (200, {"status": "ignored"})
    assert doors.queued() == 0


def test_wrong_or_missing_token(doors: Doors) -> None:
    form = {"msisdn": "33612345678", "messageId": "x", "text": "STOP"}
    assert doors.webhook(data=form, params={}).status_code == 401
    assert doors.webhook(data=form, params={"token": "wrong"}).status_code == 403
    assert doors.webhook(data=form, params=[("token", doors.webhook_token), ("token", "x")]).status_code == 403
    assert doors.queued() == 0


def test_sample_events_through_the_handlers(doors: Doors) -> None:
    webhook = load_event("http_replies_webhook.json")
    webhook["queryStringParameters"]["token"] = doors.webhook_token
    function = local_function(doors.resources, "RepliesWebhookFunction", "handlers.replies_webhook")
    answer = function.invoke(webhook)
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"status": "opt_out"})
    page = local_function(doors.resources, "UnsubscribePageFunction", "handlers.unsubscribe_page")
    token = doors.link("06 12 34 56 77").rsplit("/", 1)[1]
    for name, status in (("http_unsubscribe_get.json", 200), ("http_unsubscribe_post.json", 200)):
        event = load_event(name)
        event["pathParameters"]["token"] = token
        assert page.invoke(event)["statusCode"] == status
        assert page.invoke(load_event(name))["statusCode"] == 404  # the sample's placeholder token
    assert doors.queued() == 2  # the STOP reply and the one POST


def test_page_get_changes_nothing_post_opts_out_twice_harmlessly(doors: Doors, standin: SmsPartnerStandIn) -> None:
    link = doors.link("06 12 34 56 77")
    shown = requests.get(link, timeout=10)
    assert shown.status_code == 200
    assert "06 ** ** ** 77" in shown.text
    assert shown.headers["content-language"] == "fr"
    assert shown.headers["cache-control"] == "no-store"
    assert len(shown.content) < 10_000
    assert doors.queued() == 0
    english = requests.get(link, headers={"Accept-Language": "en-GB,en;q=0.9"}, timeout=10)
    assert 'lang="en"' in english.text
    for _ in range(2):
        done = requests.post(link, timeout=10)
        assert done.status_code == 200
        assert "06 ** ** ** 77" in done.text
    peeked = doors.sqs.receive_message(QueueUrl=doors.queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    bodies = [json.loads(message["Body"]) for message in peeked["Messages"]]
    assert len(bodies) == 2
    assert bodies[0]["eventId"] == bodies[1]["eventId"]
    doors.drain()
    assert "+33612345677" in standin.stop_list()


def test_links_live_their_lifetime_across_rotations(doors: Doors) -> None:
    old_link = doors.link("06 12 34 56 77")
    lifetime = int(doors.resources.parameters["LinkLifetimeDays"])
    long_ago = datetime.now(UTC).date() - timedelta(days=lifetime - 1)
    old_campaign = make_unsubscribe_url(doors.url, "06 12 34 56 78", doors.link_key, issued_on=long_ago)
    secrets: Any = boto3.client("secretsmanager")
    keys = [f"rotated-key-{index}-" + "r" * 34 for index in range(4)]
    for key in keys:  # the rotation procedure of docs/http-doors.md, four times
        secrets.put_secret_value(
            SecretId=doors.resources.secret_arns["LinkSigningKeySecret"],
            SecretString=key,
            VersionStages=["AWSCURRENT", f"links-{key[12]}"],
        )
    doors.api.functions["UnsubscribePageFunction"].new_container()  # past the secret's cache

    assert requests.get(old_link, timeout=10).status_code == 200  # made four keys ago
    assert requests.get(old_campaign, timeout=10).status_code == 200  # and a day before its lifetime ends
    assert requests.post(old_campaign, timeout=10).status_code == 200
    new_link = make_unsubscribe_url(doors.url, "06 12 34 56 77", keys[-1])
    assert new_link != old_link
    assert requests.get(new_link, timeout=10).status_code == 200
    too_old = datetime.now(UTC).date() - timedelta(days=lifetime + 1)
    expired_link = make_unsubscribe_url(doors.url, "06 12 34 56 77", doors.link_key, issued_on=too_old)
    expired = requests.get(expired_link, timeout=10)
    assert expired.status_code == 410
    assert "répondez STOP" in expired.text
    assert requests.get(doors.url + "/u/" + "A" * 36, timeout=10).status_code == 404
    assert doors.queued() == 1  # only the confirmed link within its lifetime


def test_no_token_and_no_full_number_in_any_log_line(
    doors: Doors, json_logs: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    link = doors.link("06 12 34 56 77")
    token = link.rsplit("/", 1)[1]
    requests.get(link, timeout=10)
    requests.post(link, timeout=10)
    requests.get(link[:-1] + ("A" if link[-1] != "A" else "B"), timeout=10)
    doors.webhook(data={"msisdn": "33612345678", "messageId": "m1", "text": "STOP"})
    doors.webhook(data={"msisdn": "33612345678", "messageId": "m2", "text": "Bonjour"})
    doors.webhook(data={"msisdn": "33612345678", "text": "STOP"}, params={"token": "wrong-token-value"})
    doors.drain()
    logs = json_logs.getvalue() + capsys.readouterr().out
    assert "reply handled" in logs
    assert "unsubscribe link" in logs
    for secret in (token, doors.webhook_token, "wrong-token-value", "612345677", "612345678", doors.link_key):
        assert secret not in logs, secret


def test_api_gateway_shapes(doors: Doors) -> None:
    assert requests.get(f"{doors.url}/nowhere", timeout=10).status_code == 404
    assert requests.delete(f"{doors.url}/u/x", timeout=10).status_code == 404
    event_body = base64.b64encode(b"msisdn=33612345678&messageId=x&text=Bonjour").decode()
    function = local_function(doors.resources, "RepliesWebhookFunction", "handlers.replies_webhook")
    event = copy.deepcopy(load_event("http_replies_webhook.json"))
    event["queryStringParameters"]["token"] = doors.webhook_token
    event["body"] = event_body
    assert json.loads(function.invoke(event)["body"]) == {"status": "ignored"}


def test_unreadable_secret_or_queue_is_503_and_nothing_is_lost_silently(doors: Doors) -> None:
    broken = {"WEBHOOK_TOKEN_SECRET_ID": "no-such-secret", "LINK_KEY_SECRET_ID": "no-such-secret"}
    webhook = local_function(doors.resources, "RepliesWebhookFunction", "handlers.replies_webhook", **broken)
    event = load_event("http_replies_webhook.json")
    answer = webhook.invoke(event)
    assert (answer["statusCode"], json.loads(answer["body"])) == (503, {"error": "temporarily unavailable"})
    page = local_function(doors.resources, "UnsubscribePageFunction", "handlers.unsubscribe_page", **broken)
    get = load_event("http_unsubscribe_get.json")
    get["pathParameters"]["token"] = doors.link("06 12 34 56 77").rsplit("/", 1)[1]
    shown = page.invoke(get)
    assert shown["statusCode"] == 503
    assert 'lang="fr"' in shown["body"]
    no_queue = local_function(
        doors.resources,
        "UnsubscribePageFunction",
        "handlers.unsubscribe_page",
        OPT_OUT_QUEUE_URL="http://127.0.0.1:9/123456789012/no-such-queue",
    )
    post = load_event("http_unsubscribe_post.json")
    post["pathParameters"]["token"] = get["pathParameters"]["token"]
    assert no_queue.invoke(post)["statusCode"] == 503
    assert doors.queued() == 0


def test_stop_keywords_parameter_reaches_the_webhook(
    local_aws: Any, template: dict[str, Any], standin: SmsPartnerStandIn
) -> None:
    from devkit.template import create_resources

    resources = create_resources(
        template,
        parameter_overrides={
            "SmsPartnerApiUrl": standin.base_url,
            "StopKeywords": "FIN,ANNULER",
            "EventBusName": "keywords-bus",
        },
        prefix="keywords",
    )
    for doors in start_doors(resources):
        form = {"msisdn": "33612345678", "messageId": "k1"}
        assert doors.webhook(data={**form, "text": "Fin."}).json() == {"status": "opt_out"}
        assert doors.webhook(data={**form, "text": "STOP"}).json() == {"status": "ignored"}
        assert doors.queued() == 1


NO_QUEUE = "http://127.0.0.1:9/123456789012/no-such-queue"


def sample_stop_reply(doors: Doors, **environment: str) -> dict[str, Any]:
    """The sample STOP reply (events/), with the right token, to a webhook with this environment."""
    webhook = local_function(doors.resources, "RepliesWebhookFunction", "handlers.replies_webhook", **environment)
    event = copy.deepcopy(load_event("http_replies_webhook.json"))
    event["queryStringParameters"]["token"] = doors.webhook_token
    answer: dict[str, Any] = webhook.invoke(event)
    return answer


def test_a_stop_the_queue_refuses_is_kept_for_replay_and_replay_opts_out(
    doors: Doors, standin: SmsPartnerStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = sample_stop_reply(doors, OPT_OUT_QUEUE_URL=NO_QUEUE)

    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"status": "publish_failed"})
    assert tally_metrics(capsys.readouterr().out)["ReplyPublishFailed"] == 1
    listed = as_json(stoplist(doors.resources, "--json", "dlq", "list", "--queue", "queue"))
    [group] = listed["groups"]
    assert (group["error_type"], group["count"]) == ("aws_service", 1)
    assert group["reasons"][0].startswith("reply webhook could not send it to OptOutQueue: ")
    replayed = stoplist(doors.resources, "--json", "dlq", "replay")  # the queue is reachable again
    assert len(as_json(replayed)["replayed"]) == 1
    doors.drain()
    assert "+33612345678" in standin.stop_list()  # the sample reply's sender


def test_a_stop_neither_queue_takes_is_503(doors: Doors, capsys: pytest.CaptureFixture[str]) -> None:
    answer = sample_stop_reply(doors, OPT_OUT_QUEUE_URL=NO_QUEUE, DEAD_LETTER_QUEUE_URL=NO_QUEUE + "-either")

    assert (answer["statusCode"], json.loads(answer["body"])) == (503, {"error": "temporarily unavailable"})
    assert tally_metrics(capsys.readouterr().out)["ReplyPublishFailed"] == 1


@pytest.mark.parametrize(("grace_hours", "old_status"), [("72", 200), ("0", 403)])
def test_the_previous_webhook_token_works_for_the_grace_after_a_rotation(
    doors: Doors, grace_hours: str, old_status: int
) -> None:
    webhook = local_function(
        doors.resources, "RepliesWebhookFunction", "handlers.replies_webhook", WEBHOOK_TOKEN_GRACE_HOURS=grace_hours
    )
    event = copy.deepcopy(load_event("http_replies_webhook.json"))

    def status(token: str) -> int:
        event["queryStringParameters"]["token"] = token
        return int(webhook.invoke(event)["statusCode"])

    assert status(doors.webhook_token) == 200
    new_token = "rotated-webhook-token-" + "w" * 26
    secrets: Any = boto3.client("secretsmanager")
    secrets.put_secret_value(SecretId=doors.resources.secret_arns["WebhookTokenSecret"], SecretString=new_token)
    webhook.new_container()  # past the secret's cache (SecretMaxAgeSeconds)

    assert status(new_token) == 200
    assert status(doors.webhook_token) == old_status
    assert status("never-a-token") == 403
