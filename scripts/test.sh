#!/usr/bin/env bash
# Sets everything up and runs every test: unit and property tests, HTTP integration tests
# against the real binary (on SQLite, then on PostgreSQL), the ledger's wasm32 build, and
# the browser tests in Chromium; on PostgreSQL also three instances behind nginx
# (scripts/cluster.sh), and the container files are checked without a container engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$HOME/.cargo/bin:$PATH"

echo "== web worker bundles (wasm: miner SIMD and scalar; checker, signatures, keys, codes, ballot)"
scripts/build-workers.sh
echo "== site (server binary + hydrated frontend), debug profile"
cargo leptos build --split
echo "== container files: compose.yaml, nginx -t, the Dockerfile's COPY sources"
scripts/check-deploy.sh
echo "== ledger, wire and keyfile build for wasm32"
cargo build -p ledger -p wire -p keyfile --target wasm32-unknown-unknown
echo "== unit, property and HTTP integration tests (SQLite)"
cargo test --workspace --exclude frontend
echo "== engine and HTTP integration tests again, on PostgreSQL (a private cluster)"
pg_dir=$(mktemp -d /tmp/ballotchain-pg-XXXXXX)
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
trap 'scripts/pg-cluster.sh stop "$pg_dir" || true; rm -rf "$pg_dir"' EXIT
pg_url=$(scripts/pg-cluster.sh start "$pg_dir" "$pg_port")
# The same package selection as above, so nothing is rebuilt: the engine's flows and the
# HTTP tests read BALLOTCHAIN_TEST_POSTGRES; the other crates' tests do not touch a database.
# The tests of several instances on one database need PostgreSQL: ignored on the SQLite
# pass, included here.
BALLOTCHAIN_TEST_POSTGRES=$pg_url cargo test --workspace --exclude frontend --tests -- --include-ignored
scripts/pg-cluster.sh stop "$pg_dir"
trap - EXIT
rm -rf "$pg_dir"
echo "== browser tests (Debian Chromium)"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BALLOTCHAIN_BIN="$target_dir/debug/ballotchain" LEPTOS_SITE_ROOT="$PWD/target/site" \
  node --test end2end/tests/
