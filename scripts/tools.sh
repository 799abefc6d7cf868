#!/usr/bin/env bash
# Installs the template tools apart from .venv: the SAM CLI and cfn-lint into .tools/venv (the SAM CLI pins
# its own boto3, which would fight moto's), checkov into .tools/checkov (its pins fight the SAM CLI's).
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
python_bin=.venv/bin/python
[ -x "$python_bin" ] || bash scripts/bootstrap.sh
if [ ! -x .tools/venv/bin/sam ] || [ ! -f .tools/venv/.installed-$(sha1sum scripts/tools.sh | cut -c1-12) ]; then
    echo "tools: installing aws-sam-cli and cfn-lint into .tools/venv" >&2
    "$python_bin" -m venv --clear .tools/venv
    .tools/venv/bin/python -m pip install --quiet --disable-pip-version-check 'aws-sam-cli==1.170.0' 'cfn-lint>=1.30'
    touch .tools/venv/.installed-$(sha1sum scripts/tools.sh | cut -c1-12)
fi
if [ ! -x .tools/checkov/bin/checkov ] || [ ! -f .tools/checkov/.installed-$(sha1sum scripts/tools.sh | cut -c1-12) ]; then
    echo "tools: installing checkov into .tools/checkov" >&2
    "$python_bin" -m venv --clear .tools/checkov
    .tools/checkov/bin/python -m pip install --quiet --disable-pip-version-check 'checkov==3.3.30'
    touch .tools/checkov/.installed-$(sha1sum scripts/tools.sh | cut -c1-12)
fi
