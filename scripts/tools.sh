#!/usr/bin/env bash
# Installs the template tools apart from .venv, each from its hashed lock (requirements/*.in, compiled by
# scripts/lock.sh): the SAM CLI and cfn-lint into .tools/venv (the SAM CLI pins its own boto3, which would fight
# moto's), checkov into .tools/checkov (its pins fight the SAM CLI's). A venv is made anew when its lock changes.
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
python_bin=.venv/bin/python
[ -x "$python_bin" ] || bash scripts/bootstrap.sh

install_locked() {  # install_locked VENV LOCK
    local venv=$1 lock=$2 stamp
    stamp=.installed-$(sha1sum "$lock" | cut -c1-12)
    if [ ! -f "$venv/$stamp" ]; then
        echo "tools: installing $lock into $venv" >&2
        "$python_bin" -m venv --clear "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
        touch "$venv/$stamp"
    fi
}

install_locked .tools/venv requirements/sam-cli.txt
install_locked .tools/checkov requirements/checkov.txt
