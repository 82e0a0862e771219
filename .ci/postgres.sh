#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 server for the tests and prints its URL.
#
# Usage: eval "$(.ci/postgres.sh start DIR)"   -> exports DATABASE_URL, PG_TEST_DIR
#        .ci/postgres.sh stop DIR
# PostgreSQL refuses to run as root, so the server runs as the `postgres` user.
set -euo pipefail

cmd=${1:?start|stop}
dir=${2:?data directory}

pg_bin() {
    # Debian installs the server binaries outside PATH.
    for candidate in "$(command -v "$1" 2>/dev/null)" /usr/lib/postgresql/*/bin/"$1"; do
        [ -x "$candidate" ] && { echo "$candidate"; return; }
    done
    echo "PostgreSQL binary $1 not found" >&2
    exit 1
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
    if ! pg_bin initdb >/dev/null 2>&1; then
        echo "installing PostgreSQL 15 from Debian's packages" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_postgres "$(pg_bin initdb)" -D "$dir/data" -A trust -U postgres >/dev/null
    as_postgres "$(pg_bin pg_ctl)" -D "$dir/data" -l "$dir/server.log" \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" -w start >&2
    echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    as_postgres "$(pg_bin pg_ctl)" -D "$dir/data" -m immediate stop >&2 || true
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
