//! Three instances on one PostgreSQL database behind nginx, as `scripts/cluster.sh` starts
//! them (the topology of compose.yaml, with local processes and the same nginx
//! configuration): the whole flow, a voter racing 64 times, and one instance killed with
//! SIGKILL under load. nginx spreads the requests over the instances; nothing may be lost
//! or counted twice. On the PostgreSQL pass of scripts/test.sh only (a SQLite file has one
//! instance).

mod common;

use common::*;
use ledger::{Block, ElectionId, TxId};
use reqwest::StatusCode;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use wire::{BlockStatus, ReceiptStatus};

/// The cluster `scripts/cluster.sh` runs in a folder of the test; stopped when dropped.
struct Cluster {
    dir: PathBuf,
    /// nginx, as the tests' helpers reach a server.
    server: Server,
    /// What `cluster.sh` wrote in `cluster.env`.
    env: HashMap<String, String>,
}

fn cluster_sh(args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cluster.sh");
    Command::new("bash")
        .arg(script)
        .args(args)
        .env("BALLOTCHAIN_BIN", BIN)
        .output()
        .expect("run scripts/cluster.sh")
}

impl Cluster {
    /// Three instances and nginx on a fresh database of the test's PostgreSQL server
    /// (these tests are ignored unless it is named).
    fn start(dir: &Path) -> Cluster {
        let db = Db::of(dir);
        let Db::Postgres(url) = &db else {
            panic!("several instances share a PostgreSQL database: set BALLOTCHAIN_TEST_POSTGRES");
        };
        let at = dir.join("cluster");
        let out = cluster_sh(&["start", at.to_str().unwrap(), "--db", url]);
        assert!(
            out.status.success(),
            "cluster.sh start: {}{}",
            text(&out),
            std::fs::read_to_string(at.join("nginx.log")).unwrap_or_default()
        );
        let env: HashMap<String, String> = std::fs::read_to_string(at.join("cluster.env"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let base = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert_eq!(base, env["BASE"]);
        Cluster {
            server: Server::at(&base, db, at.join("nginx.log")),
            dir: at,
            env,
        }
    }

    /// Instance `n` (1 to 3) directly, not through nginx.
    fn instance(&self, n: usize) -> String {
        format!("http://127.0.0.1:{}", self.env[&format!("APP{n}_PORT")])
    }

    fn run(&self, what: &str, n: usize) {
        let out = cluster_sh(&[what, self.dir.to_str().unwrap(), &n.to_string()]);
        assert!(
            out.status.success(),
            "cluster.sh {what} {n}: {}",
            text(&out)
        );
    }

    /// The instances' logs, for a failure's message.
    fn logs(&self) -> String {
        (1..=3)
            .map(|n| {
                std::fs::read_to_string(self.dir.join(format!("app-{n}.log"))).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n----\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        cluster_sh(&["stop", self.dir.to_str().unwrap()]);
    }
}

/// The cluster with an admin signed in through nginx (the session is in the database:
/// every instance knows it) and an open election of `voters` voters; `None` on the
/// SQLite pass.
async fn cluster_with_election(
    dir: &Path,
    title: &str,
    voters: usize,
) -> (Cluster, reqwest::Client, Setup) {
    let c = Cluster::start(dir);
    create_admin(&c.server.db, "admin");
    let admin = login(&c.server, "admin", ADMIN_PASSWORD).await;
    let e = open_election(&c.server, &admin, title, voters, true).await;
    (c, admin, e)
}

/// Waits (up to 10 s) until every instance, asked directly, is at `height` with `tip`:
/// each hears of the others' blocks asynchronously.
async fn every_instance_at(c: &Cluster, id: ElectionId, height: u64, tip: &ledger::BlockHash) {
    for n in 1..=3 {
        let url = format!("{}/api/elections/{id}/head", c.instance(n));
        let mut last = None;
        for _ in 0..200 {
            let (status, head) = get(&client(), url.clone()).await;
            if status == StatusCode::OK
                && head["height"] == height
                && head["hash"] == tip.to_string()
            {
                last = None;
                break;
            }
            last = Some(head);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(last.is_none(), "instance {n} is at {last:?}, not {height}");
    }
}

/// Mines every pending vote into blocks through nginx and has both validators approve
/// each; the tip.
async fn mine_everything(s: &Server, e: &Setup) -> ledger::BlockHash {
    let id = ElectionId(e.election as u64);
    let anyone = Api::anonymous(s);
    loop {
        // One request, as a miner makes: which instance answers is nginx's choice.
        let (status, work) = get(&client(), s.url(&format!("/api/elections/{id}/work"))).await;
        if status == StatusCode::CONFLICT {
            // Nothing left to mine.
            assert_eq!(work["error"], "nothing_to_mine", "{work}");
            return anyone.export(id).await.unwrap().head().1;
        }
        assert_eq!(status, StatusCode::OK, "{work}");
        let mut block = Block {
            header: serde_json::from_value(work["header"].clone()).unwrap(),
            votes: serde_json::from_value(work["votes"].clone()).unwrap(),
        };
        mine(&mut block);
        anyone.submit(id, &block).await.unwrap();
        let hash = block.hash();
        anyone.approve(id, &hash, &e.validators[0]).await.unwrap();
        let done = anyone.approve(id, &hash, &e.validators[1]).await.unwrap();
        assert_eq!(done.status, BlockStatus::Appended);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs BALLOTCHAIN_TEST_POSTGRES"]
async fn the_whole_flow_runs_on_three_instances_behind_nginx() {
    let dir = tempfile::tempdir().unwrap();
    let (c, admin, e) = cluster_with_election(dir.path(), "Cluster", 6).await;
    let s = &c.server;
    let id = ElectionId(e.election as u64);
    let (office, anyone) = (api_of(s, &admin), Api::anonymous(s));
    let mut receipts = Vec::new();
    for (i, code) in e.codes.iter().enumerate() {
        let cast = anyone
            .cast(id, code, ledger::CandidateId(e.candidates[i % 3] as u32))
            .await
            .unwrap();
        receipts.push(cast.receipt);
    }
    let tip = mine_everything(s, &e).await;
    every_instance_at(&c, id, 1, &tip).await;
    for receipt in &receipts {
        let report = anyone.receipt(id, receipt).await.unwrap();
        assert_eq!(report.status, ReceiptStatus::Appended);
    }
    office.close(id).await.unwrap();
    office.finalise(id, false).await.unwrap();
    let export = anyone.export(id).await.unwrap();
    let tally = ledger::verify_export(&export).unwrap();
    assert_eq!(tally.total, 6);
    assert_eq!(decrypted(&export.genesis, &tally, &e.trustees), [2, 2, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs BALLOTCHAIN_TEST_POSTGRES"]
async fn a_voter_racing_64_times_across_the_instances_votes_once() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _, e) = cluster_with_election(dir.path(), "Race", 1).await;
    let s = &c.server;
    let racers: Vec<_> = (0..64)
        .map(|i| {
            let (url, code) = (
                s.url(&format!("/api/elections/{}/votes", e.election)),
                e.codes[0].clone(),
            );
            let candidate = e.candidates[i % 3];
            tokio::spawn(async move {
                post(
                    &client(),
                    url,
                    serde_json::json!({"code": code, "candidate_id": candidate}),
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for racer in racers {
        statuses.push(racer.await.unwrap().0);
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((accepted, refused), (1, 63), "{statuses:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM votes WHERE election_id = $1")
        .bind(e.election)
        .fetch_one(&s.db.pool().await)
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs BALLOTCHAIN_TEST_POSTGRES"]
async fn an_instance_killed_under_load_loses_no_acknowledged_vote_and_counts_none_twice() {
    const VOTERS: usize = 240;
    const WORKERS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let (c, _, e) = cluster_with_election(dir.path(), "Load", VOTERS).await;
    let s = &c.server;
    let id = ElectionId(e.election as u64);
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let url = s.url(&format!("/api/elections/{id}/votes"));
            let codes: Vec<(String, i64)> = (w..VOTERS)
                .step_by(WORKERS)
                .map(|i| (e.codes[i].clone(), e.candidates[i % 3]))
                .collect();
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                let http = client();
                // Each voter tries until the answer says the vote is stored: accepted,
                // or already voted (an earlier try was stored, its answer lost). nginx
                // answers 502 for a request the killed instance had taken.
                let mut receipts = Vec::new();
                let mut retries = 0;
                for (code, candidate) in codes {
                    loop {
                        let body = serde_json::json!({"code": code, "candidate_id": candidate});
                        let (status, answer) = post(&http, url.clone(), body).await;
                        match status {
                            StatusCode::ACCEPTED => {
                                let receipt: TxId =
                                    serde_json::from_value(answer["receipt"].clone()).unwrap();
                                receipts.push(receipt);
                                acknowledged.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            StatusCode::CONFLICT => {
                                assert_eq!(answer["error"], "already_voted", "{answer}");
                                break;
                            }
                            _ => {
                                retries += 1;
                                assert!(retries < 200, "too many failures: {status} {answer}");
                                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                            }
                        }
                    }
                }
                receipts
            })
        })
        .collect();
    // A third of the way in, instance 2 dies without a word.
    while acknowledged.load(Ordering::Relaxed) < VOTERS / 3 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    c.run("kill", 2);
    let mut receipts: BTreeSet<TxId> = BTreeSet::new();
    for worker in workers {
        for receipt in worker.await.unwrap() {
            assert!(receipts.insert(receipt), "receipt {receipt} given twice");
        }
    }
    // Every acknowledged vote is stored, and every voter has exactly one.
    let pool = s.db.pool().await;
    let stored: Vec<TxId> = sqlx::query_scalar("SELECT tx_id FROM votes WHERE election_id = $1")
        .bind(e.election)
        .fetch_all(&pool)
        .await
        .unwrap();
    let stored: BTreeSet<TxId> = stored.into_iter().collect();
    assert_eq!(stored.len(), VOTERS, "{}", c.logs());
    assert!(receipts.is_subset(&stored));

    // The instance comes back, re-verifies, and agrees with the others; every vote is
    // counted once.
    c.run("restart", 2);
    let tip = mine_everything(s, &e).await;
    let height = ledger::replay(&Api::anonymous(s).export(id).await.unwrap())
        .unwrap()
        .height();
    every_instance_at(&c, id, height, &tip).await;
    let export = Api::anonymous(s).export(id).await.unwrap();
    let tally = ledger::verify_export(&export).unwrap();
    assert_eq!(tally.total, VOTERS as u64);
    let counts = decrypted(&export.genesis, &tally, &e.trustees);
    assert_eq!(counts, [80, 80, 80]);
}

/// A page's event stream through nginx stays open while nothing happens for longer than
/// nginx's `proxy_read_timeout` (60 s), the heartbeats keeping it, and still says the
/// next change, made through whichever instance nginx picks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs BALLOTCHAIN_TEST_POSTGRES"]
async fn an_event_stream_through_nginx_outlives_a_quiet_minute() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _admin, e) = cluster_with_election(dir.path(), "Quiet", 1).await;
    let s = &c.server;
    let id = ElectionId(e.election as u64);
    let mut stream = EventStream::follow(s, id, None).await;
    stream.drain().await;
    // Quiet for 70 s: the stream stays open on heartbeats alone.
    assert!(
        stream.stays_quiet(std::time::Duration::from_secs(70)).await,
        "the stream stays open through a quiet minute: {}",
        c.logs()
    );
    assert!(stream.heartbeats >= 3, "{} heartbeats", stream.heartbeats);
    Api::anonymous(s)
        .cast(id, &e.codes[0], ledger::CandidateId(e.candidates[0] as u32))
        .await
        .unwrap();
    let pool = stream.until("pool").await;
    assert_eq!(
        pool.last().unwrap().change,
        wire::Change::Pool,
        "{}",
        c.logs()
    );
}
