"""Checks that each layer `sam build` made is exactly its hashed lock, file by file.

SAM installs `shared/requirements.txt` in pip's hash-checking mode, but only for its first download, made for
the build machine (x86_64); a package whose wheel there is not arm64-compatible (charset-normalizer) is fetched
again for arm64 by name and version, without hashes (aws-lambda-builders' `download_manylinux_wheels`). So this
downloads the arm64 python3.13 wheels of the lock itself with `--require-hashes`, and compares every file each
wheel's RECORD lists with the file in the built layer, and the layer's distributions with the lock's pins.

    .venv/bin/python scripts/verify_layer.py [LOCK LAYER_DIR]     (without arguments: every layer of LAYERS)
"""

import base64
import csv
import hashlib
import io
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# Each layer of template.yaml and the lock SAM builds it from.
LAYERS = {
    Path("shared/requirements.txt"): Path(".aws-sam/build/SharedLayer/python"),
    Path("layers/links/requirements.txt"): Path(".aws-sam/build/LinksLayer/python"),
    Path("layers/tracing/requirements.txt"): Path(".aws-sam/build/TracingLayer/python"),
}
# The wheels SAM accepts for python3.13 on arm64 (aws-lambda-builders' compatible_platforms).
PLATFORMS = ["manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(lock: Path) -> set[tuple[str, str]]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", lock.read_text(), flags=re.MULTILINE)
    return {(normalise(name), version) for name, version in pins}


def layer_dists(layer: Path) -> set[tuple[str, str]]:
    dists = set()
    for dist_info in layer.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        dists.add((normalise(name), version))
    return dists


def download_locked_wheels(lock: Path, dest: Path) -> list[Path]:
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    subprocess.run(  # noqa: S603 (fixed arguments and the repository's own lock)
        [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--require-hashes",
         "--no-deps", "--only-binary=:all:", *platforms, "--implementation", "cp", "--abi", "cp313",
         "--python-version", "3.13", "--dest", str(dest), "-r", str(lock)],
        check=True,
    )  # fmt: skip
    return sorted(dest.glob("*.whl"))


def compare(wheel: Path, layer: Path) -> tuple[int, list[str]]:
    """How many files of the wheel's RECORD were compared, and those missing from the layer or different."""
    with zipfile.ZipFile(wheel) as archive:
        record = next(name for name in archive.namelist() if name.endswith(".dist-info/RECORD"))
        rows = list(csv.reader(io.TextIOWrapper(archive.open(record), encoding="utf-8")))
    compared, differing = 0, []
    for path, digest, _size in rows:
        if not digest:  # RECORD lists itself without a hash
            continue
        algorithm, expected = digest.split("=", 1)
        installed = layer / path
        actual = (
            base64.urlsafe_b64encode(hashlib.new(algorithm, installed.read_bytes()).digest()).rstrip(b"=").decode()
            if installed.is_file()
            else None
        )
        compared += 1
        if actual != expected:
            differing.append(path)
    return compared, differing


def verify(lock: Path, layer: Path) -> list[str]:
    """The problems of one layer against its lock (none: the layer is the lock)."""
    pins, dists = lock_pins(lock), layer_dists(layer)
    problems = [f"in the lock, not in the layer: {name}=={version}" for name, version in sorted(pins - dists)]
    problems += [f"in the layer, not in the lock: {name}=={version}" for name, version in sorted(dists - pins)]
    with tempfile.TemporaryDirectory() as tmp:
        wheels = download_locked_wheels(lock, Path(tmp))
        files = 0
        for wheel in wheels:
            compared, differing = compare(wheel, layer)
            problems += [f"{wheel.name}: {path} missing or different in the layer" for path in differing]
            files += compared
    if not problems:
        print(f"verify_layer: {layer} is {lock}: {len(wheels)} hash-checked arm64 wheels, {files} files identical")
    return [f"{layer}: {problem}" for problem in problems]


def main() -> int:
    pairs = [(Path(sys.argv[1]), Path(sys.argv[2]))] if len(sys.argv) > 2 else list(LAYERS.items())
    problems = [problem for lock, layer in pairs for problem in verify(lock, layer)]
    for problem in problems:
        print(f"verify_layer: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
