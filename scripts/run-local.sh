#!/usr/bin/env bash
# The main job, locally: sets up what it needs, then runs the whole pipeline on loopback
# (moto server, DynamoDB Local, the SMS Partner stand-in). Extra arguments go to `python -m devkit.run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m devkit.run "$@"
