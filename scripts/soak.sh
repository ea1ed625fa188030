#!/usr/bin/env bash
# Soak test (issue 16), not run in CI: ten minutes of mixed load on a real server, with a
# kill -9 and a restart on the same database in the middle. It prints the acknowledged
# votes lost, which must be 0, and the server's memory over time, which must stay flat.
#
#   scripts/soak.sh                      # 600 s of load; about 12 minutes in all
#   SOAK_SECONDS=60 scripts/soak.sh      # a short run, to check the script itself
#
# It uses the binary already built (`cargo build -p server`, or `scripts/test.sh`); it builds
# nothing. A release build (`cargo build --release -p server`, then
# BALLOTCHAIN_BIN=target/release/ballotchain) gives figures closer to production; the debug
# build is slower and larger, but loses votes or leaks memory just the same.
#
# What runs (all against its own server on 127.0.0.1, on a fresh database in a temporary
# directory): `serve --demo`, then, signed in as the demo's admin, an election of its own
# with a roll big enough for the whole run (codes made by `ballotchain codes`, only the keys
# file uploaded) and the demo's three validators (quorum 2). That server is then stopped
# (SIGTERM) and the load runs on a new one on the same database, so that the two measured
# processes, before and after the kill, both start from a database they did not seed (the
# set-up's argon2 hashes and roll import are not in the figures). Then, at once:
#   - voters casting votes at SOAK_VOTE_RATE a second: most with `{code, candidate_id}` to
#     the API, one in ten with `ballotchain vote` (signed on the client), and now and then a
#     second vote with a used code (must be 409 already_voted);
#   - readers fetching pages (home, ballot, explorer, blocks, receipts, miner) and the JSON
#     API, a miner's template poll (`/work` with If-None-Match) every second, the export
#     every five seconds;
#   - abuse, kept light: a wrong password for `admin` every 4 s (401, then 429 once the
#     address has had 10 in a minute) and another election's code every 12 s (403);
#   - `ballotchain mine --threads 1`, restarted whenever it exits (it does when the server
#     goes away), and two of the three validators approving every awaiting block with
#     `ballotchain approve` and the demo's key files.
# At SOAK_SECONDS/2 the server gets SIGKILL and is started again on the same database and
# port (another port if that one is not free; the load follows). After the load, the miner
# and validators get up to SOAK_DRAIN_SECONDS to put the pending votes on chain.
#
# What it prints:
#   - every SOAK_SAMPLE_SECONDS (10): `t=…s rss=…MiB votes_acked=… blocks_appended=…`, the
#     server's resident memory (VmRSS) and progress;
#   - `acknowledged votes lost: N`: votes answered 202 with a receipt whose receipt the
#     server no longer knows afterwards (a receipt found with another candidate counts too).
#     Must be 0. A vote whose answer was lost to the kill is not acknowledged; if its
#     retry finds it stored (409 already_voted) it is counted as "stored unanswered";
#   - memory: first, max and last RSS after warm-up (the first SOAK_SECONDS/10, at most
#     60 s), the median of each quarter of the run, and the growth from the second
#     quarter's median to the last's: the same age (a quarter to half of its life) in the
#     process before the kill and in the one after it, which carries more chain. Flat
#     means a growth of at most SOAK_MAX_GROWTH_PCT percent (10);
#   - counts of every answer by kind and status, 5xx answers, connection errors outside
#     the restart, ERROR/panic lines in the server's log, and `ballotchain verify` of the
#     final export.
# It exits non-zero when a vote was lost, memory grew, an answer was a 5xx, the server
# logged an ERROR or a panic, or `verify` failed. Logs, the database and the acknowledged
# votes stay in the temporary directory when it fails (or with SOAK_KEEP=1). The binary is
# linked (or copied) there first, so a rebuild during the run does not change it.
#
# Settings (environment): BALLOTCHAIN_BIN, SOAK_SECONDS (600), SOAK_VOTE_RATE (5),
# SOAK_SAMPLE_SECONDS (10), SOAK_DIFFICULTY (16 bits), SOAK_DRAIN_SECONDS (60),
# SOAK_MAX_GROWTH_PCT (10), SOAK_KEEP.
set -euo pipefail
cd "$(dirname "$0")/.."
export BALLOTCHAIN_BIN="${BALLOTCHAIN_BIN:-target/debug/ballotchain}"
if [[ ! -x "$BALLOTCHAIN_BIN" ]]; then
  echo "soak: no binary at $BALLOTCHAIN_BIN (build it first: cargo build -p server)" >&2
  exit 2
fi
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
# The helper starts every process itself and kills them all on exit, Ctrl-C included.
exec python3 scripts/soak.py "$@"
