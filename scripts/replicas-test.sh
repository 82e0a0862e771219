#!/usr/bin/env bash
# Two auth-proxy replicas on one PostgreSQL (docker-compose.yml's `postgres` profile), under faults.
#
# Replica A = auth-proxy-1, replica B = auth-proxy-2, each in its own container with its own address; PostgreSQL
# is on the network `database`, which only the replicas join; the client container (`replicas-client` of
# docker/replicas-test.yml, curl) is on the default network with the replicas, loopd and mock-lnd. Tokens are
# bought the way users buy them: `loop fetchl402` through a loopd (402 from the replica, invoice paid through
# mock-lnd's `client` node), then read back with `loop listauth` (macaroon + preimage) and sent by curl as
# `Authorization: L402 <macaroon>:<preimage>`. The checks:
#
#  (a) a token minted on A is accepted by B;
#  (b) revoked on B (B's admin API) -> A refuses it within REPLICAS_TEST_REVOKE_S (2 s);
#  (c) B disconnected from `database` (docker network disconnect; the client still reaches B): B keeps admitting
#      a cached valid token, answers a request without a token 503 within REPLICAS_TEST_503_S (5 s: the store's
#      3 s database acquire timeout, plus the rest of the request); a token
#      revoked on A during the cut (B misses the NOTIFY) is refused by B within REPLICAS_TEST_CATCHUP_S (5 s)
#      of B being reconnected (B's sessions are ended on the PostgreSQL side during the cut, so the NOTIFY is
#      really lost, not just delayed); B then admits the valid token and challenges again;
#  (d) A killed with SIGKILL while a bounded load (REPLICAS_TEST_LOAD_S seconds, 2 curl workers per replica)
#      runs against both (once each replica has answered 5 calls): every call to B during the load is served,
#      and the token still works on B.
#
# Every wait polls with a deadline; the containers, networks and volumes are removed on exit (all logs are
# printed first on failure); the exit status is non-zero with a message naming the failed check.
#
# Usage: scripts/replicas-test.sh [BIN_DIR]     BIN_DIR defaults to $L402_DOCKER_BIN_DIR or <cargo target dir>/debug
# Environment:
#   SKIP_DOCKER_TESTS=1          skip (machines without Docker)
#   DOCKER_TEST_CARGO_BUILD=1    as in scripts/docker-test.sh (cargo build first when BIN_DIR is this workspace's)
#   DOCKER_TEST_KEEP_IMAGE=1     keep the app image (loop-l402:replicas-test-<pid>) afterwards
#   REPLICAS_TEST_UP_TIMEOUT=180 seconds allowed for the stack to come up healthy
#   REPLICAS_TEST_REVOKE_S=2 REPLICAS_TEST_503_S=5 REPLICAS_TEST_CATCHUP_S=5 REPLICAS_TEST_LOAD_S=8
# The curl image (loop-l402-curl:bookworm, Debian's curl on debian:bookworm-slim) is built once and kept, like
# the seeded base images.
set -euo pipefail

if [ "${SKIP_DOCKER_TESTS:-0}" = 1 ]; then
    echo "replicas-test: skipped (SKIP_DOCKER_TESTS=1)"
    exit 0
fi

tag=replicas-test
# shellcheck source=lib/docker-image.sh
. "$(dirname "$0")/lib/docker-image.sh"

up_timeout=${REPLICAS_TEST_UP_TIMEOUT:-180}
revoke_s=${REPLICAS_TEST_REVOKE_S:-2}
# The store gives up on the database after its 3 s acquire timeout (auth-proxy/src/store/mod.rs,
# DATABASE_TIMEOUT): the 503 comes within 5 s of asking.
unavailable_s=${REPLICAS_TEST_503_S:-5}
catchup_s=${REPLICAS_TEST_CATCHUP_S:-5}
load_s=${REPLICAS_TEST_LOAD_S:-8}
image=loop-l402:replicas-test-$$
client_image=loop-l402-curl:bookworm
project=l402-replicas-test-$$
# Compose v1 names networks <project>_<name> (v2 as well, with the project name lower-cased as here).
db_network=${project}_database
started=$(date +%s)

resolve_binaries "${1:-}"

dc() { "${compose[@]}" -p "$project" -f docker-compose.yml -f docker/replicas-test.yml --profile postgres "$@"; }

