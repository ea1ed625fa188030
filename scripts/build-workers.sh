#!/usr/bin/env bash
# Builds the web workers' own wasm bundles, each loaded only by the page that needs it
# (cargo-leptos copies public/ into the site). Run before `cargo leptos build`; kept out of
# build.rs so it never contends for the target-dir lock.
#  - public/miner/: the mining worker, twice: with wasm SIMD (simd128) and a scalar
#    fallback; the loader public/miner/worker.js picks one by feature detection.
#  - public/workers/: the cryptography workers of crate `workers` (checker, signatures,
#    keys, codes, ballot); the loader public/workers/worker.js loads the one named in its query.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out=public/miner
mkdir -p "$out"
for kernel in simd scalar; do
  dir="$target_dir"
  flags=""
  if [ "$kernel" = simd ]; then
    # Its own target dir: different rustflags would otherwise rebuild the other bundle.
    dir="$target_dir/miner-simd"
    flags="-C target-feature=+simd128"
  fi
  RUSTFLAGS="$flags" cargo build -p miner --bin miner-worker --release \
    --target wasm32-unknown-unknown --target-dir "$dir"
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "miner_$kernel" \
    "$dir/wasm32-unknown-unknown/release/miner-worker.wasm"
done
ls -l "$out"

out=public/workers
mkdir -p "$out"
bundles=(checker signatures keys codes ballot)
cargo build -p workers --bins --release --target wasm32-unknown-unknown
for bundle in "${bundles[@]}"; do
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "$bundle" \
    "$target_dir/wasm32-unknown-unknown/release/$bundle.wasm"
done
ls -l "$out"
