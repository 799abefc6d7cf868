"""Cold start: each function's package size and import time from the `sam build` output, the import as a ratio
to `import boto3` alone.

Each sample is a fresh interpreter that imports one handler with the function's CodeUri and its layers'
python/ directories on its path (the template's Globals layers, then the function's own, as the template
attaches them for the given parameters), then starts tracing as the first invocation does
(``stoplist.observability.start_tracing``: nothing when Tracing is PassThrough). Baseline and handlers are
sampled in turn, so both see the same machine load; the ratio of medians is what to compare (target: at most
1.3, and 1.2 for the HTTP functions, which a person or a webhook sender waits on). A function's size is its
code and its layers as built (unzipped, the figure Lambda's 250 MB limit applies to) and zipped.

    python -m bench.cold_start [--runs 21] [--tracing Active] [--build-dir DIR]   (runs `sam build` first)
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from devkit.template import load_template, render

REPO = Path(__file__).resolve().parent.parent
HANDLERS = {
    "OptOutSqsFunction": "optout_sqs",
    "OptOutEventBridgeFunction": "optout_eventbridge",
    "SnapshotFunction": "snapshot_scheduled",
    "ChangePublisherFunction": "change_publisher",
    "RepliesWebhookFunction": "replies_webhook",
    "UnsubscribePageFunction": "unsubscribe_page",
}
# The HTTP doors answer a person or a webhook sender while they wait: a tighter target than the queue's.
TARGETS = {"RepliesWebhookFunction": 1.2, "UnsubscribePageFunction": 1.2}
DEFAULT_TARGET = 1.3
PROBE = (
    "import time; t = time.perf_counter(); import {module}; import stoplist.observability as o; o.start_tracing(); "
    "print(time.perf_counter() - t)"
)
BASELINE = "import time; t = time.perf_counter(); import boto3; print(time.perf_counter() - t)"
MB = 1024 * 1024


def build() -> None:
    """Always rebuild: the figures must be those of the code as it is now."""
    subprocess.run(["/bin/bash", str(REPO / "scripts" / "sam.sh"), "build"], check=True, capture_output=True)


def layers(tracing: str) -> dict[str, list[str]]:
    """Each function's layers (logical ids) as the template attaches them with this Tracing parameter."""
    template = load_template()
    overrides = {"Tracing": tracing} if "Tracing" in template.get("Parameters", {}) else {}
    rendered = render(template, overrides)
    common: list[dict[str, Any]] = rendered["Globals"]["Function"].get("Layers", [])
    return {
        function: [layer["Ref"] for layer in common + rendered["Resources"][function]["Properties"].get("Layers", [])]
        for function in HANDLERS
    }


def python_path(build_dir: Path, function: str, function_layers: list[str]) -> str:
    return os.pathsep.join(
        [str(build_dir / function), *(str(build_dir / layer / "python") for layer in function_layers)]
    )


def sample(probe: str, path: str | None, tracing: bool) -> float:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update({"AWS_DEFAULT_REGION": "eu-west-3", "POWERTOOLS_SERVICE_NAME": "bench"})
    env["POWERTOOLS_TRACE_DISABLED"] = "false" if tracing else "true"
    if path is not None:
        env["PYTHONPATH"] = path
        env["LAMBDA_TASK_ROOT"] = path.split(os.pathsep)[0]  # Powertools' Tracer stays off outside Lambda
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def sizes(folders: list[Path]) -> tuple[float, float]:
    """Unzipped and zipped MB of these folders, each zipped on its own (deflate) as `sam deploy` uploads the
    function's code and each layer."""
    unzipped, zipped = 0, 0
    for folder in folders:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    unzipped += file.stat().st_size
                    archive.write(file, file.relative_to(folder))
        zipped += buffer.tell()
    return unzipped / MB, zipped / MB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--no-build", action="store_true", help="measure the build folder as it is")
    parser.add_argument("--tracing", choices=["Active", "PassThrough"], default="PassThrough")
    parser.add_argument(
        "--build-dir", type=Path, default=REPO / ".aws-sam" / "build", help="a build of this template.yaml"
    )
    args = parser.parse_args()
    if not args.no_build:
        build()
    tracing = args.tracing == "Active"
    attached = layers(args.tracing)
    paths = {function: python_path(args.build_dir, function, attached[function]) for function in HANDLERS}
    samples: dict[str, list[float]] = {"boto3": [], **{name: [] for name in HANDLERS}}
    for _ in range(args.runs):
        samples["boto3"].append(sample(BASELINE, None, tracing=False))
        for function, module in HANDLERS.items():
            samples[function].append(sample(PROBE.format(module=module), paths[function], tracing))
    baseline = statistics.median(samples["boto3"])
    print(f"Tracing {args.tracing}; {args.build_dir}")
    print("package: the function's code and layers as built, unzipped / zipped")
    for function in HANDLERS:
        unzipped, zipped = sizes([args.build_dir / function] + [args.build_dir / layer for layer in attached[function]])
        print(f"  {function:<34}{unzipped:7.1f} MB / {zipped:5.1f} MB   ({', '.join(attached[function])})")
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
