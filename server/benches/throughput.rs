//! `cargo bench -p server`: prints figures, asserts nothing about speed.
//!
//! 1. proof of work: SHA-256 of the 117-byte header plain vs. with the midstate, one core
//!    and all cores;
//! 2. verification of a 100,000-vote chain (100 blocks of 1000 votes, two approvals each);
//! 3. votes per second cast over HTTP into the real server with durable commits, at 1, 8
//!    and 64 concurrent clients;
//! 4. the validator's copy of the chain in headless Chromium, on a 100,000-vote chain built
//!    through the API: the cold first visit, then a warm visit after one new block;
//! 5. `scale`: the server's memory and its chain and block pages with 100,000 and with
//!    1,000,000 votes on the chain, on SQLite and on PostgreSQL (`BENCH_POSTGRES` names a
//!    server; scripts/bench.sh starts a private cluster).

use ed25519_dalek::SigningKey;
use ledger::block::MinerTag;
use ledger::{
    merkle_root, Approval, ApprovedBlock, Block, BlockHeader, ChainExport, ChainState, ElectionId,
    Genesis, PowSearch, PublicKey, Vote, VotingCode,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The integration tests' harness: a real server process on 127.0.0.1 with a temp database.
#[path = "../tests/common/mod.rs"]
mod common;

/// The shared sample header with a difficulty nobody meets: every nonce is tried.
fn header() -> BlockHeader {
    BlockHeader {
        difficulty: 255,
        ..ledger::pow_vectors::sample_header()
    }
}

/// Native proof-of-work figures; returns the midstate search's MH/s on 1 core and on all.
fn pow() -> (f64, f64) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut h = header();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(2) {
        for _ in 0..10_000 {
            h.nonce = n;
            std::hint::black_box(h.hash());
            n += 1;
        }
    }
    let plain = n as f64 / started.elapsed().as_secs_f64() / 1e6;
    let search = PowSearch::new(&header());
    let per = 20_000_000u64;
    let started = Instant::now();
    std::hint::black_box(search.search(0..per, 255));
    let mid = per as f64 / started.elapsed().as_secs_f64() / 1e6;
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..cores as u64 {
            let search = search.clone();
            s.spawn(move || std::hint::black_box(search.search(t * per..(t + 1) * per, 255)));
        }
    });
    let all = (per * cores as u64) as f64 / started.elapsed().as_secs_f64() / 1e6;
    // Ceiling: the bare sha2 compression function in a loop, nothing else.
    let mut block = [0u8; 64];
    let started = Instant::now();
    let mut acc = 0u32;
    for i in 0..per {
        block[45..53].copy_from_slice(&i.to_le_bytes());
        let mut state = [1u32; 8];
        sha2::compress256(
            &mut state,
            std::slice::from_ref(sha2::digest::generic_array::GenericArray::from_slice(
                &block,
            )),
        );
        acc ^= state[0];
    }
    std::hint::black_box(acc);
    let raw = per as f64 / started.elapsed().as_secs_f64() / 1e6;
    println!("pow: bare sha2::compress256 loop 1 core {raw:8.2} MH/s  (ceiling)");
    println!("pow: plain sha256(header) 1 core      {plain:8.2} MH/s");
    println!(
        "pow: midstate 1 core                  {mid:8.2} MH/s  ({:.2}x plain, {:.2}x ceiling)",
        mid / plain,
        mid / raw
    );
    println!(
        "pow: midstate {cores} cores                 {all:8.2} MH/s  ({:.2}x one core)",
        all / mid
    );
    (mid, all)
}

