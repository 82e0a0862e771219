#!/usr/bin/env bash
# Seeds, on a Docker engine that cannot pull from an image registry, the public images this project's
# Dockerfiles and tests name, built from Debian's packages instead:
#
#   debian:bookworm-slim   a minimal Debian bookworm made by mmdebstrap and `docker import`ed
#   postgres:15            docker/postgres/Dockerfile: Debian's postgresql-15 on that base
#   postgres:11-alpine     the same image under the tag testcontainers-modules 0.15 uses by default
#                          (an alias; it is PostgreSQL 15 on Debian, see docker/README.md)
#
# An image that already exists (pulled for real, or seeded before) is left alone, so this is fast and
# idempotent; --force re-seeds. Seeded images carry the label org.l402-reference.seeded.
# Nothing here is needed on a machine that can pull: there `docker compose up --build` just works.
#
# Usage: docker/seed-images.sh [--force] [debian|postgres|all]   (default: all)
# Needs: root (mmdebstrap, apt-get), a Docker engine, Debian's package mirror.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
force=0
what=all
for arg in "$@"; do
    case "$arg" in
    --force) force=1 ;;
    debian | postgres | all) what=$arg ;;
    -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "seed-images: unknown argument $arg" >&2; exit 2 ;;
    esac
done

debian_image=debian:bookworm-slim
postgres_image=postgres:15
postgres_aliases=(postgres:11-alpine)
seed_label=org.l402-reference.seeded

log() { printf 'seed-images: %s\n' "$*" >&2; }

have_image() { [ "$force" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

seed_debian() {
    if have_image "$debian_image"; then
        log "$debian_image present"
        return
    fi
    if ! command -v mmdebstrap >/dev/null; then
        log "installing mmdebstrap from Debian's packages"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq mmdebstrap >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq mmdebstrap >/dev/null; }
    fi
    local tmp
    tmp=$(mktemp -d /tmp/seed-debian.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    log "building $debian_image with mmdebstrap (about a minute)"
    # minbase = Essential + apt; docs, man pages and translations are left out as in Debian's slim images.
    mmdebstrap --quiet --variant=minbase --mode=root \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        bookworm "$tmp/rootfs.tar" http://deb.debian.org/debian
    docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --change "LABEL $seed_label=\"mmdebstrap --variant=minbase bookworm (docker/seed-images.sh)\"" \
        --message "seeded by docker/seed-images.sh" \
        "$tmp/rootfs.tar" "$debian_image" >/dev/null
    log "$debian_image seeded"
}

seed_postgres() {
    if have_image "$postgres_image"; then
        log "$postgres_image present"
    else
        seed_debian
        log "building $postgres_image from docker/postgres (Debian's postgresql-15)"
        docker build --quiet --label "$seed_label=docker/postgres/Dockerfile (docker/seed-images.sh)" \
            -t "$postgres_image" "$here/postgres" >/dev/null
        log "$postgres_image seeded"
    fi
    local alias
    for alias in "${postgres_aliases[@]}"; do
        if [ "$force" = 1 ] || ! docker image inspect "$alias" >/dev/null 2>&1; then
            docker tag "$postgres_image" "$alias"
            log "$alias tagged as an alias of $postgres_image"
        fi
    done
}

# Several callers (the compose test, PostgreSQL tests) may seed at once: one at a time.
exec 9>"${TMPDIR:-/tmp}/l402-seed-images.lock"
flock 9

case "$what" in
debian) seed_debian ;;
postgres) seed_postgres ;;
all) seed_debian; seed_postgres ;;
esac
