# shellcheck shell=bash
# Sourced by scripts/docker-test.sh and scripts/replicas-test.sh: what both need before they run
# docker-compose.yml — the compose command, the binaries, and the app image built around them.
#
# Before sourcing, set `tag` (the name printed in messages, e.g. docker-test). After sourcing:
#   repo, target_dir, compose[]        the repository, cargo's target directory, `docker compose` or `docker-compose`
#   log MSG / die MSG                  a step header / a failure message and exit 1
#   resolve_binaries [BIN_DIR]         sets bin_dir (BIN_DIR, else $L402_DOCKER_BIN_DIR, else <target>/debug),
#                                      runs `cargo build` first when that is this workspace's target/debug and
#                                      DOCKER_TEST_CARGO_BUILD is 1 (default), checks the six binaries exist
#   build_app_image IMAGE CTX SEED     seeds the base images (docker/seed-images.sh SEED: debian|postgres|all),
#                                      builds docker/Dockerfile's `runtime-prebuilt` target as IMAGE with the
#                                      stripped binaries in the throwaway context directory CTX, and checks that
#                                      every binary runs on the image's Debian
# shellcheck disable=SC2034  # the variables are for the sourcing script

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
binaries=(mock-lnd swap-server auth-proxy loopd loop loop-demo)

log() { printf '\n=== %s: %s (%s)\n' "$tag" "$*" "$(date -u +%H:%M:%S)"; }
die() { printf '%s: FAILED: %s\n' "$tag" "$*" >&2; exit 1; }

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
echo "$tag: using ${compose[*]} ($("${compose[@]}" version --short 2>/dev/null || echo '?'))"

# Cargo's target directory as cargo itself reports it (CARGO_TARGET_DIR, a config file or `target/`).
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

resolve_binaries() {
    bin_dir=${1:-${L402_DOCKER_BIN_DIR:-$target_dir/debug}}
    if [ "$(cd "$bin_dir" 2>/dev/null && pwd)" = "$(cd "$target_dir" && pwd)/debug" ] && [ "${DOCKER_TEST_CARGO_BUILD:-1}" = 1 ]; then
        log "cargo build (debug) of the binaries"
        cargo build --locked -p mock-lnd -p swap-server -p auth-proxy -p swap-client -p loop-demo --bins
    fi
    local bin
    for bin in "${binaries[@]}"; do
        [ -x "$bin_dir/$bin" ] || die "$bin_dir/$bin not found: build the binaries first (cargo build --bins)"
    done
}

build_app_image() {
    local image=$1 ctx=$2 seed_what=$3 bin
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
}
