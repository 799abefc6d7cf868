#!/usr/bin/env bash
# The SAM CLI (from .tools/venv) with the template's runtime, python3.13, on PATH, as `sam build` requires:
#   bash scripts/sam.sh build        bash scripts/sam.sh validate --lint
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tools.sh
py313_dir=$(dirname "$(.venv/bin/python -c 'import sys; print(sys.executable)')")
for candidate in "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.13*/bin; do
    [ -x "$candidate/python3.13" ] && py313_dir=$candidate
done
export SAM_CLI_TELEMETRY=0
PATH="$py313_dir:$PATH" exec .tools/venv/bin/sam "$@" --region "${AWS_REGION:-eu-west-3}"
