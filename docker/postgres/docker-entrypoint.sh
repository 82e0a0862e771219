#!/usr/bin/env bash
# Entry point of docker/postgres: initialise the cluster on first start, then run the server.
#
# A subset of the official image's entry point, same interface:
#   POSTGRES_PASSWORD           password of POSTGRES_USER (required unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_USER               superuser name (default postgres)
#   POSTGRES_DB                 database created at init (default: POSTGRES_USER)
#   POSTGRES_HOST_AUTH_METHOD   pg_hba method for TCP clients (default scram-sha-256)
#   /docker-entrypoint-initdb.d/*.sql and *.sh run once, at init
# Arguments starting with '-' are passed to the server (`-c fsync=off`).
set -euo pipefail

if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" != postgres ]; then
    exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
    echo "docker-entrypoint: run this image as the postgres user (the image's default)" >&2
    exit 1
fi

user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

init_cluster() {
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
        echo "docker-entrypoint: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)" >&2
        exit 1
    fi
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host="$auth" -D "$PGDATA"
    rm -f "$pwfile"
    {
        echo "listen_addresses = '*'"
        echo "unix_socket_directories = '/var/run/postgresql'"
    } >>"$PGDATA/postgresql.conf"
    echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"

    # A temporary server on the Unix socket only, to create the database and run the init scripts.
    # Without -l, pg_ctl sends the server's log to stdout: that is where the official image's
    # first "ready to accept connections" appears too.
    local server_opts="-c listen_addresses=''"
    if [ $# -gt 1 ]; then
        server_opts+=" $(printf '%q ' "${@:2}")"
    fi
    pg_ctl -D "$PGDATA" -o "$server_opts" -w start
    local psql=(psql -v ON_ERROR_STOP=1 --username "$user" --no-password --no-psqlrc)
    if [ "$db" != postgres ]; then
        "${psql[@]}" --dbname postgres --set db="$db" <<<'CREATE DATABASE :"db";'
    fi
    local f
    shopt -s nullglob
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
        *.sh)
            echo "docker-entrypoint: running $f"
            # shellcheck disable=SC1090 # the image user's own scripts
            . "$f"
            ;;
        *.sql) echo "docker-entrypoint: running $f"; "${psql[@]}" --dbname "$db" -f "$f" ;;
        *) echo "docker-entrypoint: ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo "docker-entrypoint: PostgreSQL init process complete; ready for start up."
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    init_cluster "$@"
fi

exec "$@"
