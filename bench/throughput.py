"""Opt-out throughput: events through the SQS handler vs. the provider's sample code, in the same run.

Both call the SMS Partner stand-in, which answers each call after --latency seconds (default 0.1).
- baseline: what the provider's Python sample does: for each event a new connection (`requests.post`
  without a session), one call after another;
- ours: as many worker processes as the template's MaximumConcurrency, each one Lambda instance fed SQS
  events of BatchSize records, as the event source mapping hands them over, invoking the real SQS handler
  (RecordConcurrency records in flight, write-through to DynamoDB Local, DLQ on moto server). Timing starts
  at the first provider call, after the instances' imports. The stand-in records the most calls it had in
  flight at once;
- one instance alone, the same way: what one wave per batch gives.

Before any timing, --warmup-events go through one instance, untimed: DynamoDB Local runs on a JVM whose
just-in-time compiler needs thousands of writes before it answers at its speed (measured on the table's
write-through, cold then after 600 calls: an UpdateItem 4.3 ms then 1.9 ms, a transaction of nine items
12.2 ms then 7.7 ms; one instance's batch took 131 ms after 600 warm-up events, 127 ms after 2,500), and
the real DynamoDB has no such first minutes.

The provider's rate limit is out of the way here (ProviderRequestsPerMinute far above it): this measures the
handler, bench/backlog.py measures the pacing.

    python -m bench.throughput [--events 2000] [--single-events 500] [--baseline-events 300]
                               [--warmup-events 2500] [--latency 0.1]

Targets: at least 8 times the baseline's events per second, for all instances and for one instance alone;
zero events lost, and never more calls in flight than MaximumConcurrency x RecordConcurrency.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from typing import Any

import boto3
import requests

from devkit.lambda_runtime import LocalFunction
from devkit.poller import sqs_event
from devkit.services import start_local_aws
from devkit.standin import SmsPartnerStandIn
from devkit.template import create_resources, load_template

API_KEY = "bench-key"


def numbers(count: int, start: int) -> list[str]:
    return [f"+3361{index:07d}" for index in range(start, start + count)]


def baseline(base_url: str, events: list[str]) -> float:
    """The provider's sample: a fresh `requests.post` (new TCP connection) per event, sequentially."""
    started = time.perf_counter()
    for body in events:
        payload = json.loads(body)
        data = {"apiKey": API_KEY, "phoneNumber": payload["phoneNumber"]}
        answer = requests.post(base_url + "/stop-sms/add", data=json.dumps(data), timeout=10)
        if answer.json().get("success") is not True:
            raise RuntimeError(f"baseline call failed: {answer.text[:200]}")
    return time.perf_counter() - started


def worker(
    aws_env: dict[str, str],
    function_env: dict[str, str],
    queue_arn: str,
    bodies: list[str],
    batch: int,
    results: Any,
) -> None:
    """One Lambda instance (its own process) fed batches as the event source mapping would hand them over.

    moto's ReceiveMessage slows down with the queue's depth (about 1 s a call with 1,000 messages and five
    consumers), which would measure moto rather than the handler; so the batches are built here, with the
    SQS event shape, and records reported in batchItemFailures are handed over again, as SQS would.
    """
    import os

    os.environ.update(aws_env)
    # The handler still formats and writes every log line and EMF document; they just go nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    function = LocalFunction("OptOutSqsFunction", "handlers.optout_sqs", function_env)
    pending: list[dict[str, Any]] = [
        {"MessageId": f"{os.getpid()}-{index}", "ReceiptHandle": f"rh-{index}", "Body": body, "receives": 0}
        for index, body in enumerate(bodies)
    ]
    invocations = failures = 0
    while pending:
        chunk, pending = pending[:batch], pending[batch:]
        for message in chunk:
            message["receives"] += 1
            message["Attributes"] = {"ApproximateReceiveCount": str(message["receives"])}
        invocations += 1
        try:
            failed = {
                item["itemIdentifier"] for item in function.invoke(sqs_event(chunk, queue_arn))["batchItemFailures"]
            }
        except Exception:  # noqa: BLE001 - the whole batch comes back, as with Lambda
            failed = {message["MessageId"] for message in chunk}
        failures += len(failed)
        pending += [message for message in chunk if message["MessageId"] in failed]
    # The end of the last invocation, on the clock all processes share; not the process's exit, which also
    # tears down the interpreter (thread pools, clients, logging).
    results.put((invocations, failures, time.monotonic()))


