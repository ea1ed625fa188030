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

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
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
    let (ok, out) = run(&["check", "--db", db.to_str().unwrap()]);
    assert!(ok, "{out}");
    let last = "(SELECT hash FROM blocks WHERE status = 'appended' ORDER BY idx DESC LIMIT 1)";
    edit(
        &db,
        &format!(
            "CREATE TEMP TABLE gone AS SELECT {last} AS hash;
             UPDATE votes SET block_hash = NULL WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM decisions WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM block_votes WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM blocks WHERE hash IN (SELECT hash FROM gone);"
        ),
    )
    .await;
    // The node's own check finds nothing: every row agrees with every other.
    let (ok, out) = run(&["check", "--db", db.to_str().unwrap()]);
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

/// Runs `sql` on the database file as someone with the file would, foreign keys off.
async fn edit(db: &std::path::Path, sql: &str) {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .foreign_keys(false);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_edited_while_serving_is_caught_by_the_periodic_check_and_stops_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin_using(dir.path(), &["--check-interval", "1"]).await;
    let e = open_election(&s, &admin, "Watched", 3, true).await;
    let id = e.election;
    append_one(&s, &e, 0).await;
    // Someone with the file moves a counted vote to another candidate.
    edit(
        &s.db,
        "UPDATE votes SET candidate_id = candidate_id % 3 + 1 WHERE block_hash IS NOT NULL",
    )
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
    let page = client()
        .get(s.url(&format!("/e/{id}/chain")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&problem), "the explorer shows the problem");
    assert!(
        s.stderr_text().contains("TAMPERING DETECTED"),
        "{}",
        s.stderr_text()
    );
}
