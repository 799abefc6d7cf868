#!/usr/bin/env bash
# The test command: sets up what it needs, then runs the whole suite (unit + integration). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# PYTHONTZPATH empty: no system time-zone database, as in Lambda; zones come from the tzdata package.
PYTHONTZPATH="" exec .venv/bin/python -m pytest "$@"
