#!/usr/bin/env bash
# Runs docker-compose.yml for real and checks that the one-shot client plays both loops.
#
# 1. seeds the base images if missing (docker/seed-images.sh; fast when already seeded);
# 2. builds the app image with docker/Dockerfile's `runtime-prebuilt` target around binaries built on this host
#    (CI's debug binaries: no second, release build; the default target of the Dockerfile builds from source);
# 3. `docker compose up --exit-code-from loop-client loop-client` (and its dependencies) under a timeout,
#    then the same for the `postgres` profile (`loop-client-replicas`: two auth-proxy replicas sharing PostgreSQL);
# 4. prints every container's log on failure, always tears down (`down -v`), exits non-zero on failure.
#
# Usage: scripts/docker-test.sh [BIN_DIR]        BIN_DIR defaults to $L402_DOCKER_BIN_DIR or <cargo target dir>/debug
# Environment:
#   SKIP_DOCKER_TESTS=1          skip (machines without Docker)
#   DOCKER_TEST_TIMEOUT=300      seconds allowed for each `compose up`
#   DOCKER_TEST_PROFILES="default postgres"   which runs to do
#   DOCKER_TEST_CARGO_BUILD=1    with BIN_DIR = this workspace's target/debug, first bring the binaries up to
#                                date with `cargo build` (a no-op right after `cargo test`); 0 = use them as they are
#   DOCKER_TEST_KEEP_IMAGE=1     keep the test image (loop-l402:docker-test-<pid>) afterwards
set -euo pipefail

if [ "${SKIP_DOCKER_TESTS:-0}" = 1 ]; then
    echo "docker-test: skipped (SKIP_DOCKER_TESTS=1)"
    exit 0
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

# Cargo's target directory as cargo itself reports it (CARGO_TARGET_DIR, a config file or `target/`).
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin_dir=${1:-${L402_DOCKER_BIN_DIR:-$target_dir/debug}}
timeout_s=${DOCKER_TEST_TIMEOUT:-300}
profiles=${DOCKER_TEST_PROFILES:-default postgres}
image=loop-l402:docker-test-$$
project=l402-docker-test-$$
binaries=(mock-lnd swap-server auth-proxy loopd loop)

log() { printf '\n=== docker-test: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
die() { printf 'docker-test: FAILED: %s\n' "$*" >&2; exit 1; }

if ! docker info >/dev/null 2>&1; then
    die "no Docker engine reachable (set SKIP_DOCKER_TESTS=1 to skip this test)"
fi
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null; then
    compose=(docker-compose)
else
    die "neither 'docker compose' nor 'docker-compose' is installed"
fi
echo "docker-test: using ${compose[*]} ($("${compose[@]}" version --short 2>/dev/null || echo '?'))"

# ---- the binaries ----
if [ "$(cd "$bin_dir" 2>/dev/null && pwd)" = "$(cd "$target_dir" && pwd)/debug" ] && [ "${DOCKER_TEST_CARGO_BUILD:-1}" = 1 ]; then
    log "cargo build (debug) of the binaries"
    cargo build --locked -p mock-lnd -p swap-server -p auth-proxy -p swap-client --bins
fi
for bin in "${binaries[@]}"; do
    [ -x "$bin_dir/$bin" ] || die "$bin_dir/$bin not found: build the binaries first (cargo build --bins)"
done

ctx=$(mktemp -d /tmp/l402-docker-test.XXXXXX)
cleanup() {
    local rc=$?
    log "tear down"
    "${compose[@]}" -p "$project" --profile postgres down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
    if [ "${DOCKER_TEST_KEEP_IMAGE:-0}" != 1 ]; then
        docker image rm "$image" >/dev/null 2>&1 || true
    fi
    rm -rf "$ctx"
    exit "$rc"
}
trap cleanup EXIT

# ---- images ----
seed_what=debian
case " $profiles " in *" postgres "*) seed_what=all ;; esac
log "seed base images ($seed_what)"
docker/seed-images.sh "$seed_what"

log "build $image from $bin_dir (target runtime-prebuilt)"
mkdir -p "$ctx/docker/prebuilt"
cp docker/Dockerfile docker/tcp-check docker/loop-client "$ctx/docker/"
for bin in "${binaries[@]}"; do
    # Debug info is of no use in the image; stripping makes the build context several times smaller.
    strip -o "$ctx/docker/prebuilt/$bin" "$bin_dir/$bin" 2>/dev/null || cp "$bin_dir/$bin" "$ctx/docker/prebuilt/$bin"
done
docker build --quiet -f "$ctx/docker/Dockerfile" --target runtime-prebuilt -t "$image" "$ctx" >/dev/null
# The host's binaries must run on the image's Debian (glibc).
docker run --rm "$image" bash -c 'for b in "$@"; do "$b" --help >/dev/null || { echo "$b does not run in the image" >&2; exit 1; }; done' \
    _ "${binaries[@]}"

export L402_IMAGE=$image

# run_compose NAME ONESHOT CHALLENGES [COMPOSE OPTIONS...]: up the one-shot service and its dependencies, check
# that it passed and, if CHALLENGES is not empty, that the service auth-proxy sent exactly that many challenges.
run_compose() {
    local name=$1 oneshot=$2 challenges=$3 rc=0 start
    shift 3
    log "compose run '$name': up $oneshot (timeout ${timeout_s}s)"
    start=$(date +%s)
    timeout --kill-after=10 "$timeout_s" "${compose[@]}" -p "$project" "$@" up --no-build --no-color \
        --abort-on-container-exit --exit-code-from "$oneshot" "$oneshot" || rc=$?
    # (Read the logs whole: `grep -q` would close the pipe early and pipefail would count that as a failure.)
    if [ "$rc" = 0 ] && ! grep -q 'both loops succeeded' <<<"$("${compose[@]}" -p "$project" "$@" logs --no-color "$oneshot")"; then
        echo "docker-test: $oneshot exited 0 without reporting both loops" >&2
        rc=1
    fi
    # The repeat loop must not be challenged: one 402 in all (auth-proxy logs one line per decision, as text
    # `decision="challenged"` or as JSON `"decision":"challenged"`).
    if [ "$rc" = 0 ] && [ -n "$challenges" ]; then
        local seen
        seen=$("${compose[@]}" -p "$project" "$@" logs --no-color auth-proxy | grep -cE 'decision(=|":)"challenged"' || true)
        if [ "$seen" != "$challenges" ]; then
            echo "docker-test: auth-proxy challenged $seen times, expected $challenges" >&2
            rc=1
        fi
    fi
    if [ "$rc" != 0 ]; then
        [ "$rc" = 124 ] && echo "docker-test: timed out after ${timeout_s}s" >&2
        log "compose run '$name' failed (exit $rc): containers and logs"
        "${compose[@]}" -p "$project" "$@" ps -a || true
        "${compose[@]}" -p "$project" "$@" logs --no-color --timestamps || true
        die "compose run '$name'"
    fi
    log "compose run '$name' passed in $(($(date +%s) - start)) s; what the other services logged:"
    # `up ONESHOT` shows only the one-shot's output; the rest of the story is in the other services' logs.
    "${compose[@]}" -p "$project" "$@" logs --no-color 2>/dev/null | grep -Ev "^${oneshot}[-_][0-9]+ " || true
    "${compose[@]}" -p "$project" "$@" down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
}

for profile in $profiles; do
    case "$profile" in
    default) run_compose default loop-client 1 ;;
    postgres) run_compose postgres loop-client-replicas "" --profile postgres ;;
    *) die "unknown profile '$profile' in DOCKER_TEST_PROFILES" ;;
    esac
done
log "all compose runs passed"
