#!/usr/bin/env bash
# Entrypoint of the PostgreSQL image docker/build-local.sh makes: the official postgres image's
# first-start contract. An empty PGDATA is initialised with the superuser POSTGRES_USER (default
# postgres), its password POSTGRES_PASSWORD (required) and the database POSTGRES_DB (default:
# the user's name); local socket connections are trusted, network ones need the password. A
# PGDATA that holds a cluster is used as it is (the variables no longer change it).
set -euo pipefail

data="${PGDATA:-/var/lib/postgresql/data}"
if [[ "${1:-}" != "postgres" ]]; then
  exec "$@"
fi
if [[ "$(id -u)" == "0" ]]; then
  install -d -o postgres -g postgres -m 0700 "$data"
  chown postgres:postgres "$data"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ! -s "$data/PG_VERSION" ]]; then
  if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
    echo "octsearch-postgres: the database is not initialised and POSTGRES_PASSWORD is empty; set it in docker/.env" >&2
    exit 1
  fi
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  initdb --pgdata="$data" --username="$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  printf "listen_addresses = '*'\n" >>"$data/postgresql.conf"
  printf 'host all all all scram-sha-256\n' >>"$data/pg_hba.conf"
  if [[ "$db" != "postgres" ]]; then
    pg_ctl --pgdata="$data" --options="-c listen_addresses=''" --wait --silent start
    createdb --username="$user" "$db"
    pg_ctl --pgdata="$data" --mode=fast --wait --silent stop
  fi
  echo "octsearch-postgres: initialised $data (user $user, database $db)"
fi
exec "$@" -D "$data"
