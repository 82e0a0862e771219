#!/usr/bin/env bash
# loopd as the client under `l402-conformance client`: one loopd per run, with the case's test server
# as its swap server (h2c, `--server.notls`) and the kit's payer node as its lnd; then `loop terms`,
# whose calls to the swap server go through loopd's L402 interceptor (gRPC binding: the challenge in
# the response metadata, the token as `macaroon` metadata). loopd keeps its token in
# $L402_TOKEN_DIR, so the reuse case's second run finds it.
#
#   l402-conformance client -- l402-conformance/clients/loopd.sh
#
# LOOPD and LOOP name the binaries (default: loopd and loop on PATH).
set -euo pipefail
loopd=${LOOPD:-loopd}
loop=${LOOP:-loop}
server=${L402_URL#*://}
server=${server%%/*}
rpc_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
loopdir=$L402_TOKEN_DIR/loop

"$loopd" --network "$LND_NETWORK" --loopdir "$loopdir" --rpclisten "127.0.0.1:$rpc_port" \
    --server.host "$server" --server.notls \
    --lnd.host "$LND_GRPC_HOST" --lnd.tlspath "$LND_TLS_CERT_PATH" --lnd.macaroonpath "$LND_MACAROON_PATH" \
    --maxl402cost "$L402_MAX_PRICE_SAT" >>"$L402_TOKEN_DIR/loopd.log" 2>&1 &
loopd_pid=$!
trap 'kill "$loopd_pid" 2>/dev/null || true; wait "$loopd_pid" 2>/dev/null || true' EXIT

loop_cli() { "$loop" --network "$LND_NETWORK" --loopdir "$loopdir" --rpcserver "127.0.0.1:$rpc_port" "$@"; }
# loopd writes its TLS certificate and macaroon, then serves: poll getinfo (no swap-server call) for
# at most 30 s.
for _ in $(seq 300); do
    if loop_cli getinfo >/dev/null 2>&1; then break; fi
    if ! kill -0 "$loopd_pid" 2>/dev/null; then
        echo "loopd exited: $(tail -n 1 "$L402_TOKEN_DIR/loopd.log")" >&2
        exit 2
    fi
    sleep 0.1
done
loop_cli terms
