"""Backlog drain: N opt-outs through MaximumConcurrency instances against a rate-limited provider.

The stand-in allows ``--provider-limit`` calls in any 60 s and ``--burst-limit`` calls in any 5 s (two
sliding windows; 429 beyond either, with a JSON error and no Retry-After: SMS Partner documents a per-minute
limit without saying how it counts it; ``--burst-limit 0``, the default, counts per minute only).
``ProviderRequestsPerMinute`` is set to the tighter of the two (per minute) times the template's default over SMS
Partner's 2,000 (1,950 / 2,000). Each instance is its own process, the
event source poller on the real (moto) queue and the real SQS handler (pacing, circuit, backoff, requeue of
throttled records), with write-through to DynamoDB Local. The limits are scaled down from 2,000 a minute so
that a run takes under a minute on these 2-core machines.

    python -m bench.backlog [--events 500] [--provider-limit 1200] [--burst-limit 0] [--latency 0.05]
                            [--unpaced]

Reports the drain time against N / ProviderRequestsPerMinute, and for each window its limit, the busiest such
window the stand-in served and the share of calls it answered 429;
provider calls per opt-out, and how many were dead-lettered or lost.
Targets: under 2 % answered 429, at most 1.05 calls per opt-out, none dead-lettered, none lost.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from typing import Any

import boto3

from devkit.lambda_runtime import LocalFunction
from devkit.poller import SqsEventSourcePoller, queue_depth
from devkit.services import start_local_aws
from devkit.standin import SmsPartnerStandIn
from devkit.template import create_resources, load_template, scaled_provider_budget

API_KEY = "bench-key"
BURST_WINDOW = 5.0


def instance(
    aws_env: dict[str, str], function_env: dict[str, str], queue_url: str, queue_arn: str, batch: int, results: Any
) -> None:
    """One Lambda instance (its own process): the event source's poller and the handler, until the queue is empty."""
    import os

    os.environ.update(aws_env)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the handler's JSON logs and EMF documents still get written, to nowhere
    function = LocalFunction("OptOutSqsFunction", "handlers.optout_sqs", function_env)
    # The queue's own visibility must outlast an invocation (a paced batch takes seconds), or another
    # instance receives the same messages: 40 s, above the function's 30 s timeout, as 180 s is in AWS.
    poller = SqsEventSourcePoller(queue_url, queue_arn, function.invoke, batch_size=batch, retry_delay_seconds=40)
    stats = poller.drain()
    results.put((stats.batches, stats.failed, stats.invocation_errors))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--provider-limit", type=int, default=1200, help="calls the stand-in allows in any 60 s")
    parser.add_argument("--burst-limit", type=int, default=0, help="calls it allows in any 5 s (0: no such limit)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the stand-in takes per answer")
    parser.add_argument("--unpaced", action="store_true", help="for comparison: a budget far above the limit")
    args = parser.parse_args()

    aws = start_local_aws()
    aws.apply_environment()
    standin = SmsPartnerStandIn(api_keys=(API_KEY,)).start()
    standin.faults.latency_seconds = args.latency
    windows = {60.0: args.provider_limit}
    if args.burst_limit:
        windows[BURST_WINDOW] = args.burst_limit
    standin.rate_limit = (args.provider_limit, 60.0)
    standin.burst_limit = (args.burst_limit, BURST_WINDOW) if args.burst_limit else None
    per_minute = min(limit * 60 / window for window, limit in windows.items())
    template = load_template()
    budget = 6_000_000 if args.unpaced else scaled_provider_budget(per_minute, template)
    try:
        resources = create_resources(
            template,
            {"SmsPartnerApiUrl": standin.base_url, "ProviderRequestsPerMinute": str(budget)},
            api_key=API_KEY,
            prefix="backlog",
        )
        parameters = resources.parameters
        instances = int(parameters["MaximumConcurrency"])
        batch = int(parameters["BatchSize"])
        env = dict(resources.function_env["OptOutSqsFunction"])
        env["RETRY_BACKOFF_BASE_SECONDS"] = "5"  # a real failure would come back in seconds, not minutes
        sqs: Any = boto3.client("sqs")
        queue_url = resources.queue_urls["OptOutQueue"]
        wanted = [f"+3362{index:07d}" for index in range(args.events)]
        for start in range(0, len(wanted), 10):
            entries = [
                {"Id": str(i), "MessageBody": json.dumps({"phoneNumber": number, "source": "backlog"})}
                for i, number in enumerate(wanted[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)

        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        processes = [
            context.Process(
                target=instance,
                args=(aws.environment(), env, queue_url, resources.queue_arns["OptOutQueue"], batch, results),
            )
            for _ in range(instances)
        ]
        for process in processes:
            process.start()
        while standin.counters["calls_add"] == 0 and any(process.is_alive() for process in processes):
            time.sleep(0.005)
        started = time.perf_counter()
        for process in processes:
            process.join()
        seconds = time.perf_counter() - started
        batches = failed = errors = 0
        for _ in processes:
            done, fails, invocation_errors = results.get(timeout=10)
            batches, failed, errors = batches + done, failed + fails, errors + invocation_errors

        stop_list = set(standin.stop_list())
        lost = len(set(wanted) - stop_list)
        dead = queue_depth(sqs, resources.queue_urls["OptOutDeadLetterQueue"])
        calls = standin.counters["calls_add"]
        throttled = standin.counters["rate_limited"]
        ideal = args.events / budget * 60
        limits = " and ".join(f"{limit} calls in any {window:g} s" for window, limit in sorted(windows.items()))
        print(
            f"backlog drain: {args.events} opt-outs, {instances} instances x batches of {batch}; stand-in allows "
            f"{limits}; ProviderRequestsPerMinute {budget}, one budget counted per second for every instance"
        )
        print(f"  drained in {seconds:.1f} s: {seconds / ideal:.2f} x N/ProviderRequestsPerMinute ({ideal:.1f} s)")
        print(
            f"  provider calls {calls} = {calls / args.events:.3f} per opt-out; answered 429: {throttled} "
            f"({throttled / max(calls, 1):.2%})"
        )
        for window, limit in sorted(windows.items()):
            refused = standin.counters[f"rate_limited_{window:g}s"]
            print(
                f"  {window:g} s window: busiest {standin.busiest(window)} calls served (limit {limit}), "
                f"answered 429 by it: {refused} ({refused / max(calls, 1):.2%})"
            )
        print(
            f"  invocations {batches}, records failed back to the queue {failed}, invocation errors {errors}; "
            f"dead-lettered {dead}, lost {lost}"
        )
        ok = throttled <= 0.02 * calls and calls <= 1.05 * args.events and dead == 0 and lost == 0
        print("OK" if ok else "TARGET MISSED")
    finally:
        standin.stop()
        aws.stop()


if __name__ == "__main__":
    main()
