#!/usr/bin/env bash
# Sets up what the benchmarks need (Chromium, npm packages, the site with the mining
# worker) and prints every figure of one run: native proof of work on 1 and all cores,
# the browser miner's workers in headless Chromium (SIMD and scalar, 1 and 2 workers)
# against hash-wasm, chain verification, votes per second over HTTP, and the validator's
# copy of a 100,000-vote chain in Chromium (cold and warm visits). BENCH_ONLY=copy (or
# pow, verify, http) runs one part.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$HOME/.cargo/bin:$PATH"
scripts/build-workers.sh
cargo leptos build
cargo bench -p server --bench throughput
