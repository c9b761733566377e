#!/usr/bin/env bash
# Run any pulumi command against the local stack that
# `BAKERY_LOCAL_KEEP=1 scripts/local-up.sh` left running (moto server, file backend,
# stack config copy):
#
#   scripts/local.sh preview --diff
#   scripts/local.sh config set bakery:bake.triggers '["local-2"]'
#   scripts/local.sh up --yes
#   scripts/local.sh refresh --yes
#   scripts/local.sh destroy --yes
#   scripts/local.sh stack output --json
#   scripts/local.sh --stop        # stop the local AWS, remove the work directory
#
# It adds `--stack local`, and `--config-file <the copy>` to the commands that read
# stack config, and runs pulumi with the environment local-up.sh used (its PATH,
# PULUMI_HOME, backend, empty passphrase, the fake credentials only moto sees).
#
# Environment:
#   BAKERY_LOCAL_DIR   the work directory, when local-up.sh was given one (default:
#                      the one local-up.sh noted in .bakery-local)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

die() { printf 'local: error: %s\n' "$*" >&2; exit 1; }

work="${BAKERY_LOCAL_DIR:-$(cat "$repo/.bakery-local" 2>/dev/null || true)}"
[[ -n "$work" && -f "$work/local.env" ]] ||
  die "no local stack left running: run BAKERY_LOCAL_KEEP=1 scripts/local-up.sh first"
# shellcheck source=/dev/null
source "$work/local.env"
unset AWS_PROFILE AWS_SESSION_TOKEN

if [[ "${1:-}" == "--stop" ]]; then
  if kill "$BAKERY_LOCAL_SERVER_PID" 2>/dev/null; then
    echo "local: stopped the local AWS (pid $BAKERY_LOCAL_SERVER_PID)" >&2
  fi
  if [[ -z "${BAKERY_LOCAL_DIR:-}" ]]; then
    rm -f "$repo/.bakery-local"
  fi
  rm -rf "$work"
  exit 0
fi
[[ $# -gt 0 ]] || die "usage: scripts/local.sh <pulumi command and args> | --stop"
kill -0 "$BAKERY_LOCAL_SERVER_PID" 2>/dev/null ||
  die "the local AWS (moto, pid $BAKERY_LOCAL_SERVER_PID at $BAKERY_LOCAL_ENDPOINT) is gone: run BAKERY_LOCAL_KEEP=1 scripts/local-up.sh again"

# Commands that read the stack's config take --config-file (the others refuse it).
extra=(--stack local)
case "$1" in
  preview | up | update | refresh | destroy | config | import | watch)
    extra+=(--config-file "$BAKERY_LOCAL_CONFIG") ;;
esac
cd "$repo"
exec pulumi "$@" "${extra[@]}"
