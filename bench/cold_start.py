"""Cold start: import time of each handler from the `sam build` output, as a ratio to `import boto3` alone.

Each sample is a fresh interpreter that imports one module with the function's CodeUri and the layer's
python/ directory on its path, as Lambda does. Baseline and handlers are sampled in turn, so both see the
same machine load; the ratio of medians is what to compare (target: at most 1.3, and 1.2 for the HTTP
functions, which a person or a webhook sender waits on).

    python -m bench.cold_start [--runs 21]     (runs `sam build` first)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / ".aws-sam" / "build"
HANDLERS = {
    "OptOutSqsFunction": "optout_sqs",
    "OptOutEventBridgeFunction": "optout_eventbridge",
    "SnapshotFunction": "snapshot_scheduled",
    "RepliesWebhookFunction": "replies_webhook",
    "UnsubscribePageFunction": "unsubscribe_page",
}
# The HTTP doors answer a person or a webhook sender while they wait: a tighter target than the queue's.
TARGETS = {"RepliesWebhookFunction": 1.2, "UnsubscribePageFunction": 1.2}
DEFAULT_TARGET = 1.3
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def build() -> None:
    """Always rebuild: the figures must be those of the code as it is now."""
    subprocess.run(["/bin/bash", str(REPO / "scripts" / "sam.sh"), "build"], check=True, capture_output=True)


def sample(module: str, function_dir: Path | None) -> float:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    if function_dir is not None:
        env["PYTHONPATH"] = f"{function_dir}{os.pathsep}{BUILD / 'SharedLayer' / 'python'}"
    env.update({"AWS_DEFAULT_REGION": "eu-west-3", "POWERTOOLS_SERVICE_NAME": "bench"})
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--no-build", action="store_true", help="measure .aws-sam/build as it is")
    args = parser.parse_args()
    if not args.no_build:
        build()
    samples: dict[str, list[float]] = {"boto3": [], **{name: [] for name in HANDLERS}}
    for _ in range(args.runs):
        samples["boto3"].append(sample("boto3", None))
        for function, module in HANDLERS.items():
            samples[function].append(sample(module, BUILD / function))
    baseline = statistics.median(samples["boto3"])
    print(f"cold import, median of {args.runs} fresh processes each (Python {sys.version.split()[0]})")
    print(f"  {'import boto3 (baseline)':<34}{baseline * 1000:8.1f} ms   ratio 1.00")
    over = []
    for function in HANDLERS:
        median = statistics.median(samples[function])
        target = TARGETS.get(function, DEFAULT_TARGET)
        if median / baseline > target:
            over.append(function)
        print(f"  {function:<34}{median * 1000:8.1f} ms   ratio {median / baseline:.2f} (target <= {target:.2f})")
    print("all within target" if not over else f"OVER TARGET: {', '.join(over)}")


if __name__ == "__main__":
    main()
