//! The JSON API and the CLI against the real binary, each test with its own database.

mod common;

use common::*;
use ledger::{BlockHash, CandidateId, ElectionId, MerkleRoot, Signature};
use reqwest::StatusCode;
use serde_json::{json, Value};
use wire::{BlockStatus, ElectionState, ReceiptStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_flow_from_registration_to_verified_tally() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Board election", 0, false).await;
    let id = ElectionId(e.election as u64);
    let candidate = |i: usize| CandidateId(e.candidates[i] as u32);
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);

    // Voters by CSV, with a header row and an optional external id.
    let csv = "name,external_id\nAlice,A1\nBob,B2\nCarol,\nDan,D4\n";
    let r = admin
        .post(s.url(&format!("/api/elections/{id}/voters")))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let issued: wire::IssuedCodes = r.json().await.unwrap();
    let codes: Vec<String> = issued.voters.into_iter().map(|v| v.code).collect();
    assert_eq!(codes.len(), 4);
    let opened = office.open(id).await;
    assert_eq!((opened.state, opened.voters), (ElectionState::Open, 4));

    // Three votes wait in the pool.
    let mut receipts = Vec::new();
    for (code, choice) in codes.iter().zip([0, 1, 1]) {
        let cast = anyone.cast(id, code, candidate(choice)).await.unwrap();
        receipts.push(cast.receipt);
    }
    let pending = anyone.receipt(id, &receipts[0]).await.unwrap();
    assert_eq!(pending.status, ReceiptStatus::Pending);

    // The CLI miner puts them in block 1, which awaits the validators.
    let out = mine_once(&s, e.election);
    assert!(out.contains("awaiting approval"), "{out}");
    let awaiting = anyone.awaiting(id).await;
    assert_eq!(awaiting.len(), 1);
    assert_eq!(
        (awaiting[0].votes, awaiting[0].miner_tag.as_str()),
        (3, "cli-test")
    );
    let hash = awaiting[0].hash;
    let mined = anyone.receipt(id, &receipts[1]).await.unwrap();
    assert_eq!(mined.status, ReceiptStatus::AwaitingApproval);

    // Two approvals reach the quorum: the block is appended.
    let v1 = Api::signed_in(&s, "validator1", VALIDATOR_PASSWORD).await;
    let v2 = Api::signed_in(&s, "validator2", VALIDATOR_PASSWORD).await;
    let first = v1.approve(id, &hash).await.unwrap();
    assert_eq!((first.status, first.approvals), (BlockStatus::Awaiting, 1));
    let second = v2.approve(id, &hash).await.unwrap();
    assert_eq!(second.status, BlockStatus::Appended);

    // A receipt proves its vote is in the block.
    let appended = anyone.receipt(id, &receipts[2]).await.unwrap();
    assert_eq!(
        (appended.status, appended.block_index),
        (ReceiptStatus::Appended, Some(1))
    );
    let block = anyone.block(id, "1").await.unwrap();
    assert!(appended
        .proof
        .unwrap()
        .verify(&receipts[2], &block.header.merkle_root));
    assert_eq!(block.decisions.len(), 2);

    let tally = anyone.tally(id).await.unwrap();
    assert_eq!(tally.total, 3);
    let votes: Vec<u64> = tally.candidates.iter().map(|c| c.votes).collect();
    assert_eq!(votes, [1, 2, 0]);
    let (_, chain) = get(&client(), s.url(&format!("/api/elections/{id}/blocks"))).await;
    assert_eq!(chain.as_array().unwrap().len(), 1);

    // The export re-verifies offline, from a file and from the URL, with the same tally.
    let parsed = anyone.export(id).await.unwrap();
    let t = ledger::verify_export(&parsed).unwrap();
    assert_eq!(t.counts[&candidate(1)], 2);
    let (_, export) = get(&client(), s.url(&format!("/api/elections/{id}/export"))).await;
    let file = dir.path().join("export.json");
    std::fs::write(&file, export.to_string()).unwrap();
    for source in [
        file.to_str().unwrap().to_owned(),
        s.url(&format!("/api/elections/{id}/export")),
    ] {
        let out = std::process::Command::new(BIN)
            .args(["verify", &source])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("chain verified") && text.contains("3 votes"),
            "{text}"
        );
    }
    // A tampered export does not verify.
    let mut bad = export.clone();
    bad["blocks"][0]["block"]["votes"][0]["candidate"] = json!(e.candidates[2]);
    std::fs::write(&file, bad.to_string()).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["verify", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does NOT verify"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vote_per_voter_even_under_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Concurrency", 2, true).await;
    let (st, _) = vote(&s, e.election, &e.codes[0], e.candidates[0]).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    let (st, body) = vote(&s, e.election, &e.codes[0], e.candidates[1]).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(body["error"], "already_voted");

    let code = e.codes[1].clone();
    let base = s.base.clone();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (code, base) = (code.clone(), base.clone());
            let cand = e.candidates[i % 3];
            tokio::spawn(async move {
                let r = client()
                    .post(format!("{base}/api/elections/{}/votes", e.election))
                    .json(&json!({"code": code, "candidate_id": cand}))
                    .send()
                    .await
                    .unwrap();
                r.status()
            })
        })
        .collect();
    let mut accepted = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((accepted, conflicts), (1, 63));
    let counts = table_counts(&s.db).await;
    assert!(counts.contains(&("votes".into(), 2)), "{counts:?}");
}

