//! Copies the operator does not control: the node's complete check of its own database
//! (`ballotchain check`, the periodic check while serving), and the heads an observer
//! pins (`/head`, `verify --genesis --expect`), against the real binary.

mod common;

use common::*;
use reqwest::StatusCode;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ballotchain");

/// Casts one vote, mines it with the CLI and has both validators approve it.
async fn append_one(s: &Server, e: &Setup, voter: usize) {
    let (st, body) = vote(s, e.election, &e.codes[voter], e.candidates[0]).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    mine_once(s, e.election);
    let hash = api_of(s, &e.admin)
        .awaiting(ledger::ElectionId(e.election as u64))
        .await[0]
        .hash
        .to_string();
    for key in &e.validators {
        let (st, body) = approve_as(s, e.election, &hash, key).await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
}

/// Runs the binary: its exit code and all it printed.
fn output(command: &mut Command) -> (Option<i32>, String) {
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn run(args: &[&str]) -> (bool, String) {
    let (code, text) = output(Command::new(BIN).args(args));
    (code == Some(0), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_head_catches_a_rollback_the_nodes_own_check_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Pinned", 2, true).await;
    let id = e.election;
    let (_, genesis) = get(&client(), s.url(&format!("/api/elections/{id}/head"))).await;
    assert_eq!(genesis["height"], 0);
    assert_eq!(genesis["approvals"].as_array().unwrap().len(), 0);
    let genesis_hash = genesis["hash"].as_str().unwrap().to_owned();
    append_one(&s, &e, 0).await;
    append_one(&s, &e, 1).await;
    let (st, head) = get(&client(), s.url(&format!("/api/elections/{id}/head"))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(head["height"], 2);
    assert_eq!(head["approvals"].as_array().unwrap().len(), 2);
    let pinned = format!("2:{}", head["hash"].as_str().unwrap());
    // A copy kept elsewhere follows with the blocks after its own head, approvals and all.
    let since = |q: &str| {
        let url = s.url(&format!("/api/elections/{id}/chain?{q}"));
        async move { get(&client(), url).await }
    };
    let (st, after_one) = since("since=1").await;
    assert_eq!(st, StatusCode::OK, "{after_one}");
    let after_one: Vec<ledger::ApprovedBlock> = serde_json::from_value(after_one).unwrap();
    assert_eq!(after_one.len(), 1);
    assert_eq!(after_one[0].block.header.index, 2);
    assert_eq!(
        after_one[0].block.hash().to_string(),
        head["hash"].as_str().unwrap()
    );
    assert_eq!(after_one[0].approvals.len(), 2);
    assert_eq!(since("since=2").await.1, serde_json::json!([]));
    assert_eq!(
        since("since=0&limit=1").await.1.as_array().unwrap().len(),
        1
    );
    // The same blocks in the compact encoding, for a client that accepts it.
    let compact = client()
        .get(s.url(&format!("/api/elections/{id}/chain?since=0")))
        .header("accept", "application/octet-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(
        compact.headers()["content-type"],
        "application/octet-stream"
    );
    let compact = ledger::decode_blocks(&compact.bytes().await.unwrap(), 100).unwrap();
    let (_, json) = since("since=0").await;
    let json: Vec<ledger::ApprovedBlock> = serde_json::from_value(json).unwrap();
    assert_eq!((compact.len(), &compact), (2, &json));
    // Where such a copy starts: the genesis block, whose hash is the chain's first.
    let (st, g) = get(&client(), s.url(&format!("/api/elections/{id}/genesis"))).await;
    assert_eq!(st, StatusCode::OK, "{g}");
    let g: ledger::Genesis = serde_json::from_value(g).unwrap();
    assert_eq!(g.hash().to_string(), genesis_hash);
    let encoded = client()
        .get(s.url(&format!("/api/elections/{id}/genesis")))
        .header("accept", "application/octet-stream")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(ledger::Genesis::decode(&encoded).unwrap(), g);
    assert_eq!(json[0].block.header.prev.to_string(), genesis_hash);
    let (st, missing) = get(&client(), s.url("/api/elections/999/genesis")).await;
    assert_eq!(
        (st, missing["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    for bad in ["since=two", "since=-1", ""] {
        let (st, body) = since(bad).await;
        assert_eq!(
            (st, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed")),
            "{bad}"
        );
    }
    let export = s.url(&format!("/api/elections/{id}/export"));
    let (ok, out) = run(&[
        "verify",
        &export,
        "--genesis",
        &genesis_hash,
        "--expect",
        &pinned,
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("holds the pinned head 2:"), "{out}");
    // Another genesis, or a head the chain never had: refused.
    let (ok, out) = run(&["verify", &export, "--genesis", &"0".repeat(64)]);
    assert!(!ok && out.contains("genesis"), "{out}");
    let (ok, out) = run(&[
        "verify",
        &export,
        "--expect",
        &format!("1:{}", "ab".repeat(32)),
    ]);
    assert!(!ok && out.contains("rewritten"), "{out}");
    let (ok, out) = run(&["verify", &export, "--expect", "two:abc"]);
    assert!(!ok && out.contains("is not a height"), "{out}");

    // The operator stops the server and takes the last block away consistently, its
    // votes back in the pool.
    let db = s.db.clone();
    s.kill();
    let (ok, out) = run(&["check", "--db", db.arg()]);
    assert!(ok && out.contains("as recorded at intake"), "{out}");
    let (ok, out) = run(&["check", "--db", db.arg(), "--full"]);
    assert!(
        ok && out.contains("chain of 2 blocks verified (every ballot proof re-checked)"),
        "{out}"
    );
    take_away(
        &db,
        "SELECT hash FROM blocks WHERE status = 'appended' ORDER BY idx DESC LIMIT 1",
    )
    .await;
    // The node's own check finds nothing: every row agrees with every other.
    let (ok, out) = run(&["check", "--db", db.arg()]);
    assert!(ok, "{out}");
    assert!(out.contains("chain of 1 blocks verified"), "{out}");
    // The observer's pinned head does.
    let s = Server::start(dir.path());
    let export = s.url(&format!("/api/elections/{id}/export"));
    let (ok, out) = run(&[
        "verify",
        &export,
        "--genesis",
        &genesis_hash,
        "--expect",
        &pinned,
    ]);
    assert!(!ok, "{out}");
    assert!(out.contains("blocks were removed"), "{out}");
}

/// Takes the blocks `hashes` (a query of their hashes) away consistently, as an operator
/// with the file would: their votes back in the pool, their decisions and the blocks gone,
/// every remaining row agreeing with every other.
async fn take_away(db: &Db, hashes: &str) {
    db.edit_offline(&format!(
        "CREATE TEMP TABLE gone AS {hashes};
             UPDATE votes SET block_hash = NULL WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM decisions WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM block_votes WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM blocks WHERE hash IN (SELECT hash FROM gone);"
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_edited_while_serving_is_caught_by_the_periodic_check_and_stops_writes() {
    let dir = tempfile::tempdir().unwrap();
    // How many older rows each run re-reads is at least one vote's.
    let refused = ballotchain(&["serve", "--check-rows", "0"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("--check-rows"),
        "{}",
        text(&refused)
    );
    let options = ["--check-interval", "1", "--check-rows", "1"];
    let (s, admin) = server_with_admin_using(dir.path(), &options).await;
    let e = open_election(&s, &admin, "Watched", 3, true).await;
    let id = e.election;
    append_one(&s, &e, 0).await;
    // Someone with the file overwrites a counted vote's ballot.
    s.db.edit_offline("UPDATE votes SET ballot = signature WHERE block_hash IS NOT NULL")
        .await;
    let mut problem = None;
    for _ in 0..100 {
        let (_, detail) = get(&client(), s.url(&format!("/api/elections/{id}"))).await;
        if let Some(p) = detail["integrity_problem"].as_str() {
            problem = Some(p.to_owned());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let problem = problem.expect("the periodic check finds the edit");
    assert!(problem.contains("block 1"), "{problem}");
    // Writes are refused with the chain_integrity code; the explorer says why.
    let (st, body) = vote(&s, id, &e.codes[1], e.candidates[0]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("chain_integrity")),
        "{body}"
    );
    let page = page_text(&client(), s.url(&format!("/e/{id}/chain"))).await;
    assert!(page.contains(&problem), "the explorer shows the problem");
    assert!(
        s.stderr_text().contains("TAMPERING DETECTED"),
        "{}",
        s.stderr_text()
    );
}

/// `ballotchain validate` for one pass, with validator1's key file: success and output.
/// validator1's key file and passphrase file in `dir` (written the first time).
fn write_key(dir: &std::path::Path, e: &Setup) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join("validator1.key");
    let passphrase = dir.join("passphrase.txt");
    if !key.exists() {
        let file =
            keyfile::KeyFile::seal(&e.validators[0], "validator1", "a long passphrase").unwrap();
        std::fs::write(&key, file.to_json().unwrap()).unwrap();
        std::fs::write(&passphrase, "a long passphrase\n").unwrap();
    }
    (key, passphrase)
}

fn validate(s: &Server, dir: &std::path::Path, e: &Setup) -> (Option<i32>, String) {
    let (key, passphrase) = write_key(dir, e);
    output(
        Command::new(BIN)
            .args([
                "validate",
                "--server",
                &s.base,
                "--election",
                &e.election.to_string(),
            ])
            .arg("--key")
            .arg(&key)
            .arg("--passphrase-file")
            .arg(&passphrase)
            .arg("--state")
            .arg(dir.join("validator1-state.db")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_headless_validator_keeps_its_own_chain_decides_by_the_rules_and_stops_on_a_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let mine = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin_using(dir.path(), &["--check-interval", "3600"]).await;
    let e = open_election(&s, &admin, "Headless", 3, true).await;
    let id = e.election;
    let api = api_of(&s, &admin);
    let election = ledger::ElectionId(id as u64);

    // A genesis block other than the published one: refused before anything is kept.
    let (code, out) = output(
        Command::new(BIN)
            .args([
                "validate",
                "--server",
                &s.base,
                "--election",
                &id.to_string(),
            ])
            .args(["--genesis", &"0".repeat(64), "--passphrase-file"])
            .arg(write_key(mine.path(), &e).1)
            .arg("--key")
            .arg(write_key(mine.path(), &e).0)
            .arg("--state")
            .arg(mine.path().join("other-state.db")),
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("ATTENTION: the served chain starts at genesis block"),
        "{out}"
    );

    // A good block: approved here, then appended with validator2's approval.
    assert_eq!(
        vote(&s, id, &e.codes[0], e.candidates[0]).await.0,
        StatusCode::ACCEPTED
    );
    mine_once(&s, id);
    let (code, out) = validate(&s, mine.path(), &e);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("chain verified from its genesis block"),
        "{out}"
    );
    assert!(out.contains("block 1 ("), "{out}");
    assert!(
        out.contains(") approved: now awaiting approval (1 approval(s)"),
        "{out}"
    );
    let good = api.awaiting(election).await[0].hash;
    // A rival at the same height, with more votes: this validator approved a block there
    // already, and approves no other.
    assert_eq!(
        vote(&s, id, &e.codes[2], e.candidates[1]).await.0,
        StatusCode::ACCEPTED
    );
    mine_once(&s, id);
    let (code, out) = validate(&s, mine.path(), &e);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains(") approved: now"), "{out}");
    let rivals = api.awaiting(election).await;
    assert_eq!(rivals.len(), 2);
    for b in &rivals {
        assert_eq!(b.approvals, u64::from(b.hash == good), "{b:?}");
    }
    let (st, body) = approve_as(&s, id, &good.to_string(), &e.validators[1]).await;
    assert_eq!(st, StatusCode::OK, "{body}");

    // A bad block: its vote altered in the server's database after it was mined. The
    // validator checks block 1 into its copy, then signs a rejection naming the rule.
    assert_eq!(
        vote(&s, id, &e.codes[1], e.candidates[0]).await.0,
        StatusCode::ACCEPTED
    );
    mine_once(&s, id);
    let bad = api.awaiting(election).await[0].hash;
    s.db.edit_offline(
        "CREATE TABLE kept_ballots AS SELECT tx_id, ballot FROM votes WHERE block_hash IS NULL",
    )
    .await;
    s.db.edit_offline("UPDATE votes SET ballot = signature WHERE block_hash IS NULL")
        .await;
    let (code, out) = validate(&s, mine.path(), &e);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("block 1 verified"), "{out}");
    assert!(out.contains("ATTENTION: block 2"), "{out}");
    assert!(out.contains("rejection signed"), "{out}");
    let (_, detail) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks/{bad}")),
    )
    .await;
    let decisions = detail["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 1, "{detail}");
    assert_eq!(decisions[0]["approve"], false);
    let reason = decisions[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("[bad_merkle_root]") || reason.contains("[bad_signature]"),
        "{reason}"
    );
    // Decided once: a second pass sends nothing new.
    let (code, out) = validate(&s, mine.path(), &e);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("rejection signed"), "{out}");

    // The vote put back as it was.
    s.db.edit_offline(
        "UPDATE votes SET ballot = (SELECT k.ballot FROM kept_ballots k WHERE k.tx_id = votes.tx_id)
         WHERE block_hash IS NULL",
    )
    .await;

    // The operator takes block 1 away consistently: the server's own check is content,
    // the validator's copy is not.
    let db = s.db.clone();
    s.kill();
    take_away(&db, "SELECT hash FROM blocks WHERE status = 'appended'").await;
    let s = Server::start_with(dir.path(), &["--check-interval", "3600"]);
    let (code, out) = validate(&s, mine.path(), &e);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("ATTENTION: the server's chain no longer holds block 1"),
        "{out}"
    );
    assert!(out.contains("blocks were removed"), "{out}");
}
