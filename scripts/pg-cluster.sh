#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and benchmarks, owned by an unprivileged user and
# listening on 127.0.0.1 only (PostgreSQL from Debian's packages; scripts/setup.sh
# installs it when missing).
#
#   scripts/pg-cluster.sh start DIR PORT   creates the cluster in DIR if needed, starts it
#                                          and prints its URL
#   scripts/pg-cluster.sh stop DIR         stops it
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?the cluster directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/pg_ctl" ] || { echo "PostgreSQL is not installed (scripts/setup.sh --postgres installs it)" >&2; exit 1; }
# PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` user
# the Debian package creates.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
  start)
    port=${3:?the port}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 > "$dir/initdb.log"
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start > /dev/null
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
    ;;
esac