/// A refused request: its status, its error code and a message for people.
fn refusal(case: &str, status: StatusCode, body: &Value, expected: u16, error: &str) {
    assert_eq!(status.as_u16(), expected, "{case}: {body}");
    assert_eq!(body["error"], error, "{case}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{case}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Main", 6, true).await;
    let id = e.election;
    let setup_only = open_election(&s, &admin, "Still in setup", 1, false).await;
    let closed = open_election(&s, &admin, "Closed", 1, true).await;
    let (st, _) = post(
        &admin,
        s.url(&format!("/api/elections/{}/close", closed.election)),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);

    // Block 1 appended with voter 0; voters 1 and 2 pending; a second block awaiting with v1's approval.
    vote(&s, id, &e.codes[0], e.candidates[0]).await;
    mine_once(&s, id);
    let v1 = login(&s, "validator1", VALIDATOR_PASSWORD).await;
    let v2 = login(&s, "validator2", VALIDATOR_PASSWORD).await;
    let (_, aw) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks?status=awaiting")),
    )
    .await;
    let first = aw[0]["hash"].as_str().unwrap().to_owned();
    for v in [&v1, &v2] {
        let (st, _) = post(
            v,
            s.url(&format!("/api/elections/{id}/blocks/{first}/approve")),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
    }
    let (_, first_block) = get(&client(), s.url(&format!("/api/elections/{id}/blocks/1"))).await;
    let on_chain_vote: ledger::Vote = {
        let export: ledger::ChainExport = serde_json::from_value(
            get(&client(), s.url(&format!("/api/elections/{id}/export")))
                .await
                .1,
        )
        .unwrap();
        export.blocks[0].block.votes[0].clone()
    };
    assert_eq!(first_block["status"], "appended");
    vote(&s, id, &e.codes[1], e.candidates[1]).await;
    vote(&s, id, &e.codes[2], e.candidates[2]).await;
    mine_once(&s, id);
    let (_, aw) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks?status=awaiting")),
    )
    .await;
    let second = aw[0]["hash"].as_str().unwrap().to_owned();
    let (st, _) = post(
        &v1,
        s.url(&format!("/api/elections/{id}/blocks/{second}/approve")),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    // Voter 3 pending so that the template has votes for the blocks below.
    vote(&s, id, &e.codes[3], e.candidates[0]).await;

    let before = table_counts(&s.db).await;
    let anon = client();
    let votes_url = s.url(&format!("/api/elections/{id}/votes"));
    let raw = |body: &'static str| {
        let (c, url) = (anon.clone(), votes_url.clone());
        async move {
            let r = c
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let st = r.status();
            (st, r.json::<Value>().await.unwrap())
        }
    };
    let (st, b) = raw("{\"code\": ").await;
    refusal("malformed JSON", st, &b, 400, "malformed");
    let (st, b) = raw("{\"code\": 5, \"candidate_id\": \"one\"}").await;
    refusal("wrong types", st, &b, 400, "malformed");
    let (st, b) = post(
        &anon,
        s.url("/api/elections/999/votes"),
        json!({"code": e.codes[4], "candidate_id": e.candidates[0]}),
    )
    .await;
    refusal("unknown election", st, &b, 404, "not_found");
    let (st, b) = vote(&s, id, &e.codes[4], 999_999).await;
    refusal("unknown candidate", st, &b, 404, "not_found");
    let (st, b) = vote(&s, id, "0000-0000-0000-0000-0000-0000", e.candidates[0]).await;
    refusal("wrong code", st, &b, 403, "invalid_code");
    let (st, b) = vote(&s, id, "not a code", e.candidates[0]).await;
    refusal("malformed code", st, &b, 400, "invalid_input");
    let (st, b) = vote(&s, id, &e.codes[0], e.candidates[1]).await;
    refusal("reused code (on chain)", st, &b, 409, "already_voted");
    let (st, b) = vote(&s, id, &e.codes[1], e.candidates[0]).await;
    refusal("reused code (pending)", st, &b, 409, "already_voted");
    let (st, b) = vote(
        &s,
        setup_only.election,
        &setup_only.codes[0],
        setup_only.candidates[0],
    )
    .await;
    refusal("vote in setup", st, &b, 409, "wrong_state");
    let (st, b) = vote(&s, closed.election, &closed.codes[0], closed.candidates[0]).await;
    refusal("vote when closed", st, &b, 409, "wrong_state");
    let big = "x".repeat(10_000);
    let (st, b) = post(
        &anon,
        votes_url.clone(),
        json!({"code": big, "candidate_id": 1}),
    )
    .await;
    refusal("body over the limit", st, &b, 413, "too_large");

    let blocks_url = s.url(&format!("/api/elections/{id}/blocks"));
    let submit = |block: ledger::Block| {
        let (c, url) = (anon.clone(), blocks_url.clone());
        async move { post(&c, url, serde_json::to_value(&block).unwrap()).await }
    };
    let base = template(&s, id).await;
    // The tip is block 1; block 2 awaits approval, so the template builds on block 1 too.
    let mut b = base.clone();
    mine(&mut b);
    while ledger::meets_difficulty(&b.hash(), b.header.difficulty) {
        b.header.nonce += 1;
    }
    let (st, r) = submit(b).await;
    refusal("bad proof of work", st, &r, 422, "insufficient_work");
    let mut b = base.clone();
    b.header.prev = BlockHash([7; 32]);
    mine(&mut b);
    let (st, r) = submit(b).await;
    refusal("unknown parent", st, &r, 422, "wrong_parent");
    let mut b = base.clone();
    b.header.index = 5;
    mine(&mut b);
    let (st, r) = submit(b).await;
    refusal("wrong index", st, &r, 422, "wrong_index");
    let mut b = base.clone();
    b.header.merkle_root = MerkleRoot([1; 32]);
    mine(&mut b);
    let (st, r) = submit(b).await;
    refusal("bad Merkle root", st, &r, 422, "bad_merkle_root");
    let mut b = base.clone();
    b.votes[0].candidate = CandidateId(e.candidates[2] as u32);
    mine_with_votes(&mut b);
    let (st, r) = submit(b).await;
    refusal("tampered vote", st, &r, 422, "bad_signature");
    let mut b = base.clone();
    b.votes[0].signature = Signature([3; 64]);
    mine_with_votes(&mut b);
    let (st, r) = submit(b).await;
    refusal("forged signature", st, &r, 422, "bad_signature");
    let mut b = base.clone();
    b.votes.push(b.votes[0].clone());
    mine_with_votes(&mut b);
    let (st, r) = submit(b).await;
    refusal(
        "same vote twice in a block",
        st,
        &r,
        422,
        "duplicate_vote_in_block",
    );
    let mut b = base.clone();
    b.votes.push(on_chain_vote);
    mine_with_votes(&mut b);
    let (st, r) = submit(b).await;
    refusal("vote already on chain", st, &r, 422, "already_voted");
    let mut b = base.clone();
    let (_, detail) = get(&client(), s.url(&format!("/api/elections/{id}"))).await;
    b.header.prev = detail["genesis_hash"].as_str().unwrap().parse().unwrap();
    b.header.index = 1;
    mine(&mut b);
    let (st, r) = submit(b).await;
    refusal("stale parent", st, &r, 409, "stale");

    let approve_second = s.url(&format!("/api/elections/{id}/blocks/{second}/approve"));
    let (st, r) = post(&admin, approve_second.clone(), json!({})).await;
    refusal("approval by an admin", st, &r, 403, "forbidden");
    let (st, r) = post(&anon, approve_second.clone(), json!({})).await;
    refusal("approval without session", st, &r, 401, "unauthenticated");
    let (st, r) = post(&v1, approve_second.clone(), json!({})).await;
    refusal("same validator approving twice", st, &r, 409, "duplicate");
    let (st, r) = post(
        &v2,
        s.url(&format!("/api/elections/{id}/blocks/{second}/reject")),
        json!({"reason": "  "}),
    )
    .await;
    refusal("rejection without reason", st, &r, 400, "invalid_input");
    let (st, r) = post(&anon, s.url("/api/elections"), json!({"title": "sneaky"})).await;
    refusal("admin call without session", st, &r, 401, "unauthenticated");
    let (st, r) = post(&v1, s.url("/api/elections"), json!({"title": "sneaky"})).await;
    refusal("admin call by a validator", st, &r, 403, "forbidden");
    let (st, r) = post(
        &admin,
        s.url(&format!("/api/elections/{id}/candidates")),
        json!({"name": "Late"}),
    )
    .await;
    refusal("candidate after sealing", st, &r, 409, "wrong_state");
    let (st, r) = post(
        &admin,
        s.url(&format!(
            "/api/elections/{}/candidates",
            setup_only.election
        )),
        json!({"name": "Ada"}),
    )
    .await;
    refusal("duplicate candidate", st, &r, 409, "duplicate");
    let (st, r) = post(
        &admin,
        s.url(&format!(
            "/api/elections/{}/candidates",
            setup_only.election
        )),
        json!({"name": "   "}),
    )
    .await;
    refusal("empty candidate name", st, &r, 400, "invalid_input");
    for (name, path, status, error) in [
        (
            "tally of an unknown election",
            "/api/elections/999/tally".to_owned(),
            404,
            "not_found",
        ),
        (
            "work for an unknown election",
            "/api/elections/999/work".to_owned(),
            404,
            "not_found",
        ),
        (
            "blocks of an unknown election",
            "/api/elections/999/blocks?status=awaiting".to_owned(),
            404,
            "not_found",
        ),
        (
            "work while in setup",
            format!("/api/elections/{}/work", setup_only.election),
            409,
            "wrong_state",
        ),
    ] {
        let (st, r) = get(&anon, s.url(&path)).await;
        refusal(name, st, &r, status, error);
    }
    let r = admin
        .post(s.url(&format!("/api/elections/{}/voters", setup_only.election)))
        .header("content-type", "text/csv")
        .body("name,external_id\nEve,E1\n,E2\nFay,E1\n")
        .send()
        .await
        .unwrap();
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    refusal("CSV with bad rows", st, &body, 400, "bad_rows");
    let details = body["details"].to_string();
    assert!(
        details.contains("line 3") && details.contains("line 4"),
        "{details}"
    );

    assert_eq!(
        table_counts(&s.db).await,
        before,
        "a refused request changed the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_vote_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Durable", 1, true).await;
    let (st, r) = vote(&s, e.election, &e.codes[0], e.candidates[0]).await;
    assert_eq!(st, StatusCode::ACCEPTED);
    s.kill();
    let s = Server::start(dir.path());
    let (st, rec) = get(
        &client(),
        s.url(&format!(
            "/api/elections/{}/receipts/{}",
            e.election,
            r["receipt"].as_str().unwrap()
        )),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(rec["status"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_chain_and_pool_and_reports_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Restart", 3, true).await;
    let id = e.election;
    vote(&s, id, &e.codes[0], e.candidates[0]).await;
    mine_once(&s, id);
    let (_, aw) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks?status=awaiting")),
    )
    .await;
    let hash = aw[0]["hash"].as_str().unwrap().to_owned();
    for v in ["validator1", "validator2"] {
        let c = login(&s, v, VALIDATOR_PASSWORD).await;
        post(
            &c,
            s.url(&format!("/api/elections/{id}/blocks/{hash}/approve")),
            json!({}),
        )
        .await;
    }
    vote(&s, id, &e.codes[1], e.candidates[1]).await;
    let (_, before) = get(&client(), s.url(&format!("/api/elections/{id}"))).await;
    assert_eq!(before["height"], 1);
    assert_eq!(before["pending_votes"], 1);
    s.kill();

    let s = Server::start(dir.path());
    let (_, after) = get(&client(), s.url(&format!("/api/elections/{id}"))).await;
    assert_eq!(after["height"], 1);
    assert_eq!(after["tip"], before["tip"]);
    assert_eq!(after["pending_votes"], 1);
    assert_eq!(after["chain_verified"], true);
    let (_, tally) = get(&client(), s.url(&format!("/api/elections/{id}/tally"))).await;
    assert_eq!(tally["total"], 1);
    s.kill();

    // Change the candidate of the vote on chain, directly in SQLite.
    let db = dir.path().join("test.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let changed = sqlx::query("UPDATE votes SET candidate_id = ? WHERE block_hash IS NOT NULL")
        .bind(e.candidates[2])
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 1);
    pool.close().await;

    let s = Server::start(dir.path());
    let (_, detail) = get(&client(), s.url(&format!("/api/elections/{id}"))).await;
    assert_eq!(detail["chain_verified"], false);
    assert!(
        detail["integrity_problem"]
            .as_str()
            .unwrap()
            .contains("block 1"),
        "{detail}"
    );
    let (st, body) = vote(&s, id, &e.codes[2], e.candidates[0]).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(body["error"], "chain_integrity");
    let (st, _) = get(&client(), s.url(&format!("/api/elections/{id}/tally"))).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(
        s.stderr_text().contains("TAMPERING DETECTED"),
        "{}",
        s.stderr_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_passwords_or_codes_is_rate_limited_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Limits", 1, true).await;
    let before = table_counts(&s.db).await;

    let guesser = client();
    for _ in 0..10 {
        let (st, r) = post(
            &guesser,
            s.url("/api/session"),
            json!({"username": "admin", "password": "not the password"}),
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{r}");
    }
    let (st, r) = post(
        &guesser,
        s.url("/api/session"),
        json!({"username": "admin", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{r}");
    assert_eq!(r["error"], "rate_limited");
    let (st, _) = get(&guesser, s.url("/api/session")).await;
    assert_eq!(
        st,
        StatusCode::UNAUTHORIZED,
        "a limited sign-in must not open a session"
    );

    for i in 0..20 {
        let wrong = format!("{:0>24}", i);
        let (st, r) = vote(&s, e.election, &wrong, e.candidates[0]).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{r}");
    }
    let (st, r) = vote(&s, e.election, &e.codes[0], e.candidates[0]).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{r}");
    assert_eq!(r["error"], "rate_limited");
    assert!(r["message"].as_str().unwrap().contains("try again"));
    assert_eq!(table_counts(&s.db).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competing_blocks_go_stale_and_rejected_blocks_return_votes_to_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Races", 3, true).await;
    let id = e.election;
    let receipt = |r: Value| r["receipt"].as_str().unwrap().to_owned();
    let a = receipt(vote(&s, id, &e.codes[0], e.candidates[0]).await.1);
    mine_once(&s, id); // block X: [a]
    let b = receipt(vote(&s, id, &e.codes[1], e.candidates[1]).await.1);
    let mut y = template(&s, id).await; // same parent, [a, b]
    assert_eq!(y.votes.len(), 2);
    y.header.miner_tag = ledger::block::MinerTag::from_text("rival");
    mine(&mut y);
    let (st, r) = post(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks")),
        serde_json::to_value(&y).unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{r}");
    let (_, aw) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks?status=awaiting")),
    )
    .await;
    assert_eq!(aw.as_array().unwrap().len(), 2);
    let x = aw
        .as_array()
        .unwrap()
        .iter()
        .find(|blk| blk["miner_tag"] == "cli-test")
        .unwrap()["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let y_hash = y.hash().to_hex();

    let v1 = login(&s, "validator1", VALIDATOR_PASSWORD).await;
    let v2 = login(&s, "validator2", VALIDATOR_PASSWORD).await;
    for v in [&v1, &v2] {
        let (st, r) = post(
            v,
            s.url(&format!("/api/elections/{id}/blocks/{x}/approve")),
            json!({}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    let (_, rival) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks/{y_hash}")),
    )
    .await;
    assert_eq!(rival["status"], "stale");
    let (st, r) = post(
        &v1,
        s.url(&format!("/api/elections/{id}/blocks/{y_hash}/approve")),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{r}");
    let (_, ra) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/receipts/{a}")),
    )
    .await;
    assert_eq!(ra["status"], "appended");
    let (_, rb) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/receipts/{b}")),
    )
    .await;
    assert_eq!(
        rb["status"], "pending",
        "the stale block's other vote is back in the pool"
    );

    // Block Z carries b; one rejection with quorum 2 of 2 validators discards it.
    mine_once(&s, id);
    let (_, aw) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks?status=awaiting")),
    )
    .await;
    let z = aw[0]["hash"].as_str().unwrap().to_owned();
    let (_, rb) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/receipts/{b}")),
    )
    .await;
    assert_eq!(rb["status"], "awaiting_approval");
    let (st, r) = post(
        &v2,
        s.url(&format!("/api/elections/{id}/blocks/{z}/reject")),
        json!({"reason": "I could not check it"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "rejected");
    assert_eq!(r["rejections"], 1);
    let (_, rb) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/receipts/{b}")),
    )
    .await;
    assert_eq!(rb["status"], "pending");
    let (_, detail) = get(&client(), s.url(&format!("/api/elections/{id}/blocks/{z}"))).await;
    assert_eq!(detail["decisions"][0]["reason"], "I could not check it");
    let (_, tally) = get(&client(), s.url(&format!("/api/elections/{id}/tally"))).await;
    assert_eq!(tally["total"], 1);
}

/// A client that keeps cookies but does not follow redirects, to read where a form sends
/// it, and that asks for HTML as a browser does (a page's action then answers with a
/// redirect, as it does for a browser without JavaScript).
fn form_client() -> reqwest::Client {
    let mut html = reqwest::header::HeaderMap::new();
    html.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static("text/html,application/xhtml+xml"),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(html)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn form_post(
    c: &reqwest::Client,
    url: String,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let r = c.post(url).form(form).send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_forms_refuse_strangers_other_roles_and_forged_posts() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Forms", 1, true).await;
    vote(&s, e.election, &e.codes[0], e.candidates[0]).await;
    mine_once(&s, e.election);
    let (_, aw) = get(
        &client(),
        s.url(&format!(
            "/api/elections/{}/blocks?status=awaiting",
            e.election
        )),
    )
    .await;
    let hash = aw[0]["hash"].as_str().unwrap().to_owned();
    let election = e.election.to_string();
    let before = table_counts(&s.db).await;

    let anonymous = form_client();
    let as_admin = form_client();
    let (st, to) = form_post(
        &as_admin,
        s.url("/sfn/login"),
        &[("username", "admin"), ("password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!((st, to.as_str()), (StatusCode::FOUND, "/admin"));
    let as_validator = form_client();
    let (_, to) = form_post(
        &as_validator,
        s.url("/sfn/login"),
        &[("username", "validator1"), ("password", VALIDATOR_PASSWORD)],
    )
    .await;
    assert_eq!(to, "/validator");
    let bad = form_client();
    let (_, to) = form_post(
        &bad,
        s.url("/sfn/login"),
        &[("username", "validator1"), ("password", "wrong password")],
    )
    .await;
    assert_eq!(to, "/login?error=bad_credentials");

    let decide_url = s.url("/sfn/validator/approve");
    let cases = [
        ("anonymous", &anonymous, "/login"),
        ("admin", &as_admin, "/login"),
        (
            "validator without the session's token",
            &as_validator,
            "/validator?error=csrf",
        ),
    ];
    for (who, c, expected) in cases {
        let (_, to) = form_post(
            c,
            decide_url.clone(),
            &[
                ("csrf", "forged"),
                ("election", &election),
                ("block", &hash),
            ],
        )
        .await;
        assert_eq!(to, expected, "{who}");
    }
    let (_, to) = form_post(
        &as_validator,
        s.url("/sfn/validator/reject"),
        &[("election", &election), ("block", &hash), ("reason", "no")],
    )
    .await;
    assert_eq!(to, "/validator?error=csrf", "no token at all");
    assert_eq!(
        table_counts(&s.db).await,
        before,
        "a refused form changed the database"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_link_creates_the_first_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let prefix = format!("{}/setup?token=", s.base);
    let token = s
        .startup
        .iter()
        .find_map(|l| l.trim().strip_prefix(prefix.as_str()))
        .expect("the first start prints a set-up link")
        .to_owned();
    let c = form_client();
    let setup = |token: &str, password: &str| {
        let (c, url) = (c.clone(), s.url("/sfn/setup"));
        let form = [
            ("token", token.to_owned()),
            ("username", "chief".to_owned()),
            ("password", password.to_owned()),
        ];
        async move {
            let r = c.post(url).form(&form).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::FOUND);
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let accounts = || async { table_counts(&s.db).await[0].1 };

    assert_eq!(
        setup("00ff", ADMIN_PASSWORD).await,
        "/setup?error=invalid_token"
    );
    for short in ["short", "eleven char"] {
        assert_eq!(
            setup(&token, short).await,
            format!("/setup?token={token}&error=invalid_input"),
            "a password needs 12 characters"
        );
    }
    assert_eq!(accounts().await, 0, "refused set-ups create nobody");
    assert_eq!(setup(&token, ADMIN_PASSWORD).await, "/admin");
    let (st, me) = get(&c, s.url("/api/session")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["role"], "admin");
    assert_eq!(
        setup(&token, ADMIN_PASSWORD).await,
        "/setup?error=invalid_token",
        "the link works once"
    );
    assert_eq!(accounts().await, 1);

    // Once an admin exists, a restart prints no link.
    s.kill();
    let s = Server::start(dir.path());
    assert!(!s.startup.iter().any(|l| l.contains("/setup?token=")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_and_validator_pages_and_forms_refuse_anyone_else() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Roles", 1, false).await;
    let id = e.election;
    let before = table_counts(&s.db).await;

    let anonymous = form_client();
    let as_admin = form_client();
    form_post(
        &as_admin,
        s.url("/sfn/login"),
        &[("username", "admin"), ("password", ADMIN_PASSWORD)],
    )
    .await;
    let as_validator = form_client();
    form_post(
        &as_validator,
        s.url("/sfn/login"),
        &[("username", "validator1"), ("password", VALIDATOR_PASSWORD)],
    )
    .await;

    // Pages: rendered on the server, so the refusal is in the HTML itself.
    let pages = [
        (
            "/admin",
            "Sign in as an election officer",
            "This page is for election officers",
            "Election office",
        ),
        (
            &*format!("/admin/e/{id}"),
            "Sign in as an election officer",
            "This page is for election officers",
            "Roles",
        ),
        (
            "/validator",
            "Sign in as a validator",
            "Validator dashboard",
            "This page is for validators",
        ),
    ];
    for (path, anon_sees, validator_sees, admin_sees) in pages {
        for (who, c, expected) in [
            ("anonymous", &anonymous, anon_sees),
            ("validator", &as_validator, validator_sees),
            ("admin", &as_admin, admin_sees),
        ] {
            let html = c
                .get(s.url(path))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(
                html.contains(expected),
                "{path} as {who}: expected {expected:?}"
            );
        }
    }
    // The validator dashboard refuses the admin, and the office refuses the validator.
    let html = as_admin
        .get(s.url("/validator"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Blocks awaiting approval"));

    // Forms: anonymous users and validators are sent to sign in; nothing changes.
    let (election, candidate) = (id.to_string(), e.candidates[0].to_string());
    let csrf_less = [
        ("csrf", "x"),
        ("election", &election),
        ("candidate", &candidate),
        ("title", "Sneaky"),
        ("name", "Sneaky"),
        ("remove", "yes"),
        ("username", "validator1"),
        ("password", "a long enough password"),
    ];
    let page = format!("/admin/e/{id}?error=csrf");
    let forms = [
        ("/sfn/admin/elections", "/admin?error=csrf"),
        ("/sfn/admin/candidates/add", &*page),
        ("/sfn/admin/candidates/change", &*page),
        ("/sfn/admin/validators", &*page),
        ("/sfn/admin/open", &*page),
        ("/sfn/admin/close", &*page),
    ];
    for (path, refused) in forms {
        for (who, c) in [("anonymous", &anonymous), ("validator", &as_validator)] {
            let (st, to) = form_post(c, s.url(path), &csrf_less).await;
            assert_eq!(
                (st, to.as_str()),
                (StatusCode::FOUND, "/login"),
                "{path} as {who}"
            );
        }
        let (_, to) = form_post(&as_admin, s.url(path), &csrf_less).await;
        assert_eq!(to, refused, "{path} as admin without the session's token");
    }
    for (who, c, expected) in [
        ("anonymous", &anonymous, "/login"),
        ("validator", &as_validator, "/login"),
        ("admin without token", &as_admin, &*page),
    ] {
        let form = reqwest::multipart::Form::new()
            .text("csrf", "x")
            .text("name", "Sneaky");
        let r = c
            .post(s.url(&format!("/admin/e/{id}/voters")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["location"], expected, "voters as {who}");
    }
    assert_eq!(
        table_counts(&s.db).await,
        before,
        "a refused form changed the database"
    );
}

/// `If-None-Match` on the template: 304 while nothing changed, 200 with a new tag once a
/// vote arrives or the tip moves. And the raw block a validator's browser re-checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn miners_poll_the_template_by_etag_and_validators_fetch_raw_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Polling", 3, true).await;
    let id = e.election;
    let work = s.url(&format!("/api/elections/{id}/work"));
    let poll = |etag: Option<String>| {
        let (c, url) = (client(), work.clone());
        async move {
            let mut req = c.get(url);
            if let Some(tag) = etag {
                req = req.header("if-none-match", tag);
            }
            let r = req.send().await.unwrap();
            let tag = r
                .headers()
                .get("etag")
                .map(|v| v.to_str().unwrap().to_owned());
            (r.status(), tag, r.text().await.unwrap())
        }
    };
    // Nothing to mine: a JSON 409, no tag.
    let (st, tag, body) = poll(None).await;
    assert_eq!((st, tag), (StatusCode::CONFLICT, None), "{body}");
    assert_eq!(
        vote(&s, id, &e.codes[0], e.candidates[0]).await.0,
        StatusCode::ACCEPTED
    );
    let (st, tag, _) = poll(None).await;
    assert_eq!(st, StatusCode::OK);
    let tag = tag.expect("a template carries an ETag");
    // Unchanged: 304 with no body, however often the page asks (the timestamp moves on).
    for stale_first in [false, true] {
        let offered = if stale_first {
            format!("\"old\", {tag}")
        } else {
            tag.clone()
        };
        let (st, again, body) = poll(Some(offered)).await;
        assert_eq!(st, StatusCode::NOT_MODIFIED);
        assert_eq!(again.as_deref(), Some(tag.as_str()));
        assert!(body.is_empty());
    }
    // A wrong tag gets the template.
    assert_eq!(poll(Some("\"x\"".into())).await.0, StatusCode::OK);
    // A new vote changes the template, so the tag.
    assert_eq!(
        vote(&s, id, &e.codes[1], e.candidates[1]).await.0,
        StatusCode::ACCEPTED
    );
    let (st, tag2, _) = poll(Some(tag.clone())).await;
    assert_eq!(st, StatusCode::OK);
    assert_ne!(tag2.as_deref(), Some(tag.as_str()));

    // The raw block is the block as mined: its hash is the one asked for.
    let out = mine_once(&s, id);
    let (_, awaiting) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks?status=awaiting")),
    )
    .await;
    let hash = awaiting[0]["hash"].as_str().unwrap().to_owned();
    assert!(out.contains(&hash[..16]), "{out}");
    let (st, raw) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks/{hash}/raw")),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{raw}");
    let block: ledger::Block = serde_json::from_value(raw).unwrap();
    assert_eq!(block.hash().to_string(), hash);
    assert_eq!(block.votes.len(), 2);
    // While that block waits, the template is unchanged; once it is appended, the tip
    // moved and the remaining pool is empty.
    assert_eq!(poll(tag2.clone()).await.0, StatusCode::NOT_MODIFIED);
    // Bad requests: malformed hash, unknown block, block of another election.
    let other = open_election(&s, &admin, "Other", 1, true).await.election;
    for (url, want) in [
        (
            format!("/api/elections/{id}/blocks/xyz/raw"),
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("/api/elections/{id}/blocks/{}/raw", "0".repeat(64)),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/api/elections/{other}/blocks/{hash}/raw"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (st, body) = get(&client(), s.url(&url)).await;
        assert_eq!(st, want, "{url}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_is_changed_by_its_holder_who_knows_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let url = s.url("/api/session/password");
    let change = |c: &reqwest::Client, current: &str, new: &str| {
        let body = json!({"current_password": current, "new_password": new});
        let (c, url) = (c.clone(), url.clone());
        async move {
            let r = c.put(url).json(&body).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let new_password = "a brand new passphrase";
    let before = table_counts(&s.db).await;

    let (st, body) = change(&client(), ADMIN_PASSWORD, new_password).await;
    refusal("signed out", st, &body, 401, "unauthenticated");
    let (st, body) = change(&admin, "not the password", new_password).await;
    refusal("wrong current password", st, &body, 401, "bad_credentials");
    let (st, body) = change(&admin, ADMIN_PASSWORD, "too short").await;
    refusal("new password too short", st, &body, 400, "invalid_input");
    assert_eq!(table_counts(&s.db).await, before);
    login(&s, "admin", ADMIN_PASSWORD).await;

    let (st, _) = change(&admin, ADMIN_PASSWORD, new_password).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, body) = post(
        &client(),
        s.url("/api/session"),
        json!({"username": "admin", "password": ADMIN_PASSWORD}),
    )
    .await;
    refusal(
        "the old password after the change",
        st,
        &body,
        401,
        "bad_credentials",
    );
    login(&s, "admin", new_password).await;
}
