#!/usr/bin/env bash
# Sets everything up, builds the site and runs the server with a demo election on
# ./ballotchain.db (SQLite). Extra arguments go to `ballotchain serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
scripts/build-workers.sh
# The debug profile, as the tests build it: a first run takes minutes less, a machine that
# ran the tests has it built already, and the hashing, signatures and argon2 are optimised
# in it anyway (Cargo.toml). A deployment builds `--release` (Dockerfile).
cargo leptos build --split
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export LEPTOS_SITE_ROOT=target/site
exec "$target_dir/debug/ballotchain" serve --demo "$@"
