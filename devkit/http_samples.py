"""What the local run sends through the HTTP doors, and what it prints for a person to try them.

Through the local HTTP API, as SMS Partner and a phone would: the sample webhook event's STOP reply (a
base64 form, as API Gateway delivers it), a short-number reply "ARRÊT" as JSON, a reply that is not an
opt-out, a call with a wrong token; a link opened by a preview (GET) and then confirmed (POST).
"""

from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass

import requests
from stoplist.domain.links import make_unsubscribe_url

from devkit.services import REPO_ROOT

WEBHOOK_PATH = "/webhooks/smspartner/replies"
SAMPLE_LINK_NUMBER = "06 55 44 33 22"
SAMPLE_EVENT = REPO_ROOT / "events" / "http_replies_webhook.json"


@dataclass(frozen=True)
class HttpDoors:
    base_url: str
    webhook_token: str
    link_key: str

    def sample_link(self, number: str = SAMPLE_LINK_NUMBER) -> str:
        return make_unsubscribe_url(self.base_url, number, self.link_key)

    def webhook_curl(self) -> str:
        url = f"{self.base_url}{WEBHOOK_PATH}?token={self.webhook_token}"
        return f"curl -i {shlex.quote(url)} --data-urlencode msisdn=33612345670 --data-urlencode text=STOP"


def exercise(doors: HttpDoors) -> None:
    """The sample HTTP requests; each answer is checked, so a broken door fails the run loudly."""
    url = f"{doors.base_url}{WEBHOOK_PATH}"
    token = {"token": doors.webhook_token}
    event = json.loads(SAMPLE_EVENT.read_text())
    form = base64.b64decode(event["body"])
    form_type = {"content-type": event["headers"]["content-type"]}
    short = {"type": "response", "phone_number": "+33644556677", "text": "ARRÊT", "message_id": "local-2"}
    calls = [
        (requests.post(url, params=token, data=form, headers=form_type, timeout=10), 200),
        (requests.post(url, params=token, json=short, timeout=10), 200),
        (requests.post(url, params=token, data={"msisdn": "33612345670", "text": "Merci !"}, timeout=10), 200),
        (requests.post(url, params={"token": "wrong"}, data=form, headers=form_type, timeout=10), 403),
        (requests.get(doors.sample_link(), headers={"user-agent": "WhatsApp/2.24"}, timeout=10), 200),
        (requests.post(doors.sample_link(), timeout=10), 200),
    ]
    for answer, status in calls:
        if answer.status_code != status:
            raise RuntimeError(f"local HTTP API answered {answer.status_code}, expected {status}")
