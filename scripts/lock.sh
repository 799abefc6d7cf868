#!/usr/bin/env bash
# Regenerates every lock from its ranges, with hashes of every wheel and sdist of each pinned version, using
# uv pip compile (uv is pinned in pyproject's dev extra, so .venv has the same uv everywhere):
#   shared/requirements.txt   the shared layer (SAM builds it): [project] dependencies, for python3.13 on arm64
#   layers/links/requirements.txt    the links layer (the unsubscribe page only): the links extra, for python3.13
#                             on arm64
#   layers/tracing/requirements.txt  the tracing layer (every function, when Tracing is Active): the tracing extra,
#                             resolved beside the runtime's boto3 (its botocore matches it), boto3 and s3transfer
#                             left to the runtime
#   Each layer's lock holds all its dependencies (SAM installs it in pip's hash-checking mode, which refuses an
#   unpinned one), at the shared layer's versions: a package two layers carry is the same files in both.
#   requirements/dev.txt      .venv: the dev and lambda-runtime extras, constrained to the layers' pins (tests run
#                             what ships), universal from Python 3.11 (markers where versions differ)
#   requirements/sam-cli.txt  .tools/venv: requirements/sam-cli.in      (scripts/tools.sh)
#   requirements/checkov.txt  .tools/checkov: requirements/checkov.in   (scripts/tools.sh)
# A lock keeps its pins while the ranges allow them, so adding a dependency or narrowing a range moves only what
# must move. Newer versions are taken only when asked:
#   bash scripts/lock.sh                               after editing pyproject.toml or a requirements/*.in
#   bash scripts/lock.sh --upgrade                     everything to the newest versions the ranges allow
#   bash scripts/lock.sh --upgrade-package requests    one package (any uv pip compile option passes through)
#   bash scripts/lock.sh --check                       CI: fails if a lock is out of step with its ranges
# --check compiles copies of the locks in a temporary folder and compares the pins (hash lines left out: a
# wheel uploaded later for a pinned version adds a hash without making the lock stale; pip still refuses any
# file whose hash is not in the lock).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || bash scripts/bootstrap.sh
uv=$PWD/.venv/bin/uv
python=$PWD/.venv/bin/python

check=0
if [ "${1:-}" = "--check" ]; then
    check=1
    shift
fi

compile() {  # compile OUTPUT INPUT [uv pip compile options]; runs in the folder that holds the locks
    local output=$1 input=$2
    shift 2
    "$uv" pip compile --quiet --generate-hashes --custom-compile-command "bash scripts/lock.sh" \
        --output-file "$output" "$input" "$@"
}

extra() {  # extra NAME...: the requirements of these extras of pyproject.toml, one a line (a layer's own ranges)
    "$python" -c 'import sys, tomllib
extras = tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]
print("\n".join(requirement for name in sys.argv[1:] for requirement in extras[name]))' "$@"
}

lock_all() {  # lock_all ROOT [uv pip compile options]
    local root=$1 arm64=(--python-version 3.13 --python-platform aarch64-manylinux_2_17)
    shift
    (
        cd "$root"
        compile shared/requirements.txt pyproject.toml "${arm64[@]}" "$@"
        extra links | compile layers/links/requirements.txt - "${arm64[@]}" --constraint shared/requirements.txt "$@"
        extra tracing lambda-runtime | compile layers/tracing/requirements.txt - "${arm64[@]}" \
            --constraint shared/requirements.txt --no-emit-package=boto3 --no-emit-package=s3transfer "$@"
        compile requirements/dev.txt pyproject.toml --extra dev --universal --python-version 3.11 \
            --constraint shared/requirements.txt --constraint layers/links/requirements.txt \
            --constraint layers/tracing/requirements.txt "$@"
        compile requirements/sam-cli.txt requirements/sam-cli.in --universal --python-version 3.11 "$@"
        compile requirements/checkov.txt requirements/checkov.in --universal --python-version 3.11 "$@"
    )
}

locks=(shared/requirements.txt layers/links/requirements.txt layers/tracing/requirements.txt requirements/dev.txt
    requirements/sam-cli.txt requirements/checkov.txt)

if [ "$check" = 0 ]; then
    lock_all . "$@"
    for lock in "${locks[@]}"; do
        echo "lock: $lock: $(grep -c '^[A-Za-z0-9].*==' "$lock") packages" >&2
    done
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/shared" "$tmp/requirements" "$tmp/layers/links" "$tmp/layers/tracing"
cp pyproject.toml README.md "$tmp/"
cp requirements/*.in "$tmp/requirements/"
for lock in "${locks[@]}"; do
    cp "$lock" "$tmp/$lock"
done
lock_all "$tmp" "$@"
pins() { grep -v -e '--hash=' -e '^#' "$1" | sed 's/ *\\$//'; }
stale=0
for lock in "${locks[@]}"; do
    if ! diff -u --label "$lock (committed)" --label "$lock (from the ranges)" <(pins "$lock") <(pins "$tmp/$lock"); then
        stale=1
    fi
done
if [ "$stale" = 1 ]; then
    echo "lock: out of step with pyproject.toml or requirements/*.in: run bash scripts/lock.sh and commit" >&2
    exit 1
fi
echo "lock: ${#locks[@]} locks in step with their ranges" >&2
