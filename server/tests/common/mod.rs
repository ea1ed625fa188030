//! A real `ballotchain` process on 127.0.0.1 with a temporary SQLite file, and helpers.
#![allow(dead_code)]

use ledger::{Block, BlockHeader, PowSearch, Vote};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_ballotchain");
pub const ADMIN_PASSWORD: &str = "correct horse battery";
pub const VALIDATOR_PASSWORD: &str = "validator password 1";

pub struct Server {
    child: Child,
    /// What the server printed before it listened (first-run link, demo passwords).
    pub startup: Vec<String>,
    pub base: String,
    pub db: PathBuf,
    pub stderr: PathBuf,
}

impl Server {
    /// Starts the binary on a free port and waits until it listens.
    pub fn start(dir: &Path) -> Server {
        let db = dir.join("test.db");
        let stderr = dir.join(format!(
            "stderr-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut child = Command::new(BIN)
            .args(["serve", "--db"])
            .arg(&db)
            .args(["--addr", "127.0.0.1:0"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start ballotchain");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut startup = Vec::new();
        let base = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(addr) = line.strip_prefix("ballotchain listening on ") {
                break addr.trim().to_owned();
            }
            startup.push(line);
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            startup,
            base,
            db,
            stderr,
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `ballotchain admin create`, with the password on standard input.
pub fn create_admin(db: &Path, username: &str) {
    let mut child = Command::new(BIN)
        .args(["admin", "create", "--db"])
        .arg(db)
        .args(["--username", username])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ADMIN_PASSWORD.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

pub fn client() -> Client {
    Client::builder().cookie_store(true).build().unwrap()
}

pub async fn login(s: &Server, username: &str, password: &str) -> Client {
    let c = client();
    let r = c
        .post(s.url("/api/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "login {username}");
    c
}

pub async fn post(c: &Client, url: String, body: Value) -> (StatusCode, Value) {
    let r = c.post(url).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn get(c: &Client, url: String) -> (StatusCode, Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// An open election with `voters` voters and validators v1, v2 (quorum 2), difficulty 8.
pub struct Setup {
    pub admin: Client,
    pub election: i64,
    pub codes: Vec<String>,
    pub candidates: Vec<i64>,
}

pub async fn open_election(
    s: &Server,
    admin: &Client,
    title: &str,
    voters: usize,
    open: bool,
) -> Setup {
    let (st, e) = post(
        admin,
        s.url("/api/elections"),
        json!({"title": title, "difficulty_bits": 8, "quorum": 2}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{e}");
    let id = e["id"].as_i64().unwrap();
    let mut candidates = Vec::new();
    for name in ["Ada", "Grace", "Alan"] {
        let (st, c) = post(
            admin,
            s.url(&format!("/api/elections/{id}/candidates")),
            json!({"name": name}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        candidates.push(c["id"].as_i64().unwrap());
    }
    let mut codes = Vec::new();
    if voters > 0 {
        let list: Vec<Value> = (0..voters)
            .map(|i| json!({"name": format!("Voter {i}")}))
            .collect();
        let (st, v) = post(
            admin,
            s.url(&format!("/api/elections/{id}/voters")),
            Value::Array(list),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        codes = v["voters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["code"].as_str().unwrap().to_owned())
            .collect();
    }
    for name in ["validator1", "validator2"] {
        let (st, _) = post(
            admin,
            s.url("/api/accounts"),
            json!({"username": name, "password": VALIDATOR_PASSWORD, "role": "validator"}),
        )
        .await;
        assert!(st == StatusCode::CREATED || st == StatusCode::CONFLICT);
        let (st, r) = post(
            admin,
            s.url(&format!("/api/elections/{id}/validators")),
            json!({"username": name}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{r}");
    }
    if open {
        let (st, r) = post(
            admin,
            s.url(&format!("/api/elections/{id}/open")),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    Setup {
        admin: admin.clone(),
        election: id,
        codes,
        candidates,
    }
}

/// A fresh server with an admin account, signed in.
pub async fn server_with_admin(dir: &Path) -> (Server, Client) {
    create_admin(&dir.join("test.db"), "admin");
    let s = Server::start(dir);
    let admin = login(&s, "admin", ADMIN_PASSWORD).await;
    (s, admin)
}

pub async fn vote(s: &Server, election: i64, code: &str, candidate: i64) -> (StatusCode, Value) {
    post(
        &client(),
        s.url(&format!("/api/elections/{election}/votes")),
        json!({"code": code, "candidate_id": candidate}),
    )
    .await
}

/// The server's block template, as a block ready to mine.
pub async fn template(s: &Server, election: i64) -> Block {
    let (st, w) = get(&client(), s.url(&format!("/api/elections/{election}/work"))).await;
    assert_eq!(st, StatusCode::OK, "{w}");
    let header: BlockHeader = serde_json::from_value(w["header"].clone()).unwrap();
    let votes: Vec<Vote> = serde_json::from_value(w["votes"].clone()).unwrap();
    Block { header, votes }
}

/// Finds a nonce meeting the header's difficulty.
pub fn mine(block: &mut Block) {
    block.header.nonce = PowSearch::new(&block.header)
        .search(0..u64::MAX, block.header.difficulty)
        .solution
        .unwrap();
}

/// After the votes were changed: recomputes the Merkle root over them, then mines.
pub fn mine_with_votes(block: &mut Block) {
    let receipts: Vec<_> = block.votes.iter().map(Vote::tx_id).collect();
    block.header.merkle_root = ledger::merkle_root(&receipts);
    mine(block);
}

/// Runs the CLI miner for one block.
pub fn mine_once(s: &Server, election: i64) -> String {
    let out = Command::new(BIN)
        .args([
            "mine",
            "--server",
            &s.base,
            "--election",
            &election.to_string(),
            "--once",
            "--tag",
            "cli-test",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "miner failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Row counts of every table, to show a refused request changed nothing.
pub async fn table_counts(db: &Path) -> Vec<(String, i64)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut out = Vec::new();
    for t in [
        "accounts",
        "elections",
        "candidates",
        "voters",
        "election_validators",
        "votes",
        "blocks",
        "block_votes",
        "decisions",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        out.push((t.to_owned(), n));
    }
    let statuses: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM blocks GROUP BY status ORDER BY status")
            .fetch_all(&pool)
            .await
            .unwrap();
    out.extend(
        statuses
            .into_iter()
            .map(|(s, n)| (format!("blocks:{s}"), n)),
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM votes WHERE block_hash IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    out.push(("votes:pending".into(), pending));
    pool.close().await;
    out
}