def run_instances(
    aws_env: dict[str, str],
    function_env: dict[str, str],
    queue_arn: str,
    events: list[str],
    instances: int,
    batch: int,
    standin: SmsPartnerStandIn,
) -> tuple[float, int, int, float]:
    """``instances`` worker processes share the events: seconds from the first provider call to the end of the
    last invocation, invocations, retries, and the seconds the processes then took to exit (not counted)."""
    bodies = [json.dumps({"phoneNumber": n, "source": "bench"}) for n in events]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(
            target=worker, args=(aws_env, function_env, queue_arn, bodies[index::instances], batch, results)
        )
        for index in range(instances)
    ]
    calls_before = standin.counters["calls_add"]
    for process in processes:
        process.start()
    # Spawned processes import the handler before their first batch; time from the first call on.
    while standin.counters["calls_add"] == calls_before and any(process.is_alive() for process in processes):
        time.sleep(0.005)
    started = time.monotonic()
    for process in processes:
        process.join()
    joined = time.monotonic()
    invocations = retried = 0
    finished = started
    for _ in processes:
        done, failed, finished_at = results.get(timeout=10)
        invocations += done
        retried += failed
        finished = max(finished, finished_at)
    return finished - started, invocations, retried, joined - finished


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--single-events", type=int, default=500)
    parser.add_argument("--baseline-events", type=int, default=300)
    parser.add_argument("--warmup-events", type=int, default=2500)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()

    aws = start_local_aws()
    aws.apply_environment()
    standin = SmsPartnerStandIn(api_keys=(API_KEY,)).start()
    standin.faults.latency_seconds = args.latency
    try:
        template = load_template()
        overrides = {"SmsPartnerApiUrl": standin.base_url, "ProviderRequestsPerMinute": "6000000"}
        resources = create_resources(template, overrides, api_key=API_KEY, prefix="bench")
        parameters = resources.parameters
        instances = int(parameters["MaximumConcurrency"])
        per_instance = int(parameters["RecordConcurrency"])
        batch = int(parameters["BatchSize"])
        limit = instances * per_instance

        base_events = [json.dumps({"phoneNumber": n}) for n in numbers(args.baseline_events, 5_000_000)]
        base_seconds = baseline(standin.base_url, base_events)
        base_rate = len(base_events) / base_seconds
        base_connections = standin.counters["connections"]
        standin.reset()
        standin.faults.latency_seconds = args.latency

        sqs: Any = boto3.client("sqs")
        env = resources.function_env["OptOutSqsFunction"]
        queue_arn = resources.queue_arns["OptOutQueue"]
        warmup = numbers(args.warmup_events, 9_000_000)
        warmup_seconds, _, _, _ = run_instances(aws.environment(), env, queue_arn, warmup, 1, batch, standin)
        standin.reset()
        standin.faults.latency_seconds = args.latency

        single = numbers(args.single_events, 8_000_000)
        single_seconds, _, _, single_exit = run_instances(aws.environment(), env, queue_arn, single, 1, batch, standin)
        single_rate = len(single) / single_seconds
        single_in_flight = standin.max_in_flight
        single_lost = len(set(single) - set(standin.stop_list()))
        standin.reset()
        standin.faults.latency_seconds = args.latency

        ours = numbers(args.events, 0)
        our_seconds, invocations, retried, our_exit = run_instances(
            aws.environment(), env, queue_arn, ours, instances, batch, standin
        )
        our_rate = len(ours) / our_seconds

        in_stop_list = set(standin.stop_list())
        lost = len(set(ours) - in_stop_list)
        dead = int(
            sqs.get_queue_attributes(
                QueueUrl=resources.queue_urls["OptOutDeadLetterQueue"], AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        print(f"opt-out throughput, stand-in answering after {args.latency * 1000:.0f} ms per call")
        print(
            f"  baseline (provider sample: new connection per call, sequential): {len(base_events)} events "
            f"in {base_seconds:.1f} s = {base_rate:.1f} events/s, {base_connections} TCP connections"
        )
        print(f"  warm-up (untimed in the ratios): {len(warmup)} events through one instance in {warmup_seconds:.1f} s")
        print(
            f"  SQS handler ({instances} instances x {per_instance} records in flight, batches of {batch}): "
            f"{len(ours)} events in {our_seconds:.1f} s = {our_rate:.1f} events/s, "
            f"{standin.counters['connections']} TCP connections"
        )
        print(f"  ratio {our_rate / base_rate:.1f}x (target >= 8)")
        print(
            f"  one instance alone ({per_instance} records in flight, batches of {batch}): {len(single)} events in "
            f"{single_seconds:.1f} s = {single_rate:.1f} events/s, most calls in flight {single_in_flight}, "
            f"ratio {single_rate / base_rate:.1f}x (target >= 8), events lost {single_lost}"
        )
        print(f"  invocations {invocations}, records handed over again after a failure {retried}")
        print(f"  processes exited at most {max(single_exit, our_exit):.2f} s after their last invocation (uncounted)")
        print(
            f"  max calls in flight {standin.max_in_flight} (limit {limit}), provider calls "
            f"{standin.counters['calls_add']}, events lost {lost}, dead-lettered {dead}"
        )
        ok = (
            our_rate / base_rate >= 8
            and single_rate / base_rate >= 8
            and lost == 0
            and single_lost == 0
            and dead == 0
            and standin.max_in_flight <= limit
        )
        print("OK" if ok else "TARGET MISSED")
    finally:
        standin.stop()
        aws.stop()


if __name__ == "__main__":
    main()
