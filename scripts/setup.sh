#!/usr/bin/env bash
# Installs what building and testing ballotchain needs, skipping what is already there at
# the right version. `--test` adds what the tests need besides: Debian's Chromium,
# PostgreSQL and nginx, PyYAML, and the browser tests' npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
# Must equal the wasm-bindgen version in Cargo.lock.
WASM_BINDGEN_VERSION=0.2.130

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if ! cargo leptos --version 2>/dev/null | grep -q " ${CARGO_LEPTOS_VERSION}$"; then
  echo "installing cargo-leptos ${CARGO_LEPTOS_VERSION} (a few minutes, done once)"
  # Built unoptimised: its own release profile (full LTO, one codegen unit) took 14 of a
  # newcomer's first 32 minutes, for a tool that mostly starts other programs (cargo,
  # wasm-bindgen, wasm-opt). Its own work (splitting the wasm, the CSS) takes seconds.
  CARGO_PROFILE_DEV_DEBUG=false \
    cargo install cargo-leptos --locked --debug --version "${CARGO_LEPTOS_VERSION}" --features no_downloads
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}$"; then
  CARGO_PROFILE_DEV_DEBUG=false \
    cargo install wasm-bindgen-cli --debug --version "${WASM_BINDGEN_VERSION}" --force
fi

# wasm-opt shrinks the release WebAssembly; cargo-leptos takes it from PATH (scripts put
# .tools/node_modules/.bin first) and may not download it itself.
if ! .tools/node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q "version 123"; then
  npm install --prefix .tools --no-save --no-audit --no-fund binaryen@123.0.0
fi

if [[ "${1:-}" == "--test" ]]; then
  missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  # The server runs on PostgreSQL too: the tests start a private cluster of their own
  # (scripts/pg-cluster.sh), so only the binaries are needed, not a running service.
  compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" > /dev/null || missing+=(postgresql)
  command -v psql > /dev/null || missing+=(postgresql-client)
  # Three instances behind nginx (scripts/cluster.sh, the topology of compose.yaml).
  command -v nginx > /dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  # scripts/check-deploy.sh reads compose.yaml.
  python3 -c 'import yaml' 2> /dev/null || missing+=(python3-yaml)
  if (( ${#missing[@]} )); then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  fi
  (cd end2end && npm ci --no-audit --no-fund)
fi