/// The miner page's web workers in headless Chromium (end2end/bench/browser-pow.mjs),
/// against the native figures measured just before in the same run.
fn browser_pow(native_one: f64, native_all: f64) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("node")
        .arg(root.join("end2end/bench/browser-pow.mjs"))
        .env("BALLOTCHAIN_BIN", env!("CARGO_BIN_EXE_ballotchain"))
        .env("LEPTOS_SITE_ROOT", root.join("target/site"))
        .output();
    let text = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            println!(
                "pow in Chromium: not measured, the browser run failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            return;
        }
        Err(e) => {
            println!("pow in Chromium: not measured, node did not start: {e}");
            return;
        }
    };
    let Some(json) = text
        .lines()
        .find_map(|l| l.strip_prefix("BROWSER_POW "))
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
    else {
        println!("pow in Chromium: no figures in the output:\n{text}");
        return;
    };
    let hash_wasm = json["hashWasm"]["mhs"].as_f64().unwrap_or(f64::NAN);
    let rate = |kernel: &str, workers: u64| {
        json["workers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["kernel"] == kernel && r["workers"] == workers)
            .and_then(|r| r["mhs"].as_f64())
            .unwrap_or(f64::NAN)
    };
    for kernel in ["simd128", "scalar"] {
        let one = rate(kernel, 1);
        let two = rate(kernel, 2);
        println!(
            "pow in Chromium: {kernel:<7} 1 worker  {one:8.2} MH/s  ({:.2}x native 1 core, {:.1}x hash-wasm)",
            one / native_one,
            one / hash_wasm
        );
        println!(
            "pow in Chromium: {kernel:<7} 2 workers {two:8.2} MH/s  ({:.2}x 1 worker, {:.2}x native all cores)",
            two / one,
            two / native_all
        );
    }
    println!("pow in Chromium: hash-wasm sha256(header), main thread {hash_wasm:8.2} MH/s");
}

