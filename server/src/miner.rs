//! `ballotchain mine`: fetch work, search nonces on every core with ledger's PoW, submit.

use crate::cli::MineArgs;
use crate::client::{Api, ApiError};
use ledger::block::MinerTag;
use ledger::{merkle_root, Block, BlockHash, BlockHeader, ElectionId, Vote};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wire::ErrorCode;

/// Nonces a thread takes at a time: large enough to keep the atomic off the hot path.
const CHUNK: u64 = 1 << 16;

/// Searches nonces on `threads` threads; returns the winning nonce and hashes tried.
pub fn search(header: &BlockHeader, threads: usize) -> (u64, u64) {
    let search = ledger::PowSearch::new(header);
    let next = AtomicU64::new(0);
    let tried = AtomicU64::new(0);
    let found = AtomicBool::new(false);
    let solution = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                while !found.load(Ordering::Relaxed) {
                    let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                    let end = start.saturating_add(CHUNK);
                    let r = search.search(start..end, header.difficulty);
                    tried.fetch_add(r.tried, Ordering::Relaxed);
                    if let Some(n) = r.solution {
                        found.store(true, Ordering::Relaxed);
                        let mut best = solution.lock().expect("solution lock");
                        // Keep the lowest nonce among threads that hit at once.
                        if best.is_none_or(|b| n < b) {
                            *best = Some(n);
                        }
                    }
                    if end == u64::MAX {
                        break;
                    }
                }
            });
        }
    });
    let nonce = solution.into_inner().expect("solution lock").unwrap_or(0);
    (nonce, tried.load(Ordering::Relaxed))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Runs the miner until interrupted (or for one block with `--once`).
pub fn run(args: MineArgs) -> Result<(), Box<dyn std::error::Error>> {
    let api = Api::new(args.server.base());
    let election = ElectionId(args.election);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut last: Option<(BlockHash, ledger::MerkleRoot)> = None;
    loop {
        let work = match api.work(election) {
            Ok(work) => work,
            Err(ApiError::Refused {
                code: ErrorCode::NothingToMine,
                message,
                ..
            }) => {
                if args.once {
                    return Err(message.into());
                }
                std::thread::sleep(Duration::from_secs(2));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut header = work.header;
        // Do not trust the template blindly: the root must match the votes sent.
        let receipts: Vec<_> = work.votes.iter().map(Vote::tx_id).collect();
        if merkle_root(&receipts) != header.merkle_root {
            return Err(
                "the server's template has a Merkle root that does not match its votes".into(),
            );
        }
        if last == Some((header.prev, header.merkle_root)) {
            // Same tip and votes as the block we already submitted: wait for validators.
            std::thread::sleep(Duration::from_secs(2));
            continue;
        }
        header.miner_tag = MinerTag::from_text(&args.tag);
        header.timestamp = now_ms().max(work.min_timestamp);
        let started = Instant::now();
        let (nonce, tried) = search(&header, threads);
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        header.nonce = nonce;
        let hash = header.hash();
        println!(
            "found block {} ({} votes) nonce {nonce}: {tried} hashes in {secs:.2} s, {:.2} MH/s on {threads} threads",
            work.index,
            work.votes.len(),
            tried as f64 / secs / 1e6
        );
        let block = Block {
            header,
            votes: work.votes,
        };
        match api.submit_block(election, &block) {
            Ok(_) => println!(
                "submitted block {} {hash}: awaiting approval",
                block.header.index
            ),
            Err(ApiError::Refused {
                status,
                code,
                message,
                ..
            }) => {
                eprintln!("block {hash} refused ({status} {code}): {message}");
                if args.once {
                    return Err(message.into());
                }
            }
            Err(e) => return Err(e.into()),
        }
        if args.once {
            return Ok(());
        }
        last = Some((block.header.prev, block.header.merkle_root));
    }
}
