#!/usr/bin/env bash
# Bakery's main job on this machine, no AWS account needed: start a local AWS (a
# moto server with Bakery's extensions), seed a golden instance in it (a managed
# node of the local Systems Manager), run `pulumi up` on the bake-only `local` stack
# against it (patch, prepare, bake, restore, verify), check that a second preview
# is clean, print the outputs, and stop the server.
#
#   scripts/local-up.sh
#
# It builds .venv from the pinned requirements when needed (like scripts/test.sh)
# and gets the Pulumi CLI from scripts/install-pulumi.sh. The stack state lives in
# a fresh local file backend with an empty passphrase; the repository's
# Pulumi.local.yaml is read, never written (the per-run keys go to a copy).
#
# Environment:
#   BAKERY_LOCAL_KEEP   non-empty: leave the server, state and config in place for
#                       scripts/local.sh (default: clean up)
#   BAKERY_LOCAL_DIR    work directory (default: a new temporary directory)
#   BAKERY_LATENCY      non-empty: AWS-like durations scaled by this factor, e.g.
#                       0.02 (tests/moto_ext/latency.py); default: instant
#
# The bake's waits run at 1/100 of AWS's pace here (BAKERY_TIME_SCALE, or the
# BAKERY_LATENCY factor): the local AWS answers at once, and a patch command's
# first look would otherwise come after 90 s.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

log() { printf 'local-up: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# 1. The virtualenv Pulumi.yaml names (.venv), from the pinned requirements.
venv=.venv
if [[ ! -x "$venv/bin/python" ]]; then
  log "creating $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha"
want="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  log "installing the pinned requirements into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" >"$stamp"
fi
py="$repo/$venv/bin/python"

# 2. The Pulumi CLI (built offline from the Go module proxy the first time).
pulumi_bin="$(scripts/install-pulumi.sh | tail -1)" || die "scripts/install-pulumi.sh failed"
export PATH="$pulumi_bin:$repo/$venv/bin:$PATH"

# 3. A private Pulumi home and file backend; fake credentials that only moto sees.
work="${BAKERY_LOCAL_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/bakery-local.XXXXXX")}"
mkdir -p "$work/state" "$work/home" "$work/project"
export PULUMI_HOME="$work/home"
export PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE=""
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export AWS_ACCESS_KEY_ID=bakery-local AWS_SECRET_ACCESS_KEY=bakery-local
export AWS_DEFAULT_REGION=us-east-1 MOTO_EC2_LOAD_DEFAULT_AMIS=false
export BAKERY_TIME_SCALE="${BAKERY_LATENCY:-${BAKERY_TIME_SCALE:-0.01}}"
unset AWS_PROFILE AWS_SESSION_TOKEN

server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "${BAKERY_LOCAL_KEEP:-}" ]]; then
    log "kept: moto server pid $server_pid at ${endpoint:-?}, work dir $work"
    return "$rc"
  fi
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ -z "${BAKERY_LOCAL_DIR:-}" ]]; then
    rm -rf "$work"
  fi
  return "$rc"
}
trap cleanup EXIT

# 4. The local AWS on a free port; it prints its URL once it serves.
server_args=(--host 127.0.0.1 --port 0)
if [[ -n "${BAKERY_LATENCY:-}" ]]; then
  server_args+=(--latency-scale "$BAKERY_LATENCY")