fn verification() {
    let election = ElectionId(1);
    let blocks_n = 100usize;
    let per_block = 1000usize;
    let started = Instant::now();
    let keys: Vec<SigningKey> = (0..blocks_n * per_block)
        .map(|i| {
            let mut e = [0u8; 15];
            e[..8].copy_from_slice(&(i as u64).to_le_bytes());
            VotingCode::from_entropy(e).signing_key(election)
        })
        .collect();
    let validators: Vec<SigningKey> = (1..=3u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let mut voters: Vec<PublicKey> = keys
        .iter()
        .map(|k| PublicKey(k.verifying_key().to_bytes()))
        .collect();
    voters.sort();
    let genesis = Genesis {
        title: "bench".into(),
        voters,
        validators: validators
            .iter()
            .map(|k| PublicKey(k.verifying_key().to_bytes()))
            .collect(),
        opened_at: 0,
        ..ledger::testing::genesis(
            election,
            ledger::testing::sealed_trustees(election, 3, 2, 1).0,
        )
    };
    let mut chain = ChainState::new(genesis.clone());
    let mut blocks = Vec::new();
    for (b, chunk) in keys.chunks(per_block).enumerate() {
        // Encrypted and proven on every core, as many voters' devices would.
        let votes: Vec<Vote> = {
            use rayon::prelude::*;
            chunk
                .par_iter()
                .enumerate()
                .map(|(i, k)| {
                    Vote::cast(k, &genesis, i % 3, 10, &mut rand::rngs::OsRng)
                        .expect("a candidate on the ballot")
                })
                .collect()
        };
        let receipts: Vec<_> = votes.iter().map(Vote::tx_id).collect();
        let header = BlockHeader {
            version: ledger::FORMAT_VERSION,
            election,
            index: b as u64 + 1,
            prev: chain.tip(),
            merkle_root: merkle_root(&receipts),
            timestamp: 10,
            difficulty: 0,
            miner_tag: MinerTag::default(),
            nonce: 0,
        };
        let block = Block { header, votes };
        // Built here with proofs made here: they are checked in the measured run below.
        chain
            .append_with(&block, ledger::Signatures::ProofsChecked)
            .expect("valid bench block");
        let approvals = validators[..2]
            .iter()
            .map(|k| Approval::sign(k, block.hash()))
            .collect();
        blocks.push(ApprovedBlock { block, approvals });
    }
    let export = ChainExport {
        genesis_hash: genesis.hash(),
        genesis,
        blocks,
        result: None,
    };
    println!(
        "verify: built a {}-vote chain in {:.1} s",
        blocks_n * per_block,
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let tally = ledger::verify_export(&export).expect("chain verifies");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "verify: {} encrypted 3-candidate ballots in {secs:.2} s = {:.0} ballots/s (batch signatures and ballot proofs on all cores)",
        tally.total,
        tally.total as f64 / secs
    );
}

/// Casts every code's vote for `candidate` over HTTP from `clients` clients at once; how
/// many were accepted.
async fn cast_all(url: &str, codes: Vec<String>, candidate: i64, clients: usize) -> usize {
    let bodies = codes
        .into_iter()
        .map(|code| json!({"code": code, "candidate_id": candidate}))
        .collect();
    post_all(url, bodies, clients).await
}

/// Posts every body to `url` from `clients` clients at once; how many were accepted.
async fn post_all(url: &str, bodies: Vec<Value>, clients: usize) -> usize {
    let queue = Arc::new(Mutex::new(bodies));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (queue, url) = (queue.clone(), url.to_owned());
            let c = reqwest::Client::new();
            tokio::spawn(async move {
                let mut ok = 0;
                loop {
                    let Some(body) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let r = c.post(&url).json(&body).send().await.unwrap();
                    if r.status() == reqwest::StatusCode::ACCEPTED {
                        ok += 1;
                    }
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    ok
}

/// Mines the server's template and has both validators approve it, until no vote is
/// pending; the blocks appended. Each block comes from its own miner's address (the
/// server trusts 127.0.0.1 as a proxy here), as a hundred volunteers would send them.
async fn append_pending(server: &common::Server, e: &common::Setup) -> usize {
    let mut appended = 0;
    loop {
        let work = reqwest::get(server.url(&format!("/api/elections/{}/work", e.election)))
            .await
            .unwrap();
        if work.status() == reqwest::StatusCode::CONFLICT {
            return appended; // nothing_to_mine
        }
        let mut block = common::template(server, e.election).await;
        common::mine(&mut block);
        let sent = reqwest::Client::new()
            .post(server.url(&format!("/api/elections/{}/blocks", e.election)))
            .header(
                "x-forwarded-for",
                format!("10.9.{}.{}", appended / 250, appended % 250 + 1),
            )
            .json(&block)
            .send()
            .await
            .unwrap();
        assert!(
            sent.status().is_success(),
            "the block is taken: {}",
            sent.text().await.unwrap()
        );
        for key in &e.validators {
            common::approve_as(server, e.election, &block.hash().to_hex(), key).await;
        }
        appended += 1;
    }
}

/// One visit of the dashboard in Chromium (end2end/bench/browser-copy.mjs) with the
/// browser profile in `profile`; its figures.
fn visit(
    base: &str,
    election: i64,
    profile: &std::path::Path,
    phase: &str,
) -> Option<serde_json::Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("node")
        .arg(root.join("end2end/bench/browser-copy.mjs"))
        .env("BENCH_BASE", base)
        .env("BENCH_ELECTION", election.to_string())
        .env("BENCH_USER", "validator1")
        .env("BENCH_PASSWORD", common::VALIDATOR_PASSWORD)
        .env("BENCH_PROFILE", profile)
        .env("BENCH_PHASE", phase)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let json = text
                .lines()
                .find_map(|l| l.strip_prefix("BROWSER_COPY "))
                .and_then(|j| serde_json::from_str(j).ok());
            if json.is_none() {
                println!("copy in Chromium: no figures in the output:\n{text}");
            }
            json
        }
        Ok(o) => {
            println!(
                "copy in Chromium: not measured, the browser run failed:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            println!("copy in Chromium: not measured, node did not start: {e}");
            None
        }
    }
}

async fn browser_copy() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::set_var("LEPTOS_SITE_ROOT", root.join("target/site"));
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) =
        common::server_with_admin_using(dir.path(), &["--trusted-proxy", "127.0.0.1/32"]).await;
    let started = Instant::now();
    let mut e = common::open_election(&server, &admin, "copy bench", 0, false).await;
    let api = common::api_of(&server, &admin);
    let id = ElectionId(e.election as u64);
    for count in [100_000, 1000] {
        e.codes.extend(
            api.register_voters(id, count)
                .await
                .into_iter()
                .map(|c| c.code),
        );
    }
    api.open(id).await;
    let url = server.url(&format!("/api/elections/{}/votes", e.election));
    let later = e.codes.split_off(100_000);
    let cast = cast_all(&url, e.codes.clone(), e.candidates[0], 64).await;
    let blocks = append_pending(&server, &e).await;
    println!(
        "copy in Chromium: built a chain of {blocks} blocks, {cast} votes, through the API in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let profile = dir.path().join("chromium-profile");
    let Some(cold) = visit(&server.base, e.election, &profile, "cold") else {
        return;
    };
    let again = visit(&server.base, e.election, &profile, "warm, nothing new");
    cast_all(&url, later, e.candidates[0], 64).await;
    append_pending(&server, &e).await;
    let warm = visit(&server.base, e.election, &profile, "warm, one new block");
    for figures in [Some(cold), again, warm].into_iter().flatten() {
        println!(
            "copy in Chromium: {:<20} {:6.2} s to verified (worker {:6.2} s: {}), {:>3} blocks fetched, {:>6.1} MB of chain downloaded, head {}",
            figures["phase"].as_str().unwrap_or(""),
            figures["seconds"].as_f64().unwrap_or(f64::NAN),
            figures["workerMs"].as_f64().unwrap_or(f64::NAN) / 1000.0,
            figures["timings"].as_str().unwrap_or(""),
            figures["fetched"],
            figures["bytes"].as_f64().unwrap_or(f64::NAN) / 1e6,
            figures["height"],
        );
    }
}

async fn http_votes(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = common::server_with_admin(dir.path()).await;
    let runs = [(1usize, 500usize), (8, 2000), (64, 8000)];
    let total: usize = runs.iter().map(|r| r.1).sum();
    let election = common::open_election(&server, &admin, "bench", total, true).await;
    let mut codes = election.codes;
    let url = server.url(&format!("/api/elections/{}/votes", election.election));
    let candidate = election.candidates[0];
    for (clients, n) in runs {
        let batch = codes.split_off(codes.len() - n);
        let started = Instant::now();
        let ok = cast_all(&url, batch, candidate, clients).await;
        let secs = started.elapsed().as_secs_f64();
        println!(
            "http votes ({backend}): {clients:>2} clients: {ok} accepted of {n} in {secs:.2} s = {:.0} votes/s",
            ok as f64 / secs
        );
    }
}

/// Signed encrypted ballots over HTTP, made on the client side first (as voters' devices
/// make them, on every core here), then posted by 64 clients: the node checks each
/// ballot's proofs on its blocking threads and commits it durably.
async fn http_ballots() {
    let dir = tempfile::tempdir().unwrap();
    let (server, admin) = common::server_with_admin(dir.path()).await;
    let n = 4000usize;
    let election = common::open_election(&server, &admin, "ballots", n, true).await;
    let id = ElectionId(election.election as u64);
    let genesis = common::Api::anonymous(&server).genesis(id).await;
    let started = Instant::now();
    let votes: Vec<Value> = {
        use rayon::prelude::*;
        election
            .codes
            .par_iter()
            .enumerate()
            .map(|(i, code)| {
                let key = VotingCode::parse(code).unwrap().signing_key(id);
                let vote = Vote::cast(&key, &genesis, i % 3, 10, &mut rand::rngs::OsRng).unwrap();
                json!({ "vote": vote })
            })
            .collect()
    };
    let made = started.elapsed().as_secs_f64();
    println!(
        "http ballots: {n} 3-candidate ballots encrypted and proven client-side in {made:.2} s = {:.2} ms each on {} cores",
        made * 1000.0 / n as f64,
        std::thread::available_parallelism().map_or(1, |c| c.get())
    );
    let url = server.url(&format!("/api/elections/{}/votes", election.election));
    let started = Instant::now();
    let ok = post_all(&url, votes, 64).await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "http ballots: 64 clients: {ok} signed encrypted ballots accepted of {n} in {secs:.2} s = {:.0} ballots/s (proofs checked on the node's blocking threads, durable commit)",
        ok as f64 / secs
    );
}

