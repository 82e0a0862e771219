#!/usr/bin/env bash
# Runs docker-compose.yml for real and checks that the one-shot client plays both loops.
#
# 1. seeds the base images if missing (docker/seed-images.sh; fast when already seeded);
# 2. builds the app image with docker/Dockerfile's `runtime-prebuilt` target around binaries built on this host
#    (CI's debug binaries: no second, release build; the default target of the Dockerfile builds from source);
# 3. `docker compose up --exit-code-from loop-client loop-client` (and its dependencies) under a timeout; then the
#    live page (`loop-web`, on an ephemeral host port) checked end to end by scripts/lib/page-check.py (a first
#    loop with its 402, payment and SUCCESS, a repeat loop with none, every feed heard from); then the same for the
#    `postgres` profile (`loop-client-replicas`: two auth-proxy replicas sharing PostgreSQL);
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

tag=docker-test
# shellcheck source=lib/docker-image.sh
. "$(dirname "$0")/lib/docker-image.sh"

timeout_s=${DOCKER_TEST_TIMEOUT:-300}
profiles=${DOCKER_TEST_PROFILES:-default postgres}
image=loop-l402:docker-test-$$
project=l402-docker-test-$$
# loop-web's host port: ephemeral (read back with `compose port`), never a fixed one.
export LOOP_WEB_PORT=

# ---- the binaries ----
resolve_binaries "${1:-}"

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
build_app_image "$image" "$ctx" "$seed_what"

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
    if [ "$name" = default ]; then
        check_page "$@" || {
            "${compose[@]}" -p "$project" "$@" logs --no-color --timestamps || true
            die "compose run '$name': the live page"
        }
    fi
    log "compose run '$name' passed in $(($(date +%s) - start)) s; what the other services logged:"
    # `up ONESHOT` shows only the one-shot's output; the rest of the story is in the other services' logs.
    "${compose[@]}" -p "$project" "$@" logs --no-color 2>/dev/null | grep -Ev "^${oneshot}[-_][0-9]+ " || true
    "${compose[@]}" -p "$project" "$@" down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
}

# check_page [COMPOSE OPTIONS...]: starts loop-web beside the running services and checks its page end to end.
check_page() {
    local addr
    log "live page: up loop-web"
    "${compose[@]}" -p "$project" "$@" up -d --no-build --no-deps loop-web
    addr=$("${compose[@]}" -p "$project" "$@" port loop-web 8402) || return 1
    log "live page: http://$addr/ (scripts/lib/page-check.py)"
    timeout --kill-after=10 "$timeout_s" python3 scripts/lib/page-check.py "http://$addr/" 120
}

for profile in $profiles; do
    case "$profile" in
    default) run_compose default loop-client 1 ;;
    postgres) run_compose postgres loop-client-replicas "" --profile postgres ;;
    *) die "unknown profile '$profile' in DOCKER_TEST_PROFILES" ;;
    esac
done
log "all compose runs passed"
