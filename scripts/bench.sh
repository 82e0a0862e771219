#!/usr/bin/env bash
# The proxy benchmark, in one command: builds auth-proxy, mock-lnd, swap-server and the harness (with
# hyper-passthrough) in release, installs nginx, wrk and h2load if missing, and runs `proxy-bench` (arguments
# are passed on, e.g. `--rounds 5 --seconds 10`). It prints a Markdown table of medians and ratios: auth-proxy
# with a valid token against nginx proxy_pass, hyper-passthrough (the HTTP stack alone) and the backend
# directly (HTTP/1.1, wrk), against hyper-passthrough and the gRPC backend directly (h2load), the rate of 402
# challenges minted, and auth-proxy's memory; then the latency each proxy adds to gRPC calls at half
# auth-proxy's saturating rate. bench/README.md describes the opt-in measurements
# (--postgres, --prefill-tokens, --rss-requests).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/lib/bench-tools.sh
. scripts/lib/bench-tools.sh
install_bench_tools

cargo build --release --locked -p proxy-bench -p auth-proxy -p mock-lnd -p swap-server
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
printf 'machine: %s, %s cores, %s\n' "$(uname -m)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
exec "$target_dir/release/proxy-bench" "$@"
