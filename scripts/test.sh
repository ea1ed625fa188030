#!/usr/bin/env bash
# Sets everything up and runs every test: unit and property tests, HTTP integration tests
# against the real binary, the ledger's wasm32 build, and the browser tests in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$HOME/.cargo/bin:$PATH"

echo "== web worker bundles (wasm: miner SIMD and scalar; checker, signatures, keys, codes, ballot)"
scripts/build-workers.sh
echo "== site (server binary + hydrated frontend), debug profile"
cargo leptos build --split
echo "== ledger, wire and keyfile build for wasm32"
cargo build -p ledger -p wire -p keyfile --target wasm32-unknown-unknown
echo "== unit, property and HTTP integration tests"
cargo test --workspace --exclude frontend
echo "== browser tests (Debian Chromium)"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BALLOTCHAIN_BIN="$target_dir/debug/ballotchain" LEPTOS_SITE_ROOT="$PWD/target/site" \
  node --test end2end/tests/