/// Decrypting the count: three trustees (threshold 2), sums of about a million ballots
/// (made by adding sums to themselves), two shares with proofs, then the counts by
/// baby-step giant-step, bounded by the turnout.
fn decrypt() {
    use ledger::secret::{find_counts, Ballot, DecryptionShare, EncryptedSums};
    let election = ElectionId(1);
    let identities: Vec<SigningKey> = (1..=3u8)
        .map(|i| SigningKey::from_bytes(&[i; 32]))
        .collect();
    let (board, sides) =
        ledger::ceremony::run_all(election, 1, &identities, 2, &mut rand::rngs::OsRng).unwrap();
    let public: Vec<PublicKey> = identities
        .iter()
        .map(|k| PublicKey(k.verifying_key().to_bytes()))
        .collect();
    let trustees = ledger::Trustees::from_ceremony(election, 1, 2, &public, &board).unwrap();
    let key = trustees.election_key;
    let ballot = |choice| Ballot::encrypt(&key, 3, choice, &mut rand::rngs::OsRng).unwrap();
    // 2^19 + 2^18 + 2^18 = 1,048,576 ballots: each candidate's share doubled up.
    let mut total = EncryptedSums::new(3);
    for (choice, doublings) in [(0, 19), (1, 18), (2, 18)] {
        let mut sums = EncryptedSums::new(3);
        sums.add(&ballot(choice)).unwrap();
        for _ in 0..doublings {
            let again = sums.clone();
            sums.merge(&again).unwrap();
        }
        total.merge(&sums).unwrap();
    }
    let turnout = (1u64 << 19) + (1 << 18) + (1 << 18);
    let started = Instant::now();
    let shares: Vec<_> = [0, 2]
        .iter()
        .map(|&i| {
            DecryptionShare::make(
                sides[i].key_share().unwrap(),
                &total,
                &mut rand::rngs::OsRng,
            )
            .unwrap()
        })
        .collect();
    let shared = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let counts = find_counts(&trustees.keys(), &total, &shares, turnout).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(counts, [1 << 19, 1 << 18, 1 << 18]);
    println!(
        "decrypt: {turnout} ballots, 3 candidates: two trustees' shares made in {:.1} ms; shares checked, combined and counts found (baby-step giant-step) in {:.1} ms",
        shared * 1000.0,
        secs * 1000.0
    );
}

