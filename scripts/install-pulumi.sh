#!/usr/bin/env bash
# Puts a Pulumi CLI with a Python language host within reach and prints its bin
# directory as the LAST line of stdout (everything else goes to stderr):
#
#   PATH="$(scripts/install-pulumi.sh | tail -1):$PATH"
#
# In this order:
#   1. a `pulumi` on PATH at or above v$MIN_VERSION (the Python SDK pinned in
#      requirements.txt; Pulumi's engine keeps working with older SDKs, not with
#      newer ones) with `pulumi-language-python`, `pulumi-language-python-exec`
#      and `pulumi-resource-pulumi-python` beside it: an official install;
#   2. the cache of an earlier build of v$PULUMI_VERSION;
#   3. otherwise it builds v$PULUMI_VERSION from the Go module proxy (no other
#      network needed; a cold build took 337 s on 2 cores, see README), saying
#      in one line why no CLI on PATH would do.
#
# The bin directory of a build holds:
#   pulumi                         CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-language-python         our language host (scripts/pulumi-cli/cmd/...)
#   pulumi-language-python-exec    our program executor (scripts/pulumi-cli/exec/)
#   pulumi-resource-pulumi-python  our dynamic provider host (scripts/pulumi-cli/exec/)
#
# Exit status: 0 with the directory printed; 3 when there is no usable CLI and no
# Go to build one (scripts/test.sh then skips the e2e tests outside CI); 1 on any
# other failure.
#
# Environment:
#   BAKERY_CACHE               cache root (default $HOME/.cache/bakery); the
#                              binaries go to $BAKERY_CACHE/pulumi-v<VER>/bin
#   BAKERY_PULUMI_IGNORE_PATH  if non-empty, do not reuse a `pulumi` on PATH
#   BAKERY_GO                  the go binary to build with (default: go on PATH,
#                              else /usr/local/go/bin/go)
#   BAKERY_PULUMI_BUILD_DRY_RUN  if non-empty, say that it would build and exit 0
#                              before building (tests use it)
#   GOCACHE, GOMODCACHE, GOPROXY, GOFLAGS  as usual for Go (defaults are fine)
#
# See scripts/README-pulumi-cli.md.
set -euo pipefail

# The CLI this script builds (the nearest the Go proxy serves at or above the SDK).
PULUMI_VERSION="3.274.0"
# The oldest CLI it accepts on PATH: the pinned Python SDK's own release.
MIN_VERSION="$(sed -n 's/^pulumi==\([0-9.]*\)$/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../requirements.txt")"
MIN_VERSION="${MIN_VERSION:-$PULUMI_VERSION}"
EXIT_NO_GO=3

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module_dir="$here/pulumi-cli"
cache_root="${BAKERY_CACHE:-$HOME/.cache/bakery}"
install_dir="$cache_root/pulumi-v$PULUMI_VERSION"
bin_dir="$install_dir/bin"
stamp_file="$bin_dir/.bakery-build-stamp"
scripts=(pulumi-language-python-exec pulumi-resource-pulumi-python)

log() { printf 'install-pulumi: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The version `pulumi version` of binary $1 prints (v3.280.0), or nothing.
version_of() {
    local out
    out="$(PULUMI_SKIP_UPDATE_CHECK=true "$1" version 2>/dev/null)" || return 1
    printf '%s' "${out%%$'\n'*}"
}

# True if the pulumi binary $1 reports exactly v$PULUMI_VERSION.
reports_pinned() {
    [ "$(version_of "$1")" = "v$PULUMI_VERSION" ]
}

# True if version $1 (v3.280.0, v3.280.0-alpha.x) is at or above v$MIN_VERSION.
at_least_min() {
    local v="${1#v}"
    v="${v%%[-+]*}"
    [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || return 1
    [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -1)" = "$MIN_VERSION" ]
}

# True if the `pulumi` on PATH will do; sets on_path_dir and on_path_version,
# or why_not_path to the reason it will not.
why_not_path="no pulumi on PATH"
usable_on_path() {
    local on_path f
    on_path="$(command -v pulumi 2>/dev/null)" || return 1
    on_path_dir="$(cd "$(dirname "$on_path")" && pwd -P)"
    if [ "$on_path_dir" = "$(cd "$bin_dir" 2>/dev/null && pwd -P || true)" ]; then
        why_not_path="the pulumi on PATH is this script's cache, which is out of date"
        return 1  # step 2 checks the cache's build stamp
    fi
    on_path_version="$(version_of "$on_path")" || on_path_version=""
    if [ -z "$on_path_version" ]; then
        why_not_path="$on_path does not run (\`pulumi version\` failed)"
        return 1
    fi
    if ! at_least_min "$on_path_version"; then
        why_not_path="$on_path is $on_path_version, older than v$MIN_VERSION"
        return 1
    fi
    for f in pulumi-language-python "${scripts[@]}"; do
        if [ ! -x "$on_path_dir/$f" ]; then
            why_not_path="$on_path ($on_path_version) has no $f beside it"
            return 1
        fi
    done
}

find_go() {
    local go
    if [ -n "${BAKERY_GO:-}" ]; then
        go="$BAKERY_GO"
    else
        go="$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)"
    fi
    [ -x "$go" ] && echo "$go"
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
    log "pulumi ${2:-v$PULUMI_VERSION} ready in $1"
    echo "$1"
    exit 0
}

# 1. A pulumi on PATH at or above $MIN_VERSION with a Python language host and
#    its scripts beside it (an official install, or this script's own output).
if [ -z "${BAKERY_PULUMI_IGNORE_PATH:-}" ] && usable_on_path; then
    done_with "$on_path_dir" "$on_path_version"
fi

# 2. Our cache already holds this build.
if cache_is_current; then
    sync_scripts "$bin_dir"
    done_with "$bin_dir" "v$PULUMI_VERSION"
fi

# 3. Build, saying why in one line.
go_bin="$(find_go)" || {
    log "no pulumi CLI: $why_not_path, and no Go to build v$PULUMI_VERSION with (BAKERY_GO, go on PATH, /usr/local/go/bin/go); install Go >= the 'go' line of $module_dir/go.mod, or put an official pulumi >= v$MIN_VERSION on PATH"
    exit "$EXIT_NO_GO"
}
log "building pulumi v$PULUMI_VERSION from the Go module proxy: $why_not_path"
if [ -n "${BAKERY_PULUMI_BUILD_DRY_RUN:-}" ]; then
    log "dry run (BAKERY_PULUMI_BUILD_DRY_RUN): not building with $go_bin into $bin_dir"
    exit 0
fi

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

log "go build of pulumi and pulumi-language-python with $("$go_bin" version) (cold: ~6 min on 2 cores)"
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