ctx=$(mktemp -d /tmp/l402-replicas-test.XXXXXX)
failed_check=
check=setup
cleanup() {
    local rc=$?
    if [ "$rc" != 0 ]; then
        log "FAILED (exit $rc${failed_check:+, check: $failed_check}): containers and logs"
        dc ps -a || true
        dc logs --no-color --timestamps || true
    fi
    log "tear down"
    dc down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
    if [ "${DOCKER_TEST_KEEP_IMAGE:-0}" != 1 ]; then
        docker image rm "$image" >/dev/null 2>&1 || true
    fi
    rm -rf "$ctx"
    if [ "$rc" = 0 ]; then
        log "all checks passed in $(($(date +%s) - started)) s"
    else
        printf '%s: FAILED%s\n' "$tag" "${failed_check:+: $failed_check}" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT

# fail MSG: the current check failed.
fail() { failed_check="$check: $*"; die "$failed_check"; }
# check NAME: announces a check (printed, and named in the failure message).
check() { check=$*; printf -- '--- check: %s\n' "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- images ----
build_app_image "$image" "$ctx" all
if ! docker image inspect "$client_image" >/dev/null 2>&1; then
    log "build $client_image (Debian's curl on debian:bookworm-slim; kept for later runs)"
    docker build --quiet --label "org.l402-reference.seeded=curl for scripts/replicas-test.sh" -t "$client_image" - >/dev/null <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN set -eux; export DEBIAN_FRONTEND=noninteractive; apt-get update; \
    apt-get install -y --no-install-recommends curl; rm -rf /var/lib/apt/lists/*; curl --version
DOCKERFILE
fi
export L402_IMAGE=$image L402_CLIENT_IMAGE=$client_image

# ---- the stack ----
log "compose up (postgres profile + docker/replicas-test.yml), timeout ${up_timeout}s"
timeout --kill-after=10 "$up_timeout" "${compose[@]}" -p "$project" -f docker-compose.yml -f docker/replicas-test.yml \
    --profile postgres up -d --no-build --no-color \
    auth-proxy-1 auth-proxy-2 loopd-1 loopd-2 replicas-client ||
    { check="stack up"; fail "compose up failed or timed out"; }

cid() { dc ps -q "$1"; }
A=$(cid auth-proxy-1)
B=$(cid auth-proxy-2)
L1=$(cid loopd-1)
L2=$(cid loopd-2)
C=$(cid replicas-client)
P=$(cid postgres)
for id in "$A" "$B" "$L1" "$L2" "$C" "$P"; do [ -n "$id" ] || { check="stack up"; fail "a container is missing"; }; done

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s until it succeeds; fails the check after
# SECONDS. Sets waited_ms.
wait_for() {
    local limit_ms=$(($1 * 1000)) what=$2 start
    shift 2
    start=$(now_ms)
    until "$@" >/dev/null 2>&1; do
        if [ $(($(now_ms) - start)) -ge "$limit_ms" ]; then
            fail "$what: not within ${limit_ms} ms"
        fi
        sleep 0.1
    done
    waited_ms=$(($(now_ms) - start))
}

healthy() { [ "$(docker inspect -f '{{.State.Health.Status}}' "$1")" = healthy ]; }
client() { docker exec -i "$C" "$@"; }

check "stack healthy: loopd-1, loopd-2, both replicas' admin macaroons"
wait_for 60 "loopd-1 healthy" healthy "$L1"
wait_for 60 "loopd-2 healthy" healthy "$L2"
wait_for 30 "A's admin macaroon" client test -s /auth-proxy-1/admin.macaroon
wait_for 30 "B's admin macaroon" client test -s /auth-proxy-2/admin.macaroon
ok "up in $(($(date +%s) - started)) s since the start of the test"

# ---- tokens ----
# A third loopd (its own datadir, inside loopd-1's container, hence in front of A) buys a third token.
docker exec -d "$L1" loopd --network=regtest --loopdir=/tmp/loopd-3 --rpclisten=127.0.0.1:11013 \
    --server.tlspath=/auth-proxy/tls.cert --lnd.host=mock-lnd:10009 --lnd.tlspath=/lnd/client/tls.cert \
    --lnd.macaroonpath=/lnd/client/admin.macaroon

# buy VAR CONTAINER RPC LOOPDIR REPLICA LABEL: `loop fetchl402` (a 402 from the replica, paid through
# mock-lnd), then `loop listauth`, the CLI finding loopd's tls.cert and loop.macaroon under LOOPDIR as Loop's
# does; sets VAR_id (token id) and VAR_auth (the Authorization header value), and checks that the replica's
# container REPLICA logged the challenge that minted this token.
buy() {
    local var=$1 container=$2 rpc=$3 loopdir=$4 replica=$5 label=$6 json fields
    local cli=(loop -n regtest --loopdir "$loopdir" --rpcserver "$rpc")
    check "token $var: loop fetchl402 through $label"
    timeout 30 docker exec "$container" "${cli[@]}" fetchl402 >/dev/null || fail "loop fetchl402 failed"
    json=$(timeout 10 docker exec "$container" "${cli[@]}" listauth) || fail "loop listauth failed"
    fields=$(python3 -c '
import base64, json, sys
tokens = json.loads(sys.argv[1])
tokens = tokens["tokens"] if isinstance(tokens, dict) else tokens
assert len(tokens) == 1, tokens
t = tokens[0]
assert t["payment_preimage"].strip("0"), "token still pending"
print(t["id"], "L402 " + base64.b64encode(bytes.fromhex(t["base_macaroon"])).decode() + ":" + t["payment_preimage"])
' "$json") || fail "loop listauth did not show one paid token: $json"
    printf -v "${var}_id" '%s' "${fields%% *}"
    printf -v "${var}_auth" '%s' "${fields#* }"
    grep -qE "decision=\"challenged\".* token_id=\"${fields%% *}\"" <<<"$(docker logs "$replica" 2>&1)" ||
        fail "the replica's log shows no challenge minting token ${fields%% *}"
    ok "token ${fields:0:16}… minted by the replica's challenge and paid (loop listauth)"
}

wait_for 30 "the third loopd (in loopd-1's container) listening" docker exec "$L1" tcp-check 127.0.0.1:11013
buy T1 "$L1" localhost:11010 /data "$A" "loopd-1 -> replica A"
buy T2 "$L2" localhost:11010 /data "$B" "loopd-2 -> replica B"
buy T3 "$L1" 127.0.0.1:11013 /tmp/loopd-3 "$A" "a third loopd -> replica A"

# ---- requests ----
# call REPLICA [AUTH] [MAX_TIME]: one gRPC call, looprpc.SwapServer/LoopOutTerms (an empty request message),
# over HTTP/2 through auth-proxy-REPLICA (1 = A, 2 = B); prints "VERDICT TIME_MS DETAIL": VERDICT is `served`
# (grpc-status 0: served and answered by swap-server), `challenged` (grpc-status 13 with a WWW-Authenticate
# challenge), `unavailable` (grpc-status 14), `none` (no answer), or `other:<status>`; DETAIL says what curl
# saw (HTTP status, curl's exit code and error), so that an unexpected verdict explains itself.
call() {
    local replica=$1 auth=${2:-} max=${3:-5}
    printf '\0\0\0\0\0' | client curl -sk --http2 -o /dev/null -D - --max-time "$max" \
        -w 'time_total: %{time_total}\nexitcode: %{exitcode}\nerrormsg: %{errormsg}\nhttp_code: %{http_code}\n' \
        -X POST -H 'content-type: application/grpc' -H 'te: trailers' ${auth:+-H "Authorization: $auth"} \
        --data-binary @- "https://auth-proxy-$replica:8081/looprpc.SwapServer/LoopOutTerms" 2>/dev/null |
        python3 -c '
import sys
h = {}
for line in sys.stdin:
    k, _, v = line.partition(":")
    h.setdefault(k.strip().lower(), v.strip())
ms = int(float(h.get("time_total", "0")) * 1000)
s = h.get("grpc-status")
verdict = {None: "none", "0": "served", "14": "unavailable"}.get(s) or (
    "challenged" if s == "13" and "www-authenticate" in h else "other:" + s)
detail = "HTTP %s, curl exit %s%s" % (h.get("http_code", "?"), h.get("exitcode", "?"),
    ": " + h["errormsg"] if h.get("errormsg") else "")
print(verdict, ms, detail)'
}
# http1 REPLICA [AUTH] [MAX_TIME]: the same path as a plain HTTP/1.1 POST; prints "HTTP_CODE TIME_MS" (000: none).
http1() {
    local replica=$1 auth=${2:-} max=${3:-5} out
    out=$(client curl -sk -o /dev/null -w '%{http_code} %{time_total}' --max-time "$max" -X POST \
        ${auth:+-H "Authorization: $auth"} "https://auth-proxy-$replica:8081/looprpc.SwapServer/LoopOutTerms") || true
    python3 -c 'import sys; code, t = sys.argv[1].split(); print(code, int(float(t) * 1000))' "${out:-000 0}"
}
name() { [ "$1" = 1 ] && echo A || echo B; }
# auth TOKEN: the Authorization value of token T1, T2 or T3 ("" for none).
auth() { [ -z "$1" ] || eval "printf '%s' \"\$${1}_auth\""; }
# expect REPLICA TOKEN VERDICT: a call with TOKEN (T1, T2, T3 or "" for none) gets VERDICT now.
expect() {
    local replica=$1 token=$2 want=$3 got ms detail
    read -r got ms detail < <(call "$replica" "$(auth "$token")")
    [ "$got" = "$want" ] ||
        fail "replica $(name "$replica") answered ${token:-no token} with '$got' after $ms ms ($detail), expected '$want'"
    ok "replica $(name "$replica"), ${token:-no token}: $got in $ms ms"
}
# refused REPLICA TOKEN: the replica answers TOKEN with a fresh challenge.
refused() { [ "$(call "$1" "$(auth "$2")" | cut -d' ' -f1)" = challenged ]; }

# admin REPLICA TOKEN_ID: revokes the token through the replica's admin API.
admin_revoke() {
    local replica=$1 id=$2 out
    out=$(client bash -c 'curl -sS --max-time 5 -X POST -H "macaroon: $(od -An -v -tx1 "$1" | tr -d " \n")" "$2"' _ \
        "/auth-proxy-$replica/admin.macaroon" "http://auth-proxy-$replica:8082/v1/tokens/$id/revoke") ||
        fail "admin API of replica $(name "$replica") unreachable"
    grep -q '"revoked":true' <<<"$out" || fail "replica $(name "$replica") did not revoke: $out"
    ok "revoked ${id:0:16}… through replica $(name "$replica")'s admin API: $out"
}

check "baseline: a call without a token is challenged by both replicas"
expect 1 "" challenged
expect 2 "" challenged

check "(a) token T1 minted on A is accepted by A and by B"
expect 1 T1 served
expect 2 T1 served
# B caches T2 (minted there) and T3 (looked up now) before the cut below.
expect 2 T2 served
expect 2 T3 served

check "(b) T1 revoked on B -> B refuses it at once, A within ${revoke_s} s"
admin_revoke 2 "$T1_id"
expect 2 T1 challenged
wait_for "$revoke_s" "A still admits T1 revoked on B" refused 1 T1
ok "A refused T1 ${waited_ms} ms after the revocation returned"

check "(c) B cut off from PostgreSQL (docker network disconnect $db_network)"
ip_before=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$db_network\").IPAddress}}" "$B")
cut_at=$(date -u +%Y-%m-%dT%H:%M:%S)
timeout 30 docker network disconnect "$db_network" "$B" || fail "docker network disconnect failed"
ok "B disconnected from the database network; still on the default network with the client"
check "(c) B keeps admitting the cached valid token T2 during the cut"
expect 2 T2 served
check "(c) B answers a request that needs a new challenge 503 within ${unavailable_s} s during the cut (HTTP/1.1)"
read -r code ms < <(http1 2 "" $((unavailable_s + 10)))
[ "$code" = 503 ] || fail "B answered $code after $ms ms, expected 503"
[ "$ms" -le $((unavailable_s * 1000)) ] || fail "B answered 503 after $ms ms, more than ${unavailable_s} s"
ok "B: HTTP 503 in $ms ms"
check "(c) B's sessions ended on the PostgreSQL side during the cut, so that B's listener misses the NOTIFY"
# Without this, B comes back with the same address and its old session, queued NOTIFY included, simply resumes
# (TCP retransmits it): the NOTIFY would be late, not lost. Ending the sessions first makes it lost for sure.
ended=$(timeout 10 docker exec -e PGPASSWORD=auth_proxy "$P" psql -h localhost -U auth_proxy -d auth_proxy -tAc \
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE client_addr = '$ip_before'") ||
    fail "psql in the postgres container failed"
[ "$ended" -ge 1 ] || fail "no session of B ($ip_before) found on PostgreSQL (the listener's included)"
ok "$ended session(s) of B ($ip_before) ended by pg_terminate_backend"
check "(c) T3 revoked on A during the cut: A refuses it at once"
admin_revoke 1 "$T3_id"
expect 1 T3 challenged
read -r code _ < <(call 2 "$T3_auth")
ok "(for the record) B, still cut off, answers T3 with $code"
check "(c) B still admits T2 after ~5 s of the cut"
expect 2 T2 served
check "(c) B reconnected: refuses T3 (revoked during the cut, NOTIFY lost) within ${catchup_s} s"
timeout 30 docker network connect --alias auth-proxy-2 "$db_network" "$B" || fail "docker network connect failed"
reconnected=$(now_ms)
ip_after=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$db_network\").IPAddress}}" "$B")
ok "B reconnected to the database network (address there: $ip_before before the cut, $ip_after now)"
wait_for "$catchup_s" "B still admits T3, revoked on A during the cut" refused 2 T3
ok "B refused T3 $(($(now_ms) - reconnected)) ms after the reconnect"
# How B learnt of it: its revocation listener's warnings since the cut (it should have seen its session end and
# flushed its cache on reconnecting).
listener=$(docker logs --since "$cut_at" "$B" 2>&1 | grep -E 'revocation listener|root-key cache' || true)
ok "(for the record) B's revocation listener since the cut: ${listener:-no warning}"
check "(c) after the reconnect B serves T2 and challenges a call without a token again (not 503)"
expect 2 T2 served
wait_for 10 "B challenging a call without a token again" refused 2 ""
ok "B challenged again $(($(now_ms) - reconnected)) ms after the reconnect"

check "(d) A killed with SIGKILL under load (${load_s} s, 2 workers per replica, token T2)"
# Each worker makes the gRPC call of call() in a loop until the load's end, and writes
# "<unix ms> <replica> <grpc-status>" per call (`none`: no answer) into /tmp/load-<replica>-<worker>.log.
client bash -c '
    end=$(( $(date +%s) + $1 )); auth=$2
    work() { while [ "$(date +%s)" -lt "$end" ]; do
        status=$(printf "\0\0\0\0\0" | curl -sk --http2 -o /dev/null -D - --max-time 2 -X POST \
            -H "content-type: application/grpc" -H "te: trailers" -H "Authorization: $auth" --data-binary @- \
            "https://auth-proxy-$1:8081/looprpc.SwapServer/LoopOutTerms" 2>/dev/null |
            tr -d "\r" | sed -n "s/^grpc-status: *//Ip" | head -1)
        echo "$(( $(date +%s%N) / 1000000 )) $1 ${status:-none}"
    done > "/tmp/load-$1-$2.log"; }
    rm -f /tmp/load-*.log
    for r in 1 2; do for w in 1 2; do work "$r" "$w" & done; done
    wait' _ "$load_s" "$T2_auth" &
load_pid=$!
# Kill A once the load is well under way on both: at least 5 calls answered by each.
wait_for 10 "the load reaching both replicas (5 calls each)" client bash -c \
    'for r in 1 2; do [ "$(cat /tmp/load-$r-*.log 2>/dev/null | wc -l)" -ge 5 ] || exit 1; done'
killed=$(now_ms)
timeout 30 docker kill -s KILL "$A" >/dev/null || fail "docker kill failed"
ok "A killed (SIGKILL) at $killed"
deadline=$(($(date +%s) + load_s + 15))
while kill -0 "$load_pid" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { kill "$load_pid" 2>/dev/null; fail "the load did not end in time"; }
    sleep 0.2
done
wait "$load_pid" || fail "the load generator failed"
summary=$(client bash -c 'cat /tmp/load-*.log' | python3 -c '
import sys
killed = int(sys.argv[1])
rows = [line.split() for line in sys.stdin if line.strip()]
b = [(int(t), c) for t, r, c in rows if r == "2"]
a_before = [c for t, r, c in rows if r == "1" and int(t) < killed]
a_after = [c for t, r, c in rows if r == "1" and int(t) >= killed]
b_after = [c for t, c in b if t >= killed]
bad = sorted({c for t, c in b if c != "0"})
print(len(b), len(b_after), len(a_before), sum(c == "0" for c in a_before),
      len(a_after), sum(c == "none" for c in a_after), ",".join(bad) or "-")
' "$killed")
read -r b_total b_after a_before a_before_ok a_after a_after_down b_bad <<<"$summary"
ok "B: $b_total calls, all served ($b_after after the kill); A: $a_before before the kill ($a_before_ok served), $a_after after ($a_after_down unanswered)"
[ "$b_bad" = - ] || fail "B answered some calls under load with grpc-status $b_bad (want 0 for all)"
[ "$b_after" -gt 0 ] || fail "no request reached B after the kill"
[ "$a_before_ok" -gt 0 ] || fail "no request was served by A before the kill"
check "(d) after the kill: the token still works on B, and B still mints challenges"
expect 2 T2 served
expect 2 "" challenged
