#!/usr/bin/env bash
# Sets up what the benchmarks need (Chromium, npm packages, the site with the mining
# worker) and prints every figure of one run: native proof of work on 1 and all cores,
# the browser miner's workers in headless Chromium (SIMD and scalar, 1 and 2 workers)
# against hash-wasm, chain verification, votes per second over HTTP, and the validator's
# copy of a 100,000-vote chain in Chromium (cold and warm visits), and the secret ballot in
# Chromium (sealing a 10-candidate ballot, checking a 1,000-ballot block), and the server's
# memory and pages with 100,000 and 1,000,000 votes on the chain. Votes per second and the
# scale figures are measured on SQLite and on PostgreSQL (a private cluster) in the same
# run. BENCH_ONLY=copy (or pow, verify, http, ballots, decrypt, ballot, scale) runs one
# part; BENCH_SCALE_VOTES=100000 limits the scale part to that many votes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$HOME/.cargo/bin:$PATH"
scripts/build-workers.sh
cargo leptos build --split
if [ -z "${BENCH_ONLY:-}" ] || [ "${BENCH_ONLY}" = ballot ]; then
  echo "== the secret ballot in Chromium (end2end/bench/browser-ballot.mjs)"
  target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  BALLOTCHAIN_BIN="$target_dir/debug/ballotchain" LEPTOS_SITE_ROOT="$PWD/target/site" \
    node end2end/bench/browser-ballot.mjs | grep -v '^#\|^TAP\|^1\.\.'
fi
if [ "${BENCH_ONLY:-}" != ballot ]; then
  case "${BENCH_ONLY:-}" in
    ""|http|scale)
      pg_dir=$(mktemp -d /tmp/ballotchain-pg-XXXXXX)
      pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      trap 'scripts/pg-cluster.sh stop "$pg_dir" || true; rm -rf "$pg_dir"' EXIT
      BENCH_POSTGRES=$(scripts/pg-cluster.sh start "$pg_dir" "$pg_port")
      export BENCH_POSTGRES
      ;;
  esac
  cargo bench -p server --features bench --bench throughput
fi
