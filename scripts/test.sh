#!/usr/bin/env bash
# The test command: build the virtualenv from pinned requirements, put the Pulumi
# CLI on PATH (built offline if needed), then lint, type-check and run every test.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k baked_image`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${BAKERY_VENV:-.venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha"
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
export PATH="$PWD/$VENV/bin:$PATH"

if [[ -x scripts/install-pulumi.sh ]]; then
  PULUMI_BIN="$(scripts/install-pulumi.sh | tail -1)"
  export PATH="$PULUMI_BIN:$PATH"
fi

echo "== ruff"
ruff check .
ruff format --check .
echo "== mypy"
# shellcheck disable=SC2046  # word-splitting the list of paths is intended
mypy $(ls -d providers components stack_config.py __main__.py scripts tests bench 2>/dev/null)
echo "== pytest"
python -m pytest "$@"
