#!/usr/bin/env bash
# Installs the pinned Pulumi CLI plus a Python language host, built from the
# Go module proxy (no other network needed), and prints the bin directory as
# the LAST line of stdout (everything else goes to stderr):
#
#   PATH="$(scripts/install-pulumi.sh | tail -1):$PATH"
#
# The bin directory holds:
#   pulumi                         CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-python         our language host (scripts/pulumi-cli/cmd/...)
#   pulumi-language-python-exec    our program executor (scripts/pulumi-cli/exec/)
#   pulumi-resource-pulumi-python  our dynamic provider host (scripts/pulumi-cli/exec/)
#
# Environment:
#   BAKERY_CACHE               cache root (default $HOME/.cache/bakery); the
#                              binaries go to $BAKERY_CACHE/pulumi-v<VER>/bin
#   BAKERY_PULUMI_IGNORE_PATH  if non-empty, do not reuse a `pulumi` on PATH
#   GOCACHE, GOMODCACHE, GOPROXY, GOFLAGS  as usual for Go (defaults are fine)
#
# See scripts/README-pulumi-cli.md.
set -euo pipefail

PULUMI_VERSION="3.274.0"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module_dir="$here/pulumi-cli"
cache_root="${BAKERY_CACHE:-$HOME/.cache/bakery}"
install_dir="$cache_root/pulumi-v$PULUMI_VERSION"
bin_dir="$install_dir/bin"
stamp_file="$bin_dir/.bakery-build-stamp"
scripts=(pulumi-language-python-exec pulumi-resource-pulumi-python)

log() { printf 'install-pulumi: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# True if the pulumi binary $1 reports exactly v$PULUMI_VERSION.
reports_pinned() {
    local out
    out="$(PULUMI_SKIP_UPDATE_CHECK=true "$1" version 2>/dev/null)" || return 1
    [ "${out%%$'\n'*}" = "v$PULUMI_VERSION" ]
}

# What the build depends on: version, flags, and the wrapper module's sources.
build_stamp() {
    {
        echo "pulumi v$PULUMI_VERSION ldflags=-s,-w tags=osusergo,grpcnotrace cgo=0 trimpath"
        (cd "$module_dir" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
            LC_ALL=C sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -d' ' -f1
}

# Copy the wrapper scripts into $1 when they differ (cheap; keeps them current).
sync_scripts() {
    local s
    for s in "${scripts[@]}"; do
        if ! cmp -s "$module_dir/exec/$s" "$1/$s" 2>/dev/null; then
            install -m 0755 "$module_dir/exec/$s" "$1/$s"
        fi
    done
}

cache_is_current() {
    [ -x "$bin_dir/pulumi" ] && [ -x "$bin_dir/pulumi-language-python" ] &&
        [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$(build_stamp)" ] &&
        reports_pinned "$bin_dir/pulumi"
}

done_with() {
    log "pulumi v$PULUMI_VERSION ready in $1"
    echo "$1"
    exit 0
}

# 1. Our cache already holds this build.
if cache_is_current; then
    sync_scripts "$bin_dir"
    done_with "$bin_dir"
fi

# 2. A pulumi on PATH that reports the pinned version, with the Python
#    language host and its scripts beside it (e.g. an official install).
if [ -z "${BAKERY_PULUMI_IGNORE_PATH:-}" ] && on_path="$(command -v pulumi 2>/dev/null)"; then
    on_path_dir="$(cd "$(dirname "$on_path")" && pwd -P)"
    if [ "$on_path_dir" != "$(cd "$bin_dir" 2>/dev/null && pwd -P || true)" ] &&
        [ -x "$on_path_dir/pulumi-language-python" ] &&
        [ -e "$on_path_dir/pulumi-language-python-exec" ] &&
        [ -x "$on_path_dir/pulumi-resource-pulumi-python" ] &&
        reports_pinned "$on_path"; then
        done_with "$on_path_dir"
    fi
fi

# 3. Build.
go_bin="$(command -v go 2>/dev/null || true)"
if [ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ]; then
    go_bin=/usr/local/go/bin/go
fi
[ -n "$go_bin" ] || die "Go (>= the 'go' line of $module_dir/go.mod) is needed: not on PATH nor at /usr/local/go/bin/go"

for mod in pkg sdk; do
    grep -Eq "^[[:space:]]*github.com/pulumi/pulumi/$mod/v3 v$PULUMI_VERSION\$" "$module_dir/go.mod" ||
        die "$module_dir/go.mod must require github.com/pulumi/pulumi/$mod/v3 v$PULUMI_VERSION (the pinned version)"
done

mkdir -p "$install_dir"

# One build at a time per version (CI jobs may race on the same machine).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$install_dir/.lock"
    if ! flock -n 9; then
        log "another install of pulumi v$PULUMI_VERSION is running; waiting for it"
        flock 9
    fi
    if cache_is_current; then
        sync_scripts "$bin_dir"
        done_with "$bin_dir"
    fi
fi

work="$(mktemp -d "$install_dir/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

log "building pulumi v$PULUMI_VERSION and pulumi-language-python with $("$go_bin" version) (cold: about 4 min on 2 cores)"
start=$(date +%s)
ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
(
    cd "$module_dir"
    CGO_ENABLED=0 "$go_bin" build -mod=readonly -buildvcs=false -trimpath \
        -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$work/" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi ./cmd/pulumi-language-python
) >&2 || die "go build failed"
log "built in $(($(date +%s) - start))s"

reports_pinned "$work/pulumi" || die "the built pulumi does not report v$PULUMI_VERSION"
sync_scripts "$work"

mkdir -p "$bin_dir"
for f in pulumi pulumi-language-python "${scripts[@]}"; do
    mv -f "$work/$f" "$bin_dir/$f"
done
build_stamp >"$stamp_file"

done_with "$bin_dir"
