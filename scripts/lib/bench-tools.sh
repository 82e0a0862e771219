# shellcheck shell=bash
# Sourced by scripts/bench.sh and .ci/run: installs the load generators and the reference proxy the
# benchmark drives (Debian's nginx, wrk and nghttp2-client for h2load) when they are missing.
install_bench_tools() {
    local missing=()
    command -v nginx >/dev/null || missing+=(nginx)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v h2load >/dev/null || missing+=(nghttp2-client)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "installing ${missing[*]} from Debian's packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq "${missing[@]}" >&2 ||
            { apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2; }
    fi
}
