"""`bash scripts/run-local.sh --serve` and `stoplist --local`: the local stack stays up, the command finds it.

Runs both as an operator would, as processes: the serving devkit and the installed `stoplist` console script.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devkit.template import load_template

pytestmark = pytest.mark.integration
STOPLIST = Path(sys.executable).parent / "stoplist"


BANNER: list[str] = []  # what the serving devkit printed for a person, once it was up


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    stack_file = tmp_path_factory.mktemp("serve") / "stack.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "devkit.serve", "--stack-file", str(stack_file), "--snapshot-every", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not stack_file.exists():
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, "the local stack did not come up"
        time.sleep(0.2)
    assert process.stderr is not None
    for line in process.stderr:  # the banner follows the stack file: a link to open and a curl line
        BANNER.append(line.decode())
        if "reply webhook:" in BANNER[-1]:
            break
    yield stack_file
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert process.returncode == 0
    assert not stack_file.exists()  # removed on the way out: a stale file would point at dead ports


def stoplist(stack_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # everything from the stack file
    return subprocess.run(  # noqa: S603 - fixed arguments
        [str(STOPLIST), "--local", "--local-file", str(stack_file), "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_local_stack_runs_the_pipeline_for_the_command(served: Path, tmp_path: Path) -> None:
    description = json.loads(served.read_text())
    assert set(description["endpoints"]) == {"default", "dynamodb"}
    assert all(url.startswith("http://127.0.0.1:") for url in description["endpoints"].values())

    numbers = tmp_path / "numbers.txt"
    numbers.write_text("06 44 33 22 11\n+33 6 44 33 22 12\n")
    imported = stoplist(served, "import", "--state-dir", str(tmp_path), str(numbers))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["sent"] == 2

    deadline = time.monotonic() + 30
    while True:  # the served event source picks the messages up
        checked = json.loads(stoplist(served, "check", "0644332211", "0644332212").stdout)
        if all(verdict["opted_out"] for verdict in checked) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [verdict["source"] for verdict in checked] == ["import", "import"]

    status = stoplist(served, "status")
    report = json.loads(status.stdout)
    assert report["stack"] == "the local run"
    assert report["snapshot"] is not None
    template_alarms = [
        spec for spec in load_template()["Resources"].values() if spec["Type"] == "AWS::CloudWatch::Alarm"
    ]
    assert report["alarms_checked"] == len(template_alarms)  # every alarm of the template, created locally
    # The sample events include one invalid number: it waits in the dead-letter queue, so status says so.
    assert status.returncode == 1
    assert report["queues"][1]["visible"] == 1


def test_local_stack_serves_the_http_doors_for_a_browser(served: Path) -> None:
    [link] = [line.split("open in a browser:")[1].strip() for line in BANNER if "open in a browser:" in line]
    page = requests.get(link, timeout=30)
    assert page.status_code == 200
    assert "06 ** ** ** 22" in page.text  # the sample link's number, masked
    assert requests.post(link, timeout=30).status_code == 200

    deadline = time.monotonic() + 30
    while True:  # the confirmed link's opt-out goes through the queue, as in AWS
        [verdict] = json.loads(stoplist(served, "check", "06 55 44 33 22").stdout)
        if verdict["opted_out"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert verdict["source"] == "unsubscribe-link"