/// A process's resident memory now and at its peak, in MiB (Linux's /proc).
fn memory_of(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The median time of `n` GETs of `url` (after two to warm up), in milliseconds.
async fn median_get(url: &str, n: usize) -> f64 {
    let c = reqwest::Client::new();
    let mut times = Vec::with_capacity(n);
    for i in 0..n + 2 {
        let started = Instant::now();
        let r = c.get(url).send().await.unwrap();
        assert!(r.status().is_success(), "{url}: {}", r.status());
        r.bytes().await.unwrap();
        if i >= 2 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

/// Votes as the voters' devices make them (a ballot encrypted under the election key,
/// with its proofs, and signed with the code's key), on every core: voter i for candidate
/// i mod the ballot's length.
fn cast_offline(genesis: &Genesis, codes: &[String]) -> Vec<Vote> {
    use rayon::prelude::*;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    codes
        .par_iter()
        .enumerate()
        .map(|(i, code)| {
            let key = VotingCode::parse(code)
                .unwrap()
                .signing_key(genesis.election);
            let choice = i % genesis.candidates.len();
            Vote::cast(&key, genesis, choice, now, &mut rand::rngs::OsRng).unwrap()
        })
        .collect()
}

/// Puts the votes straight into the pending pool, as the node's intake stores them once
/// their proofs are checked (they were made above; intake itself is the `http` part).
async fn store_pending(db: &common::Db, election: ElectionId, votes: &[Vote]) {
    let pool = db.pool().await;
    let now = i64::try_from(votes[0].timestamp).unwrap();
    for chunk in votes.chunks(1000) {
        let mut tx = pool.begin().await.unwrap();
        for (i, vote) in chunk.iter().enumerate() {
            let ciphertexts = ledger::ciphertexts_hash(&vote.read_ballot().unwrap());
            sqlx::query(
                "INSERT INTO votes (tx_id, election_id, voter_key, ballot, ciphertexts, proofs_checked_at, timestamp, signature, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(vote.tx_id())
            .bind(election)
            .bind(vote.voter)
            .bind(&vote.ballot)
            .bind(ciphertexts)
            .bind(now)
            .bind(now)
            .bind(vote.signature)
            .bind(now + i as i64)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    pool.close().await;
}

/// The server's memory and pages with `votes` votes on the chain, on the database
/// `backend` names (the harness reads `BALLOTCHAIN_TEST_POSTGRES`).
async fn scale(votes: usize, backend: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::set_var("LEPTOS_SITE_ROOT", root.join("target/site"));
    let dir = tempfile::tempdir().unwrap();
    let options = ["--trusted-proxy", "127.0.0.1/32"];
    let (server, admin) = common::server_with_admin_using(dir.path(), &options).await;
    let started = Instant::now();
    let mut e = common::open_election(&server, &admin, "scale bench", 0, false).await;
    let api = common::api_of(&server, &admin);
    let id = ElectionId(e.election as u64);
    while e.codes.len() < votes {
        let n = (votes - e.codes.len()).min(engine::MAX_VOTERS_PER_IMPORT);
        e.codes
            .extend(api.register_voters(id, n).await.into_iter().map(|c| c.code));
    }
    api.open(id).await;
    let genesis = api.genesis(id).await;
    let made = tokio::task::spawn_blocking({
        let (genesis, codes) = (genesis.clone(), e.codes.clone());
        move || cast_offline(&genesis, &codes)
    })
    .await
    .unwrap();
    store_pending(&server.db, id, &made).await;
    drop(made);
    let blocks = append_pending(&server, &e).await;
    let (serving, serving_peak) = memory_of(server.pid().unwrap());
    println!(
        "scale {backend}: built a chain of {blocks} blocks, {votes} votes in {:.0} s; the server that built it: {serving:.1} MiB resident (peak {serving_peak:.1})",
        started.elapsed().as_secs_f64()
    );
    // A fresh process: it re-verifies the whole chain at start, then serves.
    server.kill();
    let started = Instant::now();
    // The first periodic check five minutes after the start: the pages are measured
    // first, on their own, then before and during that check.
    let restart = [&options[..], &["--check-interval", "300"]].concat();
    let server = common::Server::start_with(dir.path(), &restart);
    let checked = started.elapsed().as_secs_f64();
    let pid = server.pid().unwrap();
    let (after_check, check_peak) = memory_of(pid);
    let chain_page = median_get(&server.url(&format!("/e/{id}/chain")), 40).await;
    let block_page = median_get(&server.url(&format!("/e/{id}/block/{blocks}")), 40).await;
    let (after_pages, peak) = memory_of(pid);
    println!(
        "scale {backend}: {votes} votes: restarted and re-verified in {checked:.1} s; resident {after_check:.1} MiB after the check (peak {check_peak:.1}), {after_pages:.1} MiB after the pages (peak {peak:.1}); p50 chain page {chain_page:.1} ms, block page (100 of a 1000-vote block's votes) {block_page:.1} ms"
    );
    // The first periodic check of the stored rows (a minute after the start): its cost as
    // the server logs it, and the block page fetched over and over until then, before it
    // and while it ran.
    let block_url = server.url(&format!("/e/{id}/block/{blocks}"));
    let logged_before = server.stderr_text().len();
    let http = reqwest::Client::new();
    let waiting = Instant::now();
    let mut fetches: Vec<(Instant, f64)> = Vec::new();
    let took = loop {
        if let Some(took) = periodic_check_ms(&server.stderr_text()[logged_before..]) {
            break Some(Duration::from_millis(took));
        }
        if waiting.elapsed() > Duration::from_secs(900) {
            break None;
        }
        let started = Instant::now();
        let page = http.get(&block_url).send().await.unwrap();
        assert!(page.status().is_success());
        page.bytes().await.unwrap();
        fetches.push((started, started.elapsed().as_secs_f64() * 1000.0));
    };
    match took {
        Some(took) => {
            let began = Instant::now().checked_sub(took).unwrap_or(waiting);
            let median = |mut ms: Vec<f64>| {
                ms.sort_by(f64::total_cmp);
                ms.get(ms.len() / 2)
                    .map_or("no fetch".to_string(), |m| format!("{m:.1} ms"))
            };
            // Each fetch's time, by whether it began before the check or while it ran.
            let (during, before): (Vec<f64>, Vec<f64>) = (
                fetches
                    .iter()
                    .filter(|f| f.0 >= began)
                    .map(|f| f.1)
                    .collect(),
                fetches
                    .iter()
                    .filter(|f| f.0 < began)
                    .map(|f| f.1)
                    .collect(),
            );
            println!(
                "scale {backend}: {votes} votes: the periodic check took {:.1} s; block page p50 before it {} ({} fetches), while it ran {} ({} fetches)",
                took.as_secs_f64(),
                median(before.clone()),
                before.len(),
                median(during.clone()),
                during.len(),
            );
        }
        None => println!("scale {backend}: {votes} votes: no periodic check within 15 minutes"),
    }
    server.kill();
    if let Ok(keep) = std::env::var("BENCH_SCALE_KEEP") {
        // For looking into a figure without building the chain again.
        let to = std::path::Path::new(&keep).join(format!("{backend}-{votes}"));
        std::fs::create_dir_all(&keep).unwrap();
        // The same file system as the temporary folder: a rename, not a copy.
        std::fs::rename(dir.keep(), &to).unwrap();
        println!("scale {backend}: {votes} votes: kept in {}", to.display());
    }
}

/// The `took_ms` of the server's first "stored chains re-checked" log line (its fields
/// coloured with ANSI escapes, which are dropped first).
fn periodic_check_ms(log: &str) -> Option<u64> {
    let line = log
        .lines()
        .find(|l| l.contains("stored chains re-checked"))?;
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // An escape runs to its final letter: `ESC [ 2 m`.
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            plain.push(c);
        }
    }
    let took = plain.split("took_ms=").nth(1)?;
    took.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu_name()
    );
    // `BENCH_ONLY=copy` (or pow, verify, http, ballots, decrypt) runs that part alone.
    let only = std::env::var("BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|o| o == part);
    if runs("pow") {
        let (one, all) = pow();
        browser_pow(one, all);
    }
    if runs("verify") {
        verification();
    }
    if runs("decrypt") {
        decrypt();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            if runs("http") {
                // Durable intake on both backends, in the same run.
                std::env::remove_var("BALLOTCHAIN_TEST_POSTGRES");
                http_votes("SQLite").await;
                match std::env::var("BENCH_POSTGRES") {
                    Ok(url) => {
                        std::env::set_var("BALLOTCHAIN_TEST_POSTGRES", url);
                        http_votes("PostgreSQL").await;
                        std::env::remove_var("BALLOTCHAIN_TEST_POSTGRES");
                    }
                    Err(_) => println!(
                        "http votes (PostgreSQL): not measured (BENCH_POSTGRES is not set)"
                    ),
                }
            }
            if runs("ballots") {
                http_ballots().await;
            }
            if runs("copy") {
                browser_copy().await;
            }
            if runs("scale") {
                let sizes: Vec<usize> = std::env::var("BENCH_SCALE_VOTES")
                    .ok()
                    .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
                    .unwrap_or_else(|| vec![100_000, 1_000_000]);
                let postgres = std::env::var("BENCH_POSTGRES").ok();
                // `BENCH_SCALE_ON=sqlite` or `postgres`: one backend only.
                let on = std::env::var("BENCH_SCALE_ON").unwrap_or_default();
                for votes in sizes {
                    std::env::remove_var("BALLOTCHAIN_TEST_POSTGRES");
                    if on != "postgres" {
                        scale(votes, "SQLite").await;
                    }
                    if on == "sqlite" {
                        continue;
                    }
                    match &postgres {
                        Some(url) => {
                            std::env::set_var("BALLOTCHAIN_TEST_POSTGRES", url);
                            scale(votes, "PostgreSQL").await;
                            std::env::remove_var("BALLOTCHAIN_TEST_POSTGRES");
                        }
                        None => {
                            println!("scale PostgreSQL: not measured (BENCH_POSTGRES is not set)")
                        }
                    }
                }
            }
        });
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
