#!/usr/bin/env bash
# Runs the conformance kit's binary against our auth-proxy as real processes, over HTTP and gRPC:
# mock-lnd (nodes client, proxy, server), swap-server behind auth-proxy (TLS, SQLite), the kit paying
# through the client node. Every MUST case must pass (the kit exits 0); the JSON report is kept.
#
# Usage: scripts/conformance.sh [REPORT]       REPORT defaults to /tmp/conformance-auth-proxy.json
set -euo pipefail
cd "$(dirname "$0")/.."

report=${1:-/tmp/conformance-auth-proxy.json}
# The whole workspace's binaries: the features the test step built them with, so nothing is rebuilt.
cargo build --locked --workspace --bins
bin=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug

dir=$(mktemp -d /tmp/l402-conformance.XXXXXX)
pids=()
cleanup() {
    local rc=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$rc" != 0 ]; then tail -n 20 "$dir"/*.log >&2 || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT

# A port that was free a moment ago (the programs are told their ports on the command line).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Polls until $1 exists or 127.0.0.1:$2 accepts connections, for at most 60 s.
wait_for() {
    for _ in $(seq 600); do
        if [ -n "$1" ] && [ -e "$1" ]; then return 0; fi
        if [ -n "${2:-}" ] && (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "conformance: timed out waiting for ${1:-port $2}" >&2
    exit 1
}
start() { local name=$1; shift; "$bin/$name" "$@" >"$dir/$name.log" 2>&1 & pids+=($!); }

client=$(free_port) proxy_lnd=$(free_port) server_lnd=$(free_port) swap=$(free_port) proxy=$(free_port)
start mock-lnd --datadir "$dir/lnd" --network regtest \
    --node "client=127.0.0.1:$client" --node "proxy=127.0.0.1:$proxy_lnd" --node "server=127.0.0.1:$server_lnd"
for node in client proxy server; do wait_for "$dir/lnd/$node/admin.macaroon"; done
start swap-server --listen "127.0.0.1:$swap" --db "sqlite://$dir/swaps.db" --lnd.host "127.0.0.1:$server_lnd" \
    --lnd.tlspath "$dir/lnd/server/tls.cert" --lnd.macaroonpath "$dir/lnd/server/admin.macaroon"
wait_for "" "$swap"
cat >"$dir/auth-proxy.yaml" <<EOF
listenaddr: "127.0.0.1:$proxy"
basedir: "$dir/auth-proxy"
dbbackend: sqlite
sqlite:
  dbfile: "$dir/auth-proxy/auth-proxy.db"
authenticator:
  network: regtest
  lndhost: "127.0.0.1:$proxy_lnd"
  tlspath: "$dir/lnd/proxy/tls.cert"
  macdir: "$dir/lnd/proxy"
services:
  - {name: loop, hostregexp: ".*", pathregexp: "^/looprpc.*$", address: "127.0.0.1:$swap", protocol: http, price: 100, timeout: 86400}
  - {name: loophttp, hostregexp: ".*", pathregexp: "^/v1/loop/.*$", address: "127.0.0.1:$swap", protocol: http, price: 100, timeout: 86400}
EOF
start auth-proxy --configfile "$dir/auth-proxy.yaml"
wait_for "" "$proxy"

rc=0
"$bin/l402-conformance" server --json \
    --url "https://127.0.0.1:$proxy/v1/loop/out/terms" \
    --grpc "127.0.0.1:$proxy" --grpc-method /looprpc.SwapServer/LoopOutTerms \
    --tlspath "$dir/auth-proxy/tls.cert" \
    --lnd.host "127.0.0.1:$client" --lnd.tlspath "$dir/lnd/client/tls.cert" \
    --lnd.macaroonpath "$dir/lnd/client/admin.macaroon" >"$report" || rc=$?
python3 - "$report" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f'{report["target"]}: {report["passed"]} passed, {report["failed"]} failed, {report["skipped"]} skipped')
for case in report["cases"]:
    if case["verdict"] != "pass":
        print(f'  {case["level"]:6} {case["verdict"]:4} {case["id"]}: {case["detail"]}')
PY
exit "$rc"
