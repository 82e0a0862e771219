#!/usr/bin/env bash
# Runs the conformance kit's binary as real processes:
# - `server` mode against our auth-proxy, over HTTP and gRPC: mock-lnd (nodes client, proxy, server),
#   swap-server behind auth-proxy (TLS, SQLite), the kit paying through the client node;
# - `client` mode against our clients (`l402 get`, and loopd through l402-conformance/clients/loopd.sh)
#   and against independent L402 clients from PyPI (l402-conformance/clients/python.py, pinned in
#   requirements-python.txt, installed into a virtualenv under the target directory);
# - `matrix` over the reports, compared with the compatibility matrix in l402-conformance/README.md.
# Every MUST case of ours must pass; the independent implementations are reported, not required to.
# The JSON reports and the matrix are kept in the reports directory.
#
# Usage: scripts/conformance.sh [--update-readme]   (writes the matrix into the README instead of
#        comparing).  CONFORMANCE_REPORTS: the reports directory, default <target>/conformance.
set -euo pipefail
cd "$(dirname "$0")/.."

update_readme=false
if [ "${1:-}" = --update-readme ]; then update_readme=true; fi
# The whole workspace's binaries: the features the test step built them with, so nothing is rebuilt.
cargo build --locked --workspace --bins
target=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
bin=$target/debug
reports=${CONFORMANCE_REPORTS:-$target/conformance}
mkdir -p "$reports"

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

# Prints a report's totals and every case that did not pass.
summarize() {
    python3 - "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
print(f'{report["target"]}: {report["passed"]} passed, {report["failed"]} failed, {report["skipped"]} skipped')
for case in report["cases"]:
    if case["verdict"] != "pass":
        print(f'  {case["level"]:6} {case["verdict"]:4} {case["id"]}: {case["detail"][:300]}')
PY
}
rc=0
# Runs the kit with "$@" into $reports/$1.json; a MUST failure fails the script when $2 is "ours".
kit() {
    local name=$1 whose=$2 status=0
    shift 2
    "$bin/l402-conformance" "$@" >"$reports/$name.json" || status=$?
    summarize "$reports/$name.json"
    if [ "$status" = 2 ] || { [ "$status" != 0 ] && [ "$whose" = ours ]; }; then rc=1; fi
}

kit auth-proxy ours server --json \
    --url "https://127.0.0.1:$proxy/v1/loop/out/terms" \
    --grpc "127.0.0.1:$proxy" --grpc-method /looprpc.SwapServer/LoopOutTerms \
    --tlspath "$dir/auth-proxy/tls.cert" \
    --lnd.host "127.0.0.1:$client" --lnd.tlspath "$dir/lnd/client/tls.cert" \
    --lnd.macaroonpath "$dir/lnd/client/admin.macaroon"

kit l402-get ours client --json -- "$bin/l402" get
LOOPD=$bin/loopd LOOP=$bin/loop kit loopd ours client --json -- l402-conformance/clients/loopd.sh

venv=$target/conformance-venv
if [ ! -x "$venv/bin/python3" ]; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install --quiet --disable-pip-version-check --only-binary :all: \
    -r l402-conformance/clients/requirements-python.txt
for library in l402sdk l402-requests; do
    kit "$library" theirs client --json -- "$venv/bin/python3" l402-conformance/clients/python.py "$library"
done

version() { grep -i "^$1==" l402-conformance/clients/requirements-python.txt | cut -d= -f3; }
{
    echo '### Servers'
    echo
    "$bin/l402-conformance" matrix "auth-proxy (this repository)=$reports/auth-proxy.json"
    echo
    echo '### Clients'
    echo
    "$bin/l402-conformance" matrix \
        "l402 get (this repository)=$reports/l402-get.json" \
        "loopd (this repository)=$reports/loopd.json" \
        "l402sdk $(version l402sdk) (PyPI, Lightning Labs)=$reports/l402sdk.json" \
        "l402-requests $(version l402-requests) (PyPI)=$reports/l402-requests.json"
} >"$reports/matrix.md"
cat "$reports/matrix.md"

readme=l402-conformance/README.md
python3 - "$readme" "$reports/matrix.md" "$update_readme" <<'PY' || rc=1
import sys
readme_path, matrix_path, update = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
begin, end = "<!-- matrix: begin -->\n", "<!-- matrix: end -->\n"
readme, matrix = open(readme_path).read(), open(matrix_path).read()
head, rest = readme.split(begin, 1)
committed, tail = rest.split(end, 1)
if committed == matrix:
    print("the README's compatibility matrix is current")
elif update:
    open(readme_path, "w").write(head + begin + matrix + end + tail)
    print("wrote the compatibility matrix into the README")
else:
    print("the README's compatibility matrix is not what the kit produced: "
          "run scripts/conformance.sh --update-readme", file=sys.stderr)
    sys.exit(1)
PY
exit "$rc"
