#!/usr/bin/env bash
# The main job, locally: sets up what it needs, then runs the whole pipeline on loopback
# (moto server, DynamoDB Local, the SMS Partner stand-in). Extra arguments go to `python -m devkit.run`;
# with --serve first, the local stack stays up for the `stoplist --local` command (python -m devkit.serve).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if [ "${1:-}" = "--serve" ]; then
    shift
    exec .venv/bin/python -m devkit.serve "$@"
fi
exec .venv/bin/python -m devkit.run "$@"