fi
"$py" -m tests.moto_ext.server "${server_args[@]}" >"$work/moto.url" 2>"$work/moto.log" &
server_pid=$!
endpoint=""
for _ in $(seq 1 150); do
  endpoint="$(head -n1 "$work/moto.url" 2>/dev/null || true)"
  [[ "$endpoint" == http://* ]] && break
  kill -0 "$server_pid" 2>/dev/null || die "the moto server exited: $(cat "$work/moto.log")"
  sleep 0.2
done
[[ "$endpoint" == http://* ]] || die "the moto server did not start within 30s: $(cat "$work/moto.log")"
log "local AWS (moto) at $endpoint"

# 5. A golden instance: root volume plus a KMS-encrypted and a gp3 data volume, with
#    an instance profile that makes it a managed node (patch and commands); a subnet
#    for the verify's test instance.
seeded="$("$py" -m scripts.seed_golden_instance --endpoint-url "$endpoint" --managed)"
field() { "$py" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$seeded" "$1"; }
instance_id="$(field instance_id)"
subnet_id="$(field subnet_id)"
log "seeded golden instance $instance_id (managed by the local Systems Manager)"

# 6. The `local` stack. `stack init` writes the stack file beside Pulumi.yaml, so
#    it runs in a scratch copy of the project file; every later command reads that
#    copy with --config-file, and the repository stays untouched.
config="$work/project/Pulumi.local.yaml"
cp Pulumi.yaml "$work/project/Pulumi.yaml"
if [[ ! -f "$config" ]]; then
  cp Pulumi.local.yaml "$config"
fi
if ! pulumi stack ls --cwd "$work/project" 2>/dev/null | grep -q '^local'; then
  pulumi stack init local --cwd "$work/project" >&2
fi
pulumi config set --config-file "$config" --stack local bakery:bake.instance_id "$instance_id"
pulumi config set --config-file "$config" --stack local bakery:bake.endpoint_url "$endpoint"
# The whole cycle on this stack: patch, prepare, the image, and a verify on a test
# instance before image_id is an output (the repository's Pulumi.local.yaml bakes only).
cycle() { pulumi config set --config-file "$config" --stack local --path "$@"; }
cycle bakery:bake.patch.operation install
cycle bakery:bake.patch.reboot if_needed
cycle 'bakery:bake.prepare.commands[0]' "cloud-init clean --logs"
cycle bakery:bake.verify.subnet_id "$subnet_id"
cycle bakery:bake.verify.instance_profile "$(field profile)"

# 7. Bake.
pulumi up --yes --stack local --config-file "$config"

log "checking that a second preview has nothing to do"
pulumi preview --stack local --config-file "$config" --expect-no-changes >"$work/preview.log" 2>&1 ||
  { cat "$work/preview.log" >&2; die "the second preview wanted changes"; }

echo
echo "Outputs of the local stack:"
pulumi stack output --stack local --json

if [[ -n "${BAKERY_LOCAL_KEEP:-}" ]]; then
  # What scripts/local.sh needs to run any pulumi command against this stack.
  {
    printf 'export PATH=%q\n' "$PATH"
    for name in PULUMI_HOME PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE PULUMI_SKIP_UPDATE_CHECK \
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
      AWS_DEFAULT_REGION MOTO_EC2_LOAD_DEFAULT_AMIS BAKERY_TIME_SCALE; do
      printf 'export %s=%q\n' "$name" "${!name}"
    done
    printf 'BAKERY_LOCAL_CONFIG=%q\nBAKERY_LOCAL_SERVER_PID=%q\nBAKERY_LOCAL_ENDPOINT=%q\n' \
      "$config" "$server_pid" "$endpoint"
  } >"$work/local.env"
  if [[ -z "${BAKERY_LOCAL_DIR:-}" ]]; then
    echo "$work" >"$repo/.bakery-local"
  fi
  cat <<EOF

The moto server keeps running (pid $server_pid). Go on with scripts/local.sh, which
runs any pulumi command against this stack${BAKERY_LOCAL_DIR:+ (with BAKERY_LOCAL_DIR=$work)}:
  scripts/local.sh config set bakery:bake.triggers '["local-2"]'
  scripts/local.sh preview --diff     # says why it re-bakes
  scripts/local.sh up --yes           # a re-bake; the old image is retired
  scripts/local.sh refresh --yes
  scripts/local.sh destroy --yes      # removes the images and snapshots
  scripts/local.sh --stop             # stops the local AWS and removes $work
EOF
fi
