#!/usr/bin/env bash
# The topology of compose.yaml with local processes, where no container engine runs:
# PostgreSQL, three `ballotchain serve` instances on it and nginx in front of them, with
# the same deploy/nginx/nginx.conf. Everything listens on 127.0.0.1 only; nginx and
# PostgreSQL come from Debian's packages (scripts/setup.sh --test installs them). Run
# as root (nginx's master process opens its compiled-in paths; PostgreSQL then runs as
# the `postgres` user).
#
#   scripts/cluster.sh start DIR [--db URL] [--demo]   starts it all; prints nginx's URL
#   scripts/cluster.sh kill DIR N      SIGKILL to instance N (1 to 3): no shutdown code runs
#   scripts/cluster.sh restart DIR N   starts instance N again on its port
#   scripts/cluster.sh stop DIR        stops it all
#
# Without --db a private cluster is made in DIR/pg with a database `ballotchain`. With
# --demo the first instance seeds a demo election in the empty database before the others
# start. The binary is $BALLOTCHAIN_BIN, or target/release/ballotchain (build it and the
# site first: `cargo leptos build --release --split`), serving the
# site in $LEPTOS_SITE_ROOT (target/site). DIR/cluster.env says where everything is.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:?start, kill, restart or stop}
dir=${2:?the cluster directory}
instances=3
nginx=$(command -v nginx || echo /usr/sbin/nginx)

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until instance $1 says it listens (and so has applied the migrations).
wait_listening() {
  local log=$dir/app-$1.log
  for _ in $(seq 600); do
    if grep -q "^ballotchain listening on " "$log" 2>/dev/null; then return 0; fi
    if ! kill -0 "$(cat "$dir/app-$1.pid")" 2>/dev/null; then
      echo "instance $1 exited; its log:" >&2; tail -20 "$log" >&2; return 1
    fi
    sleep 0.1
  done
  echo "instance $1 did not listen within 60 s" >&2; return 1
}

start_app() {
  local n=$1; shift
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
  local port_var="APP${n}_PORT"
  mkdir -p "$dir/exports-$n"
  : > "$dir/app-$n.log"
  RUST_LOG=${RUST_LOG:-info} LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT:-$here/target/site} \
    setsid "$BALLOTCHAIN_BIN" serve --db "$DATABASE_URL" --addr "127.0.0.1:${!port_var}" \
    --exports "$dir/exports-$n" --public-url "$BASE" --trusted-proxy 127.0.0.1 "$@" \
    >> "$dir/app-$n.log" 2>&1 < /dev/null &
  echo $! > "$dir/app-$n.pid"
  wait_listening "$n"
}

case $cmd in
  start)
    shift 2
    db="" demo=()
    while [ $# -gt 0 ]; do
      case $1 in
        --db) db=${2:?--db takes a URL}; shift 2 ;;
        --demo) demo=(--demo --demo-codes "$dir/demo-codes.csv"); shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
      esac
    done
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    bin=${BALLOTCHAIN_BIN:-$here/target/release/ballotchain}
    [ -x "$bin" ] || { echo "no ballotchain binary at $bin: build it first" >&2; exit 1; }
    if [ -z "$db" ]; then
      server=$("$here/scripts/pg-cluster.sh" start "$dir/pg" "$(free_port)")
      psql "$server" -q -c "CREATE DATABASE ballotchain" 2>/dev/null || true
      db=${server%/*}/ballotchain
    fi
    nginx_port=$(free_port)
    {
      echo "BALLOTCHAIN_BIN=$bin"
      echo "DATABASE_URL=$db"
      echo "BASE=http://127.0.0.1:$nginx_port"
      echo "NGINX_PORT=$nginx_port"
      for n in $(seq $instances); do echo "APP${n}_PORT=$(free_port)"; done
    } > "$dir/cluster.env"
    # shellcheck source=/dev/null
    . "$dir/cluster.env"
    # The first instance applies the migrations (and seeds the demo) alone.
    start_app 1 "${demo[@]}"
    for n in $(seq 2 $instances); do start_app "$n"; done
    ln -sf "$here/deploy/nginx/nginx.conf" "$dir/nginx.conf"
    {
      echo "upstream ballotchain {"
      for n in $(seq $instances); do
        port_var="APP${n}_PORT"
        echo "    server 127.0.0.1:${!port_var} max_fails=1 fail_timeout=5s;"
      done
      echo "    keepalive 32;"
      echo "}"
    } > "$dir/upstream.conf"
    echo "listen 127.0.0.1:$NGINX_PORT;" > "$dir/listen.conf"
    "$nginx" -t -q -p "$dir" -c "$dir/nginx.conf" -g "pid $dir/nginx.pid;"
    setsid "$nginx" -p "$dir" -c "$dir/nginx.conf" -g "daemon off; pid $dir/nginx.pid;" \
      > "$dir/nginx.log" 2>&1 < /dev/null &
    for _ in $(seq 100); do
      if curl -fsS -o /dev/null "$BASE/api/elections" 2>/dev/null; then
        echo "$BASE"
        exit 0
      fi
      sleep 0.1
    done
    echo "nginx did not answer on $BASE; its log:" >&2; tail -20 "$dir/nginx.log" >&2
    exit 1
    ;;
  kill)
    n=${3:?the instance}
    kill -9 "$(cat "$dir/app-$n.pid")"
    ;;
  restart)
    n=${3:?the instance}
    start_app "$n"
    ;;
  stop)
    if [ -f "$dir/nginx.pid" ]; then kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true; fi
    for n in $(seq $instances); do
      if [ -f "$dir/app-$n.pid" ]; then kill "$(cat "$dir/app-$n.pid")" 2>/dev/null || true; fi
    done
    if [ -d "$dir/pg/data" ]; then "$here/scripts/pg-cluster.sh" stop "$dir/pg" || true; fi
    ;;
  *)
    echo "usage: $0 start DIR [--db URL] [--demo] | kill DIR N | restart DIR N | stop DIR" >&2
    exit 2
    ;;
esac
