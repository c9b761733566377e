#!/usr/bin/env bash
# The test command: build the virtualenv from pinned requirements, lint, type-check
# and run the unit tests, then find (or build) the Pulumi CLI and run the e2e tests.
# Extra arguments go to both pytest runs, e.g. `scripts/test.sh -k baked_image`.
#
# Only tests/e2e (the tests marked `e2e`) needs the CLI. Without one, and without Go
# to build one (scripts/install-pulumi.sh exit status 3), the e2e run is skipped
# with a line saying so, and the exit status is that of the checks before it; with
# CI=true a missing CLI fails the run (CI builds it).
#
# Environment (for a quick run and for tests of this script):
#   BAKERY_VENV         virtualenv to use (default .venv)
#   BAKERY_NO_PIP       non-empty: use the virtualenv as it is (no pip install)
#   BAKERY_CHECK_PATHS  what ruff and mypy check (default: the whole project)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${BAKERY_VENV:-.venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha"
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [[ -z "${BAKERY_NO_PIP:-}" && "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi
export PATH="$(cd "$VENV/bin" && pwd):$PATH"

# pytest exits 5 when it selects no test (e.g. `-k` matching only unit tests):
# nothing failed, so that counts as success.
run_pytest() {
  local rc=0
  python -m pytest "$@" || rc=$?
  if [[ "$rc" == 5 ]]; then
    echo "(no test selected)"
    rc=0
  fi
  return "$rc"
}

if [[ -n "${BAKERY_CHECK_PATHS:-}" ]]; then
  read -r -a lint_paths <<<"$BAKERY_CHECK_PATHS"
  type_paths=("${lint_paths[@]}")
else
  lint_paths=(.)
  # shellcheck disable=SC2207  # word-splitting the list of paths is intended
  type_paths=($(ls -d providers components stack_config* policy preview __main__.py scripts tests bench 2>/dev/null))
fi
echo "== ruff"
ruff check "${lint_paths[@]}"
ruff format --check "${lint_paths[@]}"
echo "== mypy"
mypy "${type_paths[@]}"
echo "== pytest (unit)"
run_pytest -m "not e2e" "$@"

echo "== pytest (e2e, the real Pulumi CLI)"
rc=0
pulumi_bin="$(scripts/install-pulumi.sh | tail -1)" || rc=$?
if [[ "$rc" == 3 ]]; then
  if [[ "${CI:-}" == "true" ]]; then
    echo "e2e failed: no pulumi CLI and no Go to build one (CI=true: the e2e tests must run)" >&2
    exit 1
  fi
  echo "e2e skipped: no pulumi CLI (no pulumi >= the SDK's version with pulumi-language-python on PATH, and no Go to build one; see scripts/install-pulumi.sh)"
  exit 0
fi
[[ "$rc" == 0 && -n "$pulumi_bin" ]] || { echo "scripts/install-pulumi.sh failed" >&2; exit 1; }
export PATH="$pulumi_bin:$PATH"
run_pytest -m e2e "$@"
