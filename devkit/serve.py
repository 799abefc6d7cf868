"""A local stack that stays up, for the ``stoplist`` command: ``bash scripts/run-local.sh --serve``.

Starts the same services as the local run (moto server, DynamoDB Local, the SMS Partner stand-in), creates
the resources from template.yaml (alarms included, on moto's CloudWatch), publishes the sample events, then
keeps running what AWS would run: the queue's event source, the bus's deliveries (with the OnFailure
destination), the table's stream into the change publisher, the HTTP API (a sample unsubscribe link to open
in a browser and a ``curl`` line for the replies webhook are printed), and the snapshot every
``--snapshot-every`` seconds. It writes ``.local/stack.json`` (the
template's outputs, resolved, plus the loopback endpoints), which ``stoplist --local`` reads, and removes it
on Ctrl-C. Handler logs and metrics go to ``.local/serve.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from devkit.bus import put_events
from devkit.functions import LocalFunctions
from devkit.http_samples import HttpDoors
from devkit.lambda_runtime import environment
from devkit.pipeline import LOCAL_API_KEY, PRESEEDED, handler_output, sample_events
from devkit.services import REGION, REPO_ROOT, LocalAws, start_local_aws
from devkit.standin import SmsPartnerStandIn
from devkit.template import LocalResources, create_resources, load_template

STACK_FILE = REPO_ROOT / ".local" / "stack.json"
LOG_PATH = REPO_ROOT / ".local" / "serve.log"


def stack_description(aws: LocalAws, resources: LocalResources, standin_url: str, http_url: str) -> dict[str, Any]:
    """What ``stoplist --local`` needs: the outputs a deployed stack would give, and how to reach them (the
    HTTP API's outputs name the served loopback API, not an execute-api host)."""
    environment_ = aws.environment()
    return {
        "outputs": {**resources.outputs, "HttpApiUrl": http_url, "UnsubscribeLinkBaseUrl": http_url},
        "region": REGION,
        "endpoints": {"default": aws.moto_endpoint, "dynamodb": aws.dynamodb.endpoint},
        "credentials": {
            "aws_access_key_id": environment_["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": environment_["AWS_SECRET_ACCESS_KEY"],
        },
        "standin": standin_url,
        "pid": os.getpid(),
    }


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2), encoding="utf-8")
    os.replace(temporary, path)


def publish_samples(resources: LocalResources) -> None:
    """The sample events of events/, as the local run publishes them."""
    import boto3

    bodies, bus_events = sample_events()
    sqs: Any = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=resources.queue_urls["OptOutQueue"], MessageBody=body)
    put_events(boto3.client("events"), resources.event_bus, bus_events)


def snapshot(functions: LocalFunctions) -> None:
    try:
        functions.snapshot()
    except Exception as exc:  # noqa: BLE001 - the schedule fires again at the next interval, as in AWS
        sys.stderr.write(f"snapshot failed ({type(exc).__name__}), retried at the next interval\n")


def serve(stack_file: Path, snapshot_every: float, stop: threading.Event, samples: bool = True) -> None:
    standin = SmsPartnerStandIn(api_keys=(LOCAL_API_KEY,)).start()
    standin.seed_stop_list(PRESEEDED)
    aws = start_local_aws()
    try:
        with environment(aws.environment()), handler_output(LOG_PATH):
            template = load_template()
            resources = create_resources(
                template, {"SmsPartnerApiUrl": standin.base_url}, api_key=LOCAL_API_KEY, prefix="serve"
            )
            functions = LocalFunctions(resources)
            if samples:
                publish_samples(resources)
            snapshot(functions)
            with functions.http_api as api:
                write_atomically(stack_file, stack_description(aws, resources, standin.base_url, api.base_url))
                doors = HttpDoors(
                    api.base_url,
                    resources.secret_values["WebhookTokenSecret"],
                    resources.secret_values["LinkSigningKeySecret"],
                )
                sys.stderr.write(
                    f"local stack up: {stack_file} (stoplist --local status); handler logs in {LOG_PATH}; "
                    "Ctrl-C stops\n"
                    f"  HTTP API:          {api.base_url}\n"
                    f"  open in a browser: {doors.sample_link()}\n"
                    f"  reply webhook:     {doors.webhook_curl()}\n"
                )
                next_snapshot = time.monotonic() + snapshot_every
                while not stop.is_set():
                    handled = functions.poller.poll_once() + functions.delivery.deliver_once()
                    functions.stream.poll_once()
                    if handled == 0:
                        stop.wait(0.3)
                    if time.monotonic() >= next_snapshot:
                        snapshot(functions)
                        next_snapshot = time.monotonic() + snapshot_every
    finally:
        stack_file.unlink(missing_ok=True)
        aws.stop()
        standin.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bash scripts/run-local.sh --serve", description=__doc__.splitlines()[0])
    parser.add_argument("--stack-file", type=Path, default=STACK_FILE, help="where to describe the local stack")
    parser.add_argument("--snapshot-every", type=float, default=60.0, help="seconds between snapshots")
    parser.add_argument("--no-samples", action="store_true", help="do not publish the sample events at start")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    serve(args.stack_file, args.snapshot_every, stop, samples=not args.no_samples)
    sys.stderr.write("local stack stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
