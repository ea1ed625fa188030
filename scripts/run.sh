#!/usr/bin/env bash
# Sets everything up, builds the site and runs the server with a demo election on
# ./ballotchain.db (SQLite). Extra arguments go to `ballotchain serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
scripts/build-workers.sh
cargo leptos build --release --split
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export LEPTOS_SITE_ROOT=target/site
exec "$target_dir/release/ballotchain" serve --demo "$@"
