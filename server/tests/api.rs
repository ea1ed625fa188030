//! The JSON API and the CLI against the real binary, each test with its own database.

mod common;

use common::*;
use ledger::{
    BlockHash, CandidateId, ElectionId, MerkleRoot, PublicKey, Signature, TxId, VotingCode,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use wire::{
    Acceptance, BlockStatus, ElectionState, ErrorCode, NewVoter, ReceiptStatus, Role, Roll, VoterId,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_flow_from_registration_to_verified_tally() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Board election", 0, false).await;
    let id = ElectionId(e.election as u64);
    let candidate = |i: usize| CandidateId(e.candidates[i] as u32);
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);

    // Voters by a keys file, with a header row and an optional external id: the codes
    // are made here, and the server is given only their keys.
    let made: Vec<ledger::VotingCode> = (0..4).map(|_| new_code()).collect();
    let mut csv = String::from("name,external_id,public_key\n");
    for ((name, external), code) in [("Alice", "A1"), ("Bob", "B2"), ("Carol", ""), ("Dan", "D4")]
        .iter()
        .zip(&made)
    {
        csv += &format!("{name},{external},{}\n", code.public_key(id).to_hex());
    }
    let r = admin
        .post(s.url(&format!("/api/elections/{id}/voters")))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let registered: wire::Registration = r.json().await.unwrap();
    assert_eq!(registered.voters.len(), 4);
    let keys: Vec<_> = made.iter().map(|c| c.public_key(id)).collect();
    assert_eq!(registered.roll, wire::Roll::of(&keys));
    let codes: Vec<String> = made.iter().map(ToString::to_string).collect();
    let opened = office.open(id).await;
    assert_eq!((opened.state, opened.voters), (ElectionState::Open, 4));
    assert_eq!(opened.roll, registered.roll);

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

    // Two approvals, each signed with its validator's own key and sent without any
    // session, reach the quorum: the block is appended.
    let first = anyone.approve(id, &hash, &e.validators[0]).await.unwrap();
    assert_eq!((first.status, first.approvals), (BlockStatus::Awaiting, 1));
    let second = anyone.approve(id, &hash, &e.validators[1]).await.unwrap();
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

    // The tally is the turnout and the encrypted sums; no count until the trustees
    // decrypt, and then the counts cast.
    let tally = anyone.tally(id).await.unwrap();
    assert_eq!((tally.turnout, tally.result), (3, None));
    let (_, chain) = get(&client(), s.url(&format!("/api/elections/{id}/blocks"))).await;
    assert_eq!(chain.as_array().unwrap().len(), 1);

    // The export re-verifies offline, from a file and from the URL, with the same tally.
    let parsed = anyone.export(id).await.unwrap();
    let t = ledger::verify_export(&parsed).unwrap();
    assert_eq!(tally.sums, t.sums);
    assert_eq!(decrypted(&parsed.genesis, &t, &e.trustees), [1, 2, 0]);
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
            text.contains("chain verified") && text.contains("3 ballots"),
            "{text}"
        );
    }
    // A tampered export does not verify.
    let mut bad = export.clone();
    let ballot = bad["blocks"][0]["block"]["votes"][0]["ballot"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if &ballot[100..101] == "0" { "1" } else { "0" };
    bad["blocks"][0]["block"]["votes"][0]["ballot"] =
        json!(format!("{}{flipped}{}", &ballot[..100], &ballot[101..]));
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
    let (k1, k2) = (&e.validators[0], &e.validators[1]);
    let (_, aw) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks?status=awaiting")),
    )
    .await;
    let first = aw[0]["hash"].as_str().unwrap().to_owned();
    for k in [k1, k2] {
        let (st, _) = approve_as(&s, id, &first, k).await;
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
    let (st, _) = approve_as(&s, id, &second, k1).await;
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
    let big = "x".repeat(40_000);
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
    b.votes[0].ballot = ballot_for(&Api::anonymous(&s).genesis(ElectionId(id as u64)).await, 2);
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

    // A session is no authority to decide: only a validator's signature is.
    let approve_second = s.url(&format!("/api/elections/{id}/blocks/{second}/approve"));
    let (st, r) = post(&admin, approve_second.clone(), json!({})).await;
    refusal("unsigned approval by an admin", st, &r, 400, "malformed");
    let (st, r) = post(&v1, approve_second.clone(), json!({})).await;
    refusal("unsigned approval by a validator", st, &r, 400, "malformed");
    let (st, r) = approve_as(&s, id, &second, k1).await;
    refusal("same validator approving twice", st, &r, 409, "duplicate");
    let (st, r) = reject_as(&s, id, &second, k2, "  ").await;
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
    let here = ElectionId(setup_only.election as u64);
    let key = || new_code().public_key(here).to_hex();
    let r = admin
        .post(s.url(&format!("/api/elections/{here}/voters")))
        .header("content-type", "text/csv")
        .body(format!(
            "name,external_id,public_key\nEve,E1,{}\n,E2,{}\nFay,E1,{}\nGus,,12ab\n",
            key(),
            key(),
            key()
        ))
        .send()
        .await
        .unwrap();
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    refusal("keys file with bad rows", st, &body, 400, "bad_rows");
    let details = body["details"].to_string();
    assert!(
        details.contains("line 3")
            && details.contains("line 4")
            && details.contains("line 5: the public key is not 64 hex digits")
            && !details.contains("line 2"),
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
    for k in &e.validators {
        assert_eq!(approve_as(&s, id, &hash, k).await.0, StatusCode::OK);
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
    assert_eq!(tally["turnout"], 1);
    s.kill();

    // Give the vote on chain the pending vote's ballot, directly in the database.
    let changed = Db::of(dir.path())
        .execute(
            "UPDATE votes SET ballot = (SELECT v2.ballot FROM votes v2 WHERE v2.block_hash IS NULL)
             WHERE block_hash IS NOT NULL",
        )
        .await;
    assert_eq!(changed, 1);

    let s = Server::start(dir.path());
    let (_, detail) = get(&client(), s.url(&format!("/api/elections/{id}"))).await;
    assert_eq!(
        (&detail["chain_verified"], &detail["chain_check"]),
        (&json!(false), &json!("altered"))
    );
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
async fn forged_signed_votes_count_toward_the_limit_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Forgeries", 1, true).await;
    let id = ElectionId(e.election as u64);
    let before = table_counts(&s.db).await;
    // A registered voter's key (public in the genesis block), a valid ballot, a signature
    // that is not the voter's: each is refused before its ballot's proofs are checked.
    let genesis = Api::anonymous(&s).genesis(id).await;
    let code = ledger::VotingCode::parse(&e.codes[0]).unwrap();
    let url = s.url(&format!("/api/elections/{id}/votes"));
    let forger = client();
    for _ in 0..20 {
        let mut vote = ledger::Vote::sign(&code.signing_key(id), id, ballot_for(&genesis, 0), 1);
        vote.signature = Signature([7; 64]);
        let (st, body) = post(&forger, url.clone(), json!({ "vote": vote })).await;
        refusal("a forged signature", st, &body, 422, "bad_signature");
    }
    let vote = ledger::Vote::sign(&code.signing_key(id), id, ballot_for(&genesis, 0), 1);
    let (st, body) = post(&forger, url, json!({ "vote": vote })).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
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

    let (k1, k2) = (&e.validators[0], &e.validators[1]);
    for k in [k1, k2] {
        let (st, r) = approve_as(&s, id, &x, k).await;
        assert_eq!(st, StatusCode::OK, "{r}");
    }
    let (_, rival) = get(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks/{y_hash}")),
    )
    .await;
    assert_eq!(rival["status"], "stale");
    let (st, r) = approve_as(&s, id, &y_hash, k1).await;
    refusal("approving a stale block", st, &r, 409, "wrong_state");
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
    let (st, r) = reject_as(&s, id, &z, k2, "I could not check it").await;
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
    assert_eq!(tally["turnout"], 1);
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

/// Validators still sign in by form (to see their dashboard), but no form and no session
/// decides on a block: the server holds no key to sign with, so the old form actions are
/// gone and the API wants the validator's own signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_sign_in_by_form_but_no_form_or_session_decides_on_a_block() {
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

    for path in ["/sfn/validator/approve", "/sfn/validator/reject"] {
        for (who, c) in [
            ("anonymous", &anonymous),
            ("admin", &as_admin),
            ("validator", &as_validator),
        ] {
            let (st, to) = form_post(
                c,
                s.url(path),
                &[
                    ("csrf", "forged"),
                    ("election", &election),
                    ("block", &hash),
                    ("reason", "no"),
                ],
            )
            .await;
            assert!(
                st.is_client_error() && to.is_empty(),
                "{path} as {who}: {st} to {to:?}"
            );
        }
    }
    // The invitation form with a token that is no token (it would be put into a redirect):
    // sent home with a refusal, not a dropped connection.
    for token in ["\n", "é", "abc", &"0".repeat(64)] {
        let (st, to) = form_post(
            &anonymous,
            s.url("/sfn/invite/accept"),
            &[
                ("token", token),
                ("password", "a long enough password"),
                ("confirm", "a long enough password"),
            ],
        )
        .await;
        let expected = if token.len() == 64 {
            format!("/invite/{token}?error=not_found")
        } else {
            "/?error=not_found".to_owned()
        };
        assert_eq!((st, to), (StatusCode::FOUND, expected), "token {token:?}");
    }
    for action in ["approve", "reject"] {
        let url = s.url(&format!("/api/elections/{election}/blocks/{hash}/{action}"));
        let r = as_validator
            .post(url)
            .json(&json!({"reason": "no"}))
            .send()
            .await
            .unwrap();
        let st = r.status();
        let body: Value = r.json().await.unwrap();
        refusal(
            &format!("{action} with a validator's session only"),
            st,
            &body,
            400,
            "malformed",
        );
    }
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
            let html = page_text(c, s.url(path)).await;
            assert!(
                html.contains(expected),
                "{path} as {who}: expected {expected:?}"
            );
        }
    }
    // The validator dashboard refuses the admin, and the office refuses the validator.
    let html = page_text(&as_admin, s.url("/validator")).await;
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
        ("/sfn/admin/ceremony", &*page),
        ("/sfn/admin/final", &*page),
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
    // The trustee forms, whose answers show an invitation link once.
    for path in [
        format!("/admin/e/{id}/trustees"),
        format!("/admin/e/{id}/trustees/1/replace"),
    ] {
        for (who, c) in [("anonymous", &anonymous), ("validator", &as_validator)] {
            let (st, to) = form_post(c, s.url(&path), &csrf_less).await;
            assert_eq!(
                (st.is_redirection(), to.as_str()),
                (true, "/login"),
                "{path} as {who}"
            );
        }
        let (_, to) = form_post(&as_admin, s.url(&path), &csrf_less).await;
        assert_eq!(to, page, "{path} as admin without the session's token");
    }
    // With the session's token, bad input is refused with its reason: a blank name, a
    // seat that does not exist, a threshold that is no number.
    let html = page_text(&as_admin, s.url(&format!("/admin/e/{id}"))).await;
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the office page carries the session's token")
        .to_owned();
    for (path, form, error) in [
        (
            format!("/admin/e/{id}/trustees"),
            vec![("csrf", token.as_str()), ("name", "  ")],
            "invalid_input",
        ),
        (
            format!("/admin/e/{id}/trustees/999/replace"),
            vec![("csrf", token.as_str())],
            "not_found",
        ),
        (
            "/sfn/admin/ceremony".to_owned(),
            vec![
                ("csrf", token.as_str()),
                ("election", &election),
                ("threshold", "two"),
            ],
            "invalid_input",
        ),
    ] {
        let (_, to) = form_post(&as_admin, s.url(&path), &form).await;
        assert_eq!(to, format!("/admin/e/{id}?error={error}"), "{path}");
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
    // While that block waits with every waiting vote, there is nothing new to mine: a
    // second miner would only make a duplicate.
    let (st, _, body) = poll(tag2.clone()).await;
    assert_eq!(st, StatusCode::CONFLICT);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "nothing_to_mine", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("already in block 1 ({hash})")),
        "{body}"
    );
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
    // A second session, elsewhere (perhaps whoever learnt the old password).
    let elsewhere = login(&s, "admin", ADMIN_PASSWORD).await;
    let whoami = |c: &reqwest::Client| {
        let (c, url) = (c.clone(), s.url("/api/session"));
        async move { get(&c, url).await.0 }
    };
    assert_eq!(whoami(&elsewhere).await, StatusCode::OK);

    let (st, _) = change(&admin, ADMIN_PASSWORD, new_password).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    // The change ends every other session of the account; the one that made it stays.
    assert_eq!(whoami(&admin).await, StatusCode::OK);
    let (st, body) = get(&elsewhere, s.url("/api/session")).await;
    refusal(
        "a session opened before the change",
        st,
        &body,
        401,
        "unauthenticated",
    );
    let (st, body) = change(&elsewhere, new_password, "yet another passphrase").await;
    refusal(
        "changing it again from there",
        st,
        &body,
        401,
        "unauthenticated",
    );
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

/// A body as JSON.
fn body(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

/// The current time in Unix milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// An acceptance with only a password.
fn with_password(password: &str) -> Acceptance {
    Acceptance {
        password: Some(password.into()),
        key: None,
    }
}

/// An acceptance with a password and a key's proof over `challenge`.
fn with_key(password: Option<&str>, proof: wire::KeyProof) -> Acceptance {
    Acceptance {
        password: password.map(Into::into),
        key: Some(proof),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_makes_one_account_with_the_invitees_own_password_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let office = api_of(&s, &admin);
    let anyone = Api::anonymous(&s);
    let k1 = ensure_validator(&s, &office, "validator1").await;
    let as_validator = Api::signed_in(&s, "validator1", VALIDATOR_PASSWORD).await;

    // An officer's invitation and a validator's: each link once, with its own challenge.
    let chief = office.invite("chief", Role::Admin).await.unwrap();
    assert_eq!(
        (chief.username.as_str(), chief.role, chief.rekey),
        ("chief", Role::Admin, false)
    );
    assert_eq!(chief.path, format!("/invite/{}", chief.token));
    let hours = |ms: u64| ms.saturating_sub(now_ms()) / 3_600_000;
    assert!((71..=72).contains(&hours(chief.expires_at)), "72 hours");
    let chief_info = anyone.invitation(&chief.token).await.unwrap();
    assert_eq!(
        (
            chief_info.username.as_str(),
            chief_info.role,
            chief_info.rekey,
            chief_info.expires_at
        ),
        ("chief", Role::Admin, false, chief.expires_at)
    );
    let invited = office.invite("validator9", Role::Validator).await.unwrap();
    assert_eq!((invited.role, invited.rekey), (Role::Validator, false));
    let info = anyone.invitation(&invited.token).await.unwrap();
    assert_eq!(
        (info.username.as_str(), info.role),
        ("validator9", Role::Validator)
    );
    for challenge in [&info.challenge, &chief_info.challenge] {
        assert!(
            challenge.len() == 64 && hex::decode(challenge).is_ok(),
            "{challenge}"
        );
    }
    assert_ne!(
        info.challenge, chief_info.challenge,
        "a fresh challenge each"
    );
    let key = new_key();

    let before = table_counts(&s.db).await;
    // The old way is gone: nobody sets another person's password.
    let (st, r) = post(
        &admin,
        s.url("/api/accounts"),
        json!({"username": "someone", "password": VALIDATOR_PASSWORD, "role": "validator"}),
    )
    .await;
    assert!(
        matches!(st.as_u16(), 404 | 405),
        "POST /api/accounts: {st} {r}"
    );
    // Only an admin invites.
    refused(anyone.invite("someone", Role::Admin).await, "signed out")
        .is(401, ErrorCode::Unauthenticated);
    refused(
        as_validator.invite("someone", Role::Validator).await,
        "a validator inviting",
    )
    .is(403, ErrorCode::Forbidden);
    refused(
        office.invite("validator1", Role::Validator).await,
        "taken name",
    )
    .is(409, ErrorCode::Duplicate);
    refused(
        office.invite("admin", Role::Admin).await,
        "the admin's name",
    )
    .is(409, ErrorCode::Duplicate);
    refused(office.invite("a b", Role::Admin).await, "bad name").is(400, ErrorCode::InvalidInput);
    let (st, r) = post(
        &admin,
        s.url("/api/invitations"),
        json!({"username": "someone", "role": "king"}),
    )
    .await;
    refusal("unknown role", st, &r, 400, "malformed");
    // Unknown links.
    for token in ["0".repeat(64), "nope".to_owned()] {
        anyone
            .invitation(&token)
            .await
            .unwrap_err()
            .is(404, ErrorCode::NotFound);
        anyone
            .accept(&token, &with_password(VALIDATOR_PASSWORD))
            .await
            .unwrap_err()
            .is(404, ErrorCode::NotFound);
    }
    // An officer's invitation: a password of 12 characters or more, and no key.
    for (case, acceptance) in [
        ("no password", Acceptance::default()),
        ("short password", with_password("eleven char")),
        (
            "a key for an admin",
            with_key(Some(ADMIN_PASSWORD), key_proof(&key, &chief_info.challenge)),
        ),
    ] {
        let r = anyone.accept(&chief.token, &acceptance).await.unwrap_err();
        assert_eq!(r.body.error, ErrorCode::InvalidInput, "{case}: {r:?}");
        r.is(400, ErrorCode::InvalidInput);
    }
    // A validator's: a key with a proof of possession over this invitation's challenge.
    let mut foreign = key_proof(&key, &info.challenge);
    foreign.proof = key_proof(&new_key(), &info.challenge).proof;
    let v1_proof = key_proof(&k1, &info.challenge);
    for (case, acceptance, status, code) in [
        (
            "no key",
            with_password(VALIDATOR_PASSWORD),
            400,
            ErrorCode::InvalidInput,
        ),
        (
            "short password",
            with_key(Some("short"), key_proof(&key, &info.challenge)),
            400,
            ErrorCode::InvalidInput,
        ),
        (
            "proof made with another key",
            with_key(Some(VALIDATOR_PASSWORD), foreign),
            422,
            ErrorCode::BadSignature,
        ),
        (
            "proof replayed from another invitation's challenge",
            with_key(
                Some(VALIDATOR_PASSWORD),
                key_proof(&key, &chief_info.challenge),
            ),
            422,
            ErrorCode::BadSignature,
        ),
        (
            "a key another account holds",
            with_key(Some(VALIDATOR_PASSWORD), v1_proof),
            409,
            ErrorCode::Duplicate,
        ),
    ] {
        let r = anyone
            .accept(&invited.token, &acceptance)
            .await
            .unwrap_err();
        assert_eq!(
            (r.status.as_u16(), r.body.error),
            (status, code),
            "{case}: {r:?}"
        );
        r.is(status, code);
    }
    let (st, r) = post(
        &client(),
        s.url(&format!("/api/invitations/{}/accept", invited.token)),
        json!({"password": VALIDATOR_PASSWORD, "key": {"public_key": "xyz", "proof": "00"}}),
    )
    .await;
    refusal("a malformed key", st, &r, 400, "malformed");
    assert_eq!(
        table_counts(&s.db).await,
        before,
        "a refused invitation or acceptance changed the database"
    );
    // The invitations still work after all those refusals.
    assert_eq!(anyone.invitation(&invited.token).await.unwrap(), info);

    // Accepted: the accounts exist with the passwords their holders chose, and the key.
    let chief_password = "the chief's own password";
    let account = anyone
        .accept(&chief.token, &with_password(chief_password))
        .await
        .unwrap();
    assert_eq!(
        (account.username.as_str(), account.role, account.public_key),
        ("chief", Role::Admin, None)
    );
    let chief_api = Api::signed_in(&s, "chief", chief_password).await;
    chief_api.invite("deputy", Role::Admin).await.unwrap();
    let account = anyone
        .accept(
            &invited.token,
            &with_key(Some(VALIDATOR_PASSWORD), key_proof(&key, &info.challenge)),
        )
        .await
        .unwrap();
    assert_eq!(
        (account.username.as_str(), account.role, account.public_key),
        ("validator9", Role::Validator, Some(public_of(&key)))
    );
    let (st, me) = get(
        &login(&s, "validator9", VALIDATOR_PASSWORD).await,
        s.url("/api/session"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["public_key"], public_of(&key).to_hex());

    // Used, expired, or superseded by a newer link for the same name: 410 Gone.
    let late = office.invite("late", Role::Admin).await.unwrap();
    assert_eq!(
        s.db.execute("UPDATE invitations SET expires_at = 0 WHERE username = 'late'")
            .await,
        1
    );
    let first = office.invite("twice", Role::Admin).await.unwrap();
    let second = office.invite("twice", Role::Admin).await.unwrap();
    assert_ne!(first.token, second.token);
    let before = table_counts(&s.db).await;
    for (case, token) in [
        ("used (officer)", &chief.token),
        ("used (validator)", &invited.token),
        ("expired", &late.token),
        ("superseded", &first.token),
    ] {
        let r = anyone.invitation(token).await.unwrap_err();
        assert_eq!(r.body.error, ErrorCode::Gone, "{case}: {r:?}");
        r.is(410, ErrorCode::Gone);
        let r = anyone
            .accept(token, &with_password("another password entirely"))
            .await
            .unwrap_err();
        assert_eq!(r.body.error, ErrorCode::Gone, "{case}: {r:?}");
        r.is(410, ErrorCode::Gone);
    }
    refused(
        office.invite("validator9", Role::Validator).await,
        "the name of an accepted invitation",
    )
    .is(409, ErrorCode::Duplicate);
    assert_eq!(
        table_counts(&s.db).await,
        before,
        "a refused acceptance changed the database"
    );
    // The newer link for the same name works.
    anyone
        .accept(&second.token, &with_password("twice's own password"))
        .await
        .unwrap();
    // The refused second acceptance of the chief's link did not change their password.
    login(&s, "chief", chief_password).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_is_signed_by_the_validators_own_key_and_needs_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Signed", 2, true).await;
    let id = e.election;
    let (k1, k2) = (&e.validators[0], &e.validators[1]);
    // validator3 holds a key of its own, but this election's genesis block does not list it.
    let k3 = ensure_validator(&s, &api_of(&s, &admin), "validator3").await;
    let v1_session = login(&s, "validator1", VALIDATOR_PASSWORD).await;
    vote(&s, id, &e.codes[0], e.candidates[0]).await;
    mine_once(&s, id);
    let anyone = Api::anonymous(&s);
    let hash = anyone.awaiting(ElectionId(id as u64)).await[0].hash;
    let h = hash.to_hex();
    let other_block = BlockHash([9; 32]);
    let approve_url = s.url(&format!("/api/elections/{id}/blocks/{h}/approve"));
    let reject_url = s.url(&format!("/api/elections/{id}/blocks/{h}/reject"));
    let anon = client();

    let before = table_counts(&s.db).await;
    let valid = signed_approval(k1, hash);
    let mut by_another_key = valid.clone();
    by_another_key.signature = signed_approval(k2, hash).signature;
    let mut zero_signature = valid.clone();
    zero_signature.signature = Signature([0; 64]);
    let rejection = signed_rejection(k1, hash, "the votes look wrong");
    let mut reworded = rejection.clone();
    reworded.reason = "something else".into();
    let mut approval_as_rejection = rejection.clone();
    approval_as_rejection.signature = valid.signature;
    let unknown_url = s.url(&format!("/api/elections/{id}/blocks/{other_block}/approve"));
    let malformed_url = s.url(&format!("/api/elections/{id}/blocks/xyz/approve"));
    let cases: Vec<(&str, &reqwest::Client, &String, Value, u16, &str)> = vec![
        (
            "no body fields",
            &anon,
            &approve_url,
            json!({}),
            400,
            "malformed",
        ),
        (
            "a session but no signature",
            &v1_session,
            &approve_url,
            json!({}),
            400,
            "malformed",
        ),
        (
            "no signature",
            &anon,
            &approve_url,
            json!({"validator": public_of(k1)}),
            400,
            "malformed",
        ),
        (
            "a malformed key",
            &anon,
            &approve_url,
            json!({"validator": "xyz", "signature": valid.signature}),
            400,
            "malformed",
        ),
        (
            "a rejection without reason",
            &anon,
            &reject_url,
            json!({"validator": public_of(k1), "signature": rejection.signature}),
            400,
            "malformed",
        ),
        (
            "a key no account holds",
            &anon,
            &approve_url,
            body(&signed_approval(&new_key(), hash)),
            403,
            "forbidden",
        ),
        (
            "a validator's key that is not in this genesis block",
            &anon,
            &approve_url,
            body(&signed_approval(&k3, hash)),
            403,
            "forbidden",
        ),
        (
            "a rejection by a key not in this genesis block",
            &anon,
            &reject_url,
            body(&signed_rejection(&k3, hash, "not mine to judge")),
            403,
            "forbidden",
        ),
        (
            "signed by another validator's key",
            &anon,
            &approve_url,
            body(&by_another_key),
            422,
            "bad_signature",
        ),
        (
            "a signature of zeros",
            &anon,
            &approve_url,
            body(&zero_signature),
            422,
            "bad_signature",
        ),
        (
            "signed for another block",
            &anon,
            &approve_url,
            body(&signed_approval(k1, other_block)),
            422,
            "bad_signature",
        ),
        (
            "a rejection signed for another block",
            &anon,
            &reject_url,
            body(&signed_rejection(k1, other_block, "the votes look wrong")),
            422,
            "bad_signature",
        ),
        (
            "a rejection signed for another reason",
            &anon,
            &reject_url,
            body(&reworded),
            422,
            "bad_signature",
        ),
        (
            "an approval's signature on a rejection",
            &anon,
            &reject_url,
            body(&approval_as_rejection),
            422,
            "bad_signature",
        ),
        (
            "a signed rejection with an empty reason",
            &anon,
            &reject_url,
            body(&signed_rejection(k1, hash, "  ")),
            400,
            "invalid_input",
        ),
        (
            "an unknown block",
            &anon,
            &unknown_url,
            body(&signed_approval(k1, other_block)),
            404,
            "not_found",
        ),
        (
            "a malformed block hash",
            &anon,
            &malformed_url,
            body(&valid),
            400,
            "malformed",
        ),
    ];
    for (case, c, url, payload, status, error) in cases {
        let (st, r) = post(c, url.clone(), payload).await;
        refusal(case, st, &r, status, error);
    }
    assert_eq!(
        table_counts(&s.db).await,
        before,
        "a refused decision changed the database"
    );

    // Valid signatures, sent without any session: the quorum of two appends the block.
    let (st, r) = post(&client(), approve_url.clone(), body(&valid)).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(
        (r["status"].as_str(), r["approvals"].as_u64()),
        (Some("awaiting"), Some(1))
    );
    let (st, r) = post(&client(), approve_url.clone(), body(&valid)).await;
    refusal("the same approval replayed", st, &r, 409, "duplicate");
    let (st, r) = post(&client(), reject_url.clone(), body(&rejection)).await;
    refusal("a rejection after approving", st, &r, 409, "duplicate");
    let second = anyone
        .approve(ElectionId(id as u64), &hash, k2)
        .await
        .unwrap();
    assert_eq!(second.status, BlockStatus::Appended);
    let (st, r) = post(&client(), approve_url.clone(), body(&valid)).await;
    refusal("approving an appended block", st, &r, 409, "wrong_state");

    // The record holds each validator's key and signature, and the export carries them.
    let detail = anyone.block(ElectionId(id as u64), &h).await.unwrap();
    let mut keys: Vec<_> = detail
        .decisions
        .iter()
        .map(|d| {
            let approval = ledger::Approval {
                block: hash,
                validator: d.validator_key.unwrap(),
                signature: d.signature.unwrap(),
            };
            assert!(approval.signature_is_valid(), "{d:?}");
            d.validator_key.unwrap()
        })
        .collect();
    keys.sort();
    let mut expected = vec![public_of(k1), public_of(k2)];
    expected.sort();
    assert_eq!(keys, expected);
    let export = anyone.export(ElectionId(id as u64)).await.unwrap();
    assert_eq!(export.blocks[0].approvals.len(), 2);
    ledger::verify_export(&export).unwrap();

    // A rejection, signed with its reason, is recorded as sent.
    vote(&s, id, &e.codes[1], e.candidates[1]).await;
    mine_once(&s, id);
    let next = anyone.awaiting(ElectionId(id as u64)).await[0].hash;
    let rejected = anyone
        .reject(ElectionId(id as u64), &next, k2, "I could not check it")
        .await
        .unwrap();
    assert_eq!(rejected.status, BlockStatus::Rejected);
    let detail = anyone
        .block(ElectionId(id as u64), &next.to_hex())
        .await
        .unwrap();
    let d = &detail.decisions[0];
    assert_eq!(
        (d.approve, d.reason.as_deref(), d.validator_key),
        (false, Some("I could not check it"), Some(public_of(k2)))
    );
    let record = ledger::Rejection {
        block: next,
        validator: public_of(k2),
        reason: "I could not check it".into(),
        signature: d.signature.unwrap(),
    };
    assert!(record.signature_is_valid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_withdraws_a_key_before_sealing_and_its_holder_enrols_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Rekey", 1, false).await;
    let id = ElectionId(e.election as u64);
    let (old, k2) = (e.validators[0].clone(), e.validators[1].clone());
    let office = api_of(&s, &admin);
    let anyone = Api::anonymous(&s);
    let as_validator = Api::signed_in(&s, "validator1", VALIDATOR_PASSWORD).await;

    let before = table_counts(&s.db).await;
    refused(anyone.withdraw_key(id, "validator1").await, "signed out")
        .is(401, ErrorCode::Unauthenticated);
    refused(
        as_validator.withdraw_key(id, "validator1").await,
        "by a validator",
    )
    .is(403, ErrorCode::Forbidden);
    refused(office.withdraw_key(id, "nobody").await, "unknown validator")
        .is(404, ErrorCode::NotFound);
    refused(
        office.withdraw_key(ElectionId(999), "validator1").await,
        "unknown election",
    )
    .is(404, ErrorCode::NotFound);
    assert_eq!(table_counts(&s.db).await, before);

    // Withdrawn: the account keeps its name and password but holds no key, and the
    // election cannot be sealed until its holder proves a new one.
    let issued = office.withdraw_key(id, "validator1").await.unwrap();
    assert_eq!(
        (issued.username.as_str(), issued.role, issued.rekey),
        ("validator1", Role::Validator, true)
    );
    let (st, me) = get(
        &login(&s, "validator1", VALIDATOR_PASSWORD).await,
        s.url("/api/session"),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["public_key"], Value::Null);
    let before = table_counts(&s.db).await;
    let (st, r) = post(
        &admin,
        s.url(&format!("/api/elections/{id}/open")),
        json!({}),
    )
    .await;
    refusal(
        "opening with a keyless validator",
        st,
        &r,
        409,
        "wrong_state",
    );
    assert!(r["message"].as_str().unwrap().contains("validator1"), "{r}");
    let info = anyone.invitation(&issued.token).await.unwrap();
    assert_eq!(
        (info.username.as_str(), info.role, info.rekey),
        ("validator1", Role::Validator, true)
    );
    let new = new_key();
    let other = anyone
        .invitation(&office.invite("someone", Role::Admin).await.unwrap().token)
        .await
        .unwrap();
    let before_accept = table_counts(&s.db).await;
    assert_eq!(
        before_accept
            .iter()
            .find(|(t, _)| t == "invitations")
            .unwrap()
            .1,
        before.iter().find(|(t, _)| t == "invitations").unwrap().1 + 1
    );
    for (case, acceptance, status, code) in [
        (
            "a password with the new key",
            with_key(Some("a new password too"), key_proof(&new, &info.challenge)),
            400,
            ErrorCode::InvalidInput,
        ),
        (
            "no key",
            Acceptance::default(),
            400,
            ErrorCode::InvalidInput,
        ),
        (
            "a proof over another invitation's challenge",
            with_key(None, key_proof(&new, &other.challenge)),
            422,
            ErrorCode::BadSignature,
        ),
        (
            "the key of another validator",
            with_key(None, key_proof(&k2, &info.challenge)),
            409,
            ErrorCode::Duplicate,
        ),
    ] {
        let r = anyone.accept(&issued.token, &acceptance).await.unwrap_err();
        assert_eq!(
            (r.status.as_u16(), r.body.error),
            (status, code),
            "{case}: {r:?}"
        );
        r.is(status, code);
    }
    assert_eq!(
        table_counts(&s.db).await,
        before_accept,
        "a refused re-enrolment changed the database"
    );

    // Re-enrolled with the new key only; the password is the holder's, unchanged.
    let account = anyone
        .accept(
            &issued.token,
            &with_key(None, key_proof(&new, &info.challenge)),
        )
        .await
        .unwrap();
    assert_eq!(
        (account.username.as_str(), account.public_key),
        ("validator1", Some(public_of(&new)))
    );
    refused(
        anyone
            .accept(
                &issued.token,
                &with_key(None, key_proof(&new, &info.challenge)),
            )
            .await,
        "the re-enrolment link twice",
    )
    .is(410, ErrorCode::Gone);
    login(&s, "validator1", VALIDATOR_PASSWORD).await;

    // Sealed with the new key; the old one is no validator's any more.
    office.open(id).await;
    let export = anyone.export(id).await.unwrap();
    let mut sealed = export.genesis.validators.clone();
    sealed.sort();
    let mut expected = vec![public_of(&new), public_of(&k2)];
    expected.sort();
    assert_eq!(sealed, expected);

    // After sealing, the key is the genesis block's: it cannot be withdrawn, here or in
    // another election still in set-up.
    let later = open_election(&s, &admin, "Later", 0, false).await;
    let before = table_counts(&s.db).await;
    for election in [id, ElectionId(later.election as u64)] {
        let r = refused(
            office.withdraw_key(election, "validator2").await,
            "withdrawing a sealed key",
        );
        r.is(409, ErrorCode::WrongState);
    }
    assert_eq!(table_counts(&s.db).await, before);

    // Only the new key decides.
    vote(&s, e.election, &e.codes[0], e.candidates[0]).await;
    mine_once(&s, e.election);
    let hash = anyone.awaiting(id).await[0].hash;
    anyone
        .approve(id, &hash, &old)
        .await
        .unwrap_err()
        .is(403, ErrorCode::Forbidden);
    let summary = anyone.approve(id, &hash, &new).await.unwrap();
    assert_eq!(summary.approvals, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_signed_where_the_code_is_kept_counts_and_one_signed_for_another_election_does_not()
{
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let a = open_election(&s, &admin, "Here", 3, true).await;
    let b = open_election(&s, &admin, "Elsewhere", 1, true).await;
    let (here, there) = (ElectionId(a.election as u64), ElectionId(b.election as u64));
    let candidate = CandidateId(a.candidates[0] as u32);
    let url = s.url(&format!("/api/elections/{here}/votes"));
    let genesis = Api::anonymous(&s).genesis(here).await;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    let code = ledger::VotingCode::parse(&a.codes[0]).unwrap();

    // Signed for the other election (with this election's key, or with that one's): 422,
    // and nothing changes.
    let before = table_counts(&s.db).await;
    for key in [code.signing_key(here), code.signing_key(there)] {
        let vote = ledger::Vote::sign(&key, there, ballot_for(&genesis, 0), now());
        let (st, body) = post(&client(), url.clone(), json!({ "vote": vote })).await;
        refusal(
            "a vote signed for another election",
            st,
            &body,
            422,
            "wrong_election",
        );
    }
    assert_eq!(table_counts(&s.db).await, before);

    // A timestamp past what the pool stores would be stored as another value, and the
    // vote's signature would fail in every block: refused, nothing changes.
    let far = ledger::Vote::sign(
        &code.signing_key(here),
        here,
        ballot_for(&genesis, 0),
        u64::MAX,
    );
    let (st, body) = post(&client(), url.clone(), json!({ "vote": far })).await;
    refusal("a timestamp out of range", st, &body, 400, "invalid_input");
    assert_eq!(table_counts(&s.db).await, before);

    // Signed here, with the key the code gives in this election: accepted.
    let vote = ledger::Vote::sign(
        &code.signing_key(here),
        here,
        ballot_for(&genesis, 0),
        now(),
    );
    let (st, body) = post(&client(), url.clone(), json!({ "vote": vote })).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["receipt"], vote.tx_id().to_hex());

    // The command line signs locally too; a malformed code never leaves the machine.
    let code_file = dir.path().join("code.txt");
    std::fs::write(&code_file, format!("{}\n", a.codes[1])).unwrap();
    let vote_with = |file: &std::path::Path, pinned: Option<BlockHash>| {
        let mut command = std::process::Command::new(BIN);
        command
            .args(["vote", "--server", &s.base, "--election", &here.to_string()])
            .arg("--code-file")
            .arg(file)
            .args(["--candidate", &candidate.0.to_string()]);
        if let Some(hash) = pinned {
            command.args(["--genesis", &hash.to_hex()]);
        }
        command.output().unwrap()
    };
    let run = |file: &std::path::Path| vote_with(file, None);
    // Pinned to another genesis block than the server's (a server showing this voter a
    // genesis of its own): nothing is encrypted or sent.
    let before = table_counts(&s.db).await;
    let out = vote_with(&code_file, Some(BlockHash([7; 32])));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && said.contains("not the published")
            && said.contains("nothing was encrypted or sent"),
        "{said}"
    );
    assert_eq!(table_counts(&s.db).await, before);
    // Pinned to the published one: the vote goes, and the receipt printed is the one
    // computed here (the server's answer names the same).
    let out = vote_with(&code_file, Some(genesis.hash()));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: TxId = text
        .split_whitespace()
        .find(|w| w.len() == 64)
        .and_then(|w| w.parse().ok())
        .expect("a receipt");
    let anyone = Api::anonymous(&s);
    assert_eq!(
        anyone.receipt(here, &receipt).await.unwrap().status,
        ReceiptStatus::Pending
    );
    let before = table_counts(&s.db).await;
    std::fs::write(&code_file, "not a code\n").unwrap();
    let out = run(&code_file);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("code.txt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(table_counts(&s.db).await, before);
}

/// A voter to register with this key.
fn new_voter(name: &str, external_id: Option<&str>, public_key: PublicKey) -> NewVoter {
    NewVoter {
        name: name.into(),
        external_id: external_id.map(Into::into),
        public_key,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voters_are_registered_by_key_and_the_roll_is_corrected_only_before_sealing() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Roll", 0, false).await;
    let id = ElectionId(e.election as u64);
    let candidate = |i: usize| CandidateId(e.candidates[i] as u32);
    let office = api_of(&s, &admin);
    let anyone = Api::anonymous(&s);
    let as_validator = Api::signed_in(&s, "validator1", VALIDATOR_PASSWORD).await;
    let codes: Vec<VotingCode> = (0..4).map(|_| new_code()).collect();
    let keys: Vec<PublicKey> = codes.iter().map(|c| c.public_key(id)).collect();
    let voters_url = s.url(&format!("/api/elections/{id}/voters"));

    // One voter, then a list: each answer carries the whole roll, as the detail does.
    let one = office
        .register(id, &[new_voter("Alice", Some("A1"), keys[0])])
        .await
        .unwrap();
    assert_eq!(one.roll, Roll::of(&keys[..1]));
    let many = office
        .register(
            id,
            &[
                new_voter("Bob", None, keys[1]),
                new_voter("Carol", Some("C3"), keys[2]),
            ],
        )
        .await
        .unwrap();
    let names: Vec<&str> = many.voters.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["Bob", "Carol"]);
    assert_eq!(many.roll, Roll::of(&keys[..3]));
    assert_eq!(anyone.election(id).await.unwrap().roll, many.roll);

    // Refused rows, each named by its place; nothing is registered.
    let before = table_counts(&s.db).await;
    let r = refused(
        office
            .register(
                id,
                &[
                    new_voter("Dan", Some("D4"), keys[3]),
                    new_voter(" ", None, new_code().public_key(id)),
                    new_voter("Twin", None, keys[3]),
                    new_voter("Copy", None, keys[0]),
                    new_voter("Point", None, not_a_point()),
                    new_voter("Again", Some("A1"), new_code().public_key(id)),
                    new_voter("Twice", Some("D4"), new_code().public_key(id)),
                ],
            )
            .await,
        "bad rows",
    );
    r.is(400, ErrorCode::BadRows);
    assert_eq!(
        r.body.details,
        [
            "voter 2: the name is empty",
            "voter 3: this key appears twice",
            "voter 4: this key is already registered",
            "voter 5: the public key is not an Ed25519 key",
            "voter 6: external id \"A1\" is already registered",
            "voter 7: external id \"D4\" appears twice",
        ]
    );
    for (case, body) in [
        ("a voter without a key", json!({"name": "Keyless"})),
        (
            "a key that is not hex",
            json!({"name": "Bad", "public_key": "xyz"}),
        ),
        (
            "a key too short",
            json!({"name": "Bad", "public_key": "ab".repeat(31)}),
        ),
    ] {
        let (st, b) = post(&admin, voters_url.clone(), body).await;
        refusal(case, st, &b, 400, "malformed");
    }
    let file = format!(
        "name,external_id,public_key\nDan,D4,{}\nEve,,{}\n,,{}\nFay,,not hex\n",
        keys[3].to_hex(),
        keys[1].to_hex(),
        new_code().public_key(id).to_hex()
    );
    let r = refused(office.upload_keys(id, &file).await, "keys file, bad rows");
    r.is(400, ErrorCode::BadRows);
    let mut details = r.body.details.clone();
    details.sort();
    assert_eq!(
        details,
        [
            "line 3: this key is already registered",
            "line 4: the name is empty",
            "line 5: the public key is not 64 hex digits",
        ]
    );
    refused(
        office.upload_keys(id, "name,external_id\nDan,D4\n").await,
        "a roll instead of a keys file",
    )
    .is(400, ErrorCode::InvalidInput);
    refused(
        anyone
            .register(id, &[new_voter("Dan", None, keys[3])])
            .await,
        "signed out",
    )
    .is(401, ErrorCode::Unauthenticated);
    refused(
        as_validator
            .register(id, &[new_voter("Dan", None, keys[3])])
            .await,
        "by a validator",
    )
    .is(403, ErrorCode::Forbidden);
    assert_eq!(table_counts(&s.db).await, before);
    assert_eq!(anyone.election(id).await.unwrap().roll, many.roll);

    // The keys file registers Dan.
    let dan = office
        .upload_keys(
            id,
            &format!("name,external_id,public_key\nDan,D4,{}\n", keys[3].to_hex()),
        )
        .await
        .unwrap();
    assert_eq!(dan.roll, Roll::of(&keys));
    let ids: Vec<VoterId> = [
        &one.voters[0],
        &many.voters[0],
        &many.voters[1],
        &dan.voters[0],
    ]
    .iter()
    .map(|v| v.voter_id)
    .collect();

    // Corrections that are refused in set-up.
    let lost = new_code();
    let before = table_counts(&s.db).await;
    refused(anyone.remove_voter(id, ids[1]).await, "remove, signed out")
        .is(401, ErrorCode::Unauthenticated);
    refused(
        as_validator.remove_voter(id, ids[1]).await,
        "remove, by a validator",
    )
    .is(403, ErrorCode::Forbidden);
    refused(
        office.remove_voter(id, VoterId(999)).await,
        "remove, unknown voter",
    )
    .is(404, ErrorCode::NotFound);
    refused(
        office.remove_voter(ElectionId(999), ids[1]).await,
        "remove, unknown election",
    )
    .is(404, ErrorCode::NotFound);
    refused(
        anyone
            .replace_voter_key(id, ids[2], lost.public_key(id))
            .await,
        "replace, signed out",
    )
    .is(401, ErrorCode::Unauthenticated);
    refused(
        office
            .replace_voter_key(id, VoterId(999), lost.public_key(id))
            .await,
        "replace, unknown voter",
    )
    .is(404, ErrorCode::NotFound);
    refused(
        office.replace_voter_key(id, ids[2], not_a_point()).await,
        "replace, not a key",
    )
    .is(400, ErrorCode::InvalidInput);
    refused(
        office.replace_voter_key(id, ids[2], keys[0]).await,
        "replace, another voter's key",
    )
    .is(409, ErrorCode::Duplicate);
    let delete = |path: &str| admin.delete(s.url(path)).send();
    let r = delete(&format!("/api/elections/{id}/voters/abc"))
        .await
        .unwrap();
    let st = r.status();
    refusal(
        "remove, malformed voter id",
        st,
        &r.json().await.unwrap(),
        400,
        "malformed",
    );
    for (case, path, body) in [
        (
            "replace, malformed voter id",
            format!("/api/elections/{id}/voters/abc/key"),
            json!({"public_key": lost.public_key(id)}),
        ),
        (
            "replace, a key that is not hex",
            format!("/api/elections/{id}/voters/{}/key", ids[2]),
            json!({"public_key": "not hex"}),
        ),
    ] {
        let r = admin.put(s.url(&path)).json(&body).send().await.unwrap();
        let st = r.status();
        refusal(case, st, &r.json().await.unwrap(), 400, "malformed");
    }
    assert_eq!(table_counts(&s.db).await, before);
    assert_eq!(anyone.election(id).await.unwrap().roll, dan.roll);

    // Bob is taken off; Carol lost her code and is given the key of a new one.
    let roll = office.remove_voter(id, ids[1]).await.unwrap();
    assert_eq!(roll, Roll::of(&[keys[0], keys[2], keys[3]]));
    refused(
        office.remove_voter(id, ids[1]).await,
        "remove, a voter removed",
    )
    .is(404, ErrorCode::NotFound);
    let carol = office
        .replace_voter_key(id, ids[2], lost.public_key(id))
        .await
        .unwrap();
    assert_eq!(
        (
            carol.voter_id,
            carol.name.as_str(),
            carol.external_id.as_deref(),
            carol.public_key
        ),
        (ids[2], "Carol", Some("C3"), lost.public_key(id))
    );
    let now = Roll::of(&[keys[0], lost.public_key(id), keys[3]]);
    assert_ne!(now, roll);
    let detail = office.election(id).await.unwrap();
    assert_eq!((detail.voters, &detail.roll), (3, &now));

    // Sealed: the genesis block's registry is that roll, and it can change no more.
    let opened = office.open(id).await;
    assert_eq!(opened.roll, now);
    let genesis = anyone.export(id).await.unwrap().genesis;
    assert_eq!(Roll::of(&genesis.voters), now);
    let before = table_counts(&s.db).await;
    refused(
        office.remove_voter(id, ids[0]).await,
        "remove, after sealing",
    )
    .is(409, ErrorCode::WrongState);
    refused(
        office
            .replace_voter_key(id, ids[0], new_code().public_key(id))
            .await,
        "replace, after sealing",
    )
    .is(409, ErrorCode::WrongState);
    let late = new_code().public_key(id);
    refused(
        office.register(id, &[new_voter("Late", None, late)]).await,
        "register, after sealing",
    )
    .is(409, ErrorCode::WrongState);
    refused(
        office
            .upload_keys(id, &format!("name,public_key\nLate,{}\n", late.to_hex()))
            .await,
        "keys file, after sealing",
    )
    .is(409, ErrorCode::WrongState);
    assert_eq!(table_counts(&s.db).await, before);
    assert_eq!(anyone.election(id).await.unwrap().roll, now);

    // Bob's code and Carol's lost one vote no more; her new code does.
    for code in [&codes[1], &codes[2]] {
        refused(
            anyone.cast(id, &code.to_string(), candidate(0)).await,
            "a code off the roll",
        )
        .is(403, ErrorCode::InvalidCode);
    }
    assert_eq!(table_counts(&s.db).await, before);
    anyone
        .cast(id, &lost.to_string(), candidate(1))
        .await
        .unwrap();
    anyone
        .cast(id, &codes[0].to_string(), candidate(0))
        .await
        .unwrap();
}

/// The rows of a CSV file, header first.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_codes_command_makes_codes_here_and_the_server_takes_only_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Codes", 0, false).await;
    let id = ElectionId(e.election as u64);
    let office = api_of(&s, &admin);
    let anyone = Api::anonymous(&s);
    let at = |name: &str| dir.path().join(name);
    let run = |roll: &std::path::Path, out: &std::path::Path, keys: &std::path::Path| {
        std::process::Command::new(BIN)
            .arg("codes")
            .arg("--roll")
            .arg(roll)
            .args(["--election", &id.to_string()])
            .arg("--out")
            .arg(out)
            .arg("--keys")
            .arg(keys)
            .output()
            .unwrap()
    };
    let roll = at("roll.csv");
    std::fs::write(&roll, "name,external_id\nAlice,A1\n\"Dan, Jr.\",\nEve,E5\n").unwrap();
    let (sheet_file, keys_file) = (at("codes.csv"), at("keys.csv"));

    let out = run(&roll, &sheet_file, &keys_file);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hash = stdout
        .lines()
        .find_map(|l| l.strip_prefix("roll: 3 voters, hash "))
        .expect("the roll's count and hash")
        .trim()
        .to_owned();
    assert_eq!(hash.len(), 64, "{stdout}");
    let hash: Option<ledger::RollHash> = Some(hash.parse().expect("a roll hash"));

    // The codes sheet and the keys file: the roll's voters in order, each key its code's,
    // and no code in the keys file.
    let sheet_text = std::fs::read_to_string(&sheet_file).unwrap();
    let keys_text = std::fs::read_to_string(&keys_file).unwrap();
    let (sheet, keyed) = (csv_rows(&sheet_text), csv_rows(&keys_text));
    assert_eq!(sheet[0], ["name", "external_id", "code"]);
    assert_eq!(keyed[0], ["name", "external_id", "public_key", "election"]);
    assert!(keyed[1..].iter().all(|r| r[3] == id.to_string()));
    assert_eq!((sheet.len(), keyed.len()), (4, 4));
    let mut keys = Vec::new();
    for (row, key_row) in sheet[1..].iter().zip(&keyed[1..]) {
        assert_eq!(row[..2], key_row[..2]);
        let code = VotingCode::parse(&row[2]).expect("a voting code");
        let key: PublicKey = key_row[2].parse().expect("64 hex digits");
        assert_eq!(code.public_key(id), key);
        assert!(!keys_text.contains(&row[2]), "a code in the keys file");
        keys.push(key);
    }
    let people: Vec<(&str, &str)> = sheet[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(people, [("Alice", "A1"), ("Dan, Jr.", ""), ("Eve", "E5")]);
    assert_eq!(hash, Some(ledger::roll_hash(&keys)));

    // Never overwritten: neither file is, and nothing is written when either exists.
    let (other_sheet, other_keys) = (at("codes2.csv"), at("keys2.csv"));
    for (out, keys, fresh) in [
        (&sheet_file, &keys_file, None),
        (&sheet_file, &other_keys, Some(&other_keys)),
        (&other_sheet, &keys_file, Some(&other_sheet)),
    ] {
        let again = run(&roll, out, keys);
        assert!(!again.status.success(), "a file was overwritten");
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(stderr.contains("exists already"), "{stderr}");
        if let Some(fresh) = fresh {
            assert!(!fresh.exists(), "{} was written", fresh.display());
        }
    }
    assert_eq!(std::fs::read_to_string(&sheet_file).unwrap(), sheet_text);
    assert_eq!(std::fs::read_to_string(&keys_file).unwrap(), keys_text);
    // A roll with a nameless row: refused with its line, nothing written.
    let bad_roll = at("bad-roll.csv");
    std::fs::write(&bad_roll, "name,external_id\nAnn,A1\n,B2\n").unwrap();
    let refused_run = run(&bad_roll, &other_sheet, &other_keys);
    assert!(!refused_run.status.success());
    let stderr = String::from_utf8_lossy(&refused_run.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(!other_sheet.exists() && !other_keys.exists());

    // --out and --keys naming one file: refused, nothing written.
    let same = run(&roll, &other_sheet, &other_sheet);
    assert!(!same.status.success());
    assert!(!other_sheet.exists());

    // The keys file made for this election, uploaded to another: every row refused.
    let elsewhere = open_election(&s, &admin, "Elsewhere", 0, false).await;
    let wrong = office
        .upload_keys(ElectionId(elsewhere.election as u64), &keys_text)
        .await;
    assert!(
        wrong.is_err(),
        "keys made for another election were accepted"
    );

    // The keys file uploaded as it is: the server's roll hash is the one printed, before
    // sealing and in the genesis block.
    let registered = office.upload_keys(id, &keys_text).await.unwrap();
    assert_eq!(registered.roll, Roll { voters: 3, hash });
    let listed: Vec<(&str, Option<&str>)> = registered
        .voters
        .iter()
        .map(|v| (v.name.as_str(), v.external_id.as_deref()))
        .collect();
    assert_eq!(
        listed,
        [
            ("Alice", Some("A1")),
            ("Dan, Jr.", None),
            ("Eve", Some("E5"))
        ]
    );
    assert_eq!(office.election(id).await.unwrap().roll.hash, hash);
    assert_eq!(office.open(id).await.roll.hash, hash);
    let genesis = anyone.export(id).await.unwrap().genesis;
    assert_eq!(Some(ledger::roll_hash(&genesis.voters)), hash);

    // A code from the sheet votes.
    let cast = anyone
        .cast(id, &sheet[2][2], CandidateId(e.candidates[0] as u32))
        .await
        .unwrap();
    assert_eq!(
        anyone.receipt(id, &cast.receipt).await.unwrap().status,
        ReceiptStatus::Pending
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_with_secrets_are_the_owners_alone_and_csv_cells_never_run_as_formulas() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Files", 0, false).await;
    let id = ElectionId(e.election as u64);
    let office = api_of(&s, &admin);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    if let Some(file) = s.db.file() {
        assert_eq!(mode(file), 0o600, "the database");
    }

    // A roll whose cells a spreadsheet would run.
    let roll = dir.path().join("roll.csv");
    std::fs::write(
        &roll,
        "name,external_id\n\"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",@A1\n+Plus,-7\nPlain,P1\n",
    )
    .unwrap();
    let (sheet, keys) = (dir.path().join("codes.csv"), dir.path().join("keys.csv"));
    let out = std::process::Command::new(BIN)
        .arg("codes")
        .arg("--roll")
        .arg(&roll)
        .args(["--election", &id.to_string()])
        .arg("--out")
        .arg(&sheet)
        .arg("--keys")
        .arg(&keys)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [&sheet, &keys] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
        let text = std::fs::read_to_string(file).unwrap();
        for row in csv_rows(&text).iter().skip(1) {
            for cell in &row[..2] {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@']),
                    "{}: a formula cell {cell:?}",
                    file.display()
                );
            }
        }
    }
    // The codes sheet sent where the keys file goes: refused by name, nothing registered.
    let before = table_counts(&s.db).await;
    let r = admin
        .post(s.url(&format!("/api/elections/{id}/voters")))
        .header("content-type", "text/csv")
        .body(std::fs::read_to_string(&sheet).unwrap())
        .send()
        .await
        .unwrap();
    let st = r.status();
    let body: Value = r.json().await.unwrap();
    refusal(
        "a codes sheet as the keys file",
        st,
        &body,
        400,
        "invalid_input",
    );
    assert!(
        body["message"].as_str().unwrap().contains("codes sheet"),
        "{body}"
    );
    assert_eq!(table_counts(&s.db).await, before);

    // Registered from the keys file, the names and ids are what the roll said.
    let registered = office
        .upload_keys(id, &std::fs::read_to_string(&keys).unwrap())
        .await
        .unwrap();
    let people: Vec<(String, Option<String>)> = registered
        .voters
        .into_iter()
        .map(|v| (v.name, v.external_id))
        .collect();
    assert_eq!(
        people,
        [
            (
                "=HYPERLINK(\"http://x\",\"y\")".to_owned(),
                Some("@A1".to_owned())
            ),
            ("+Plus".to_owned(), Some("-7".to_owned())),
            ("Plain".to_owned(), Some("P1".to_owned())),
        ]
    );

    // A key file made by the CLI.
    let passphrase = dir.path().join("pass.txt");
    std::fs::write(&passphrase, "a long enough passphrase\n").unwrap();
    let key = dir.path().join("mine.key");
    let made = std::process::Command::new(BIN)
        .args(["key", "new", "--label", "me"])
        .arg("--out")
        .arg(&key)
        .arg("--passphrase-file")
        .arg(&passphrase)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert_eq!(mode(&key), 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_burst_of_password_guesses_is_refused_before_it_is_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _admin) = server_with_admin(dir.path()).await;
    let before = table_counts(&s.db).await;
    // Thirty guesses at once from one address: the limit of ten failures a minute is
    // reserved before each password is hashed, so exactly ten are tried and twenty are
    // refused without hashing.
    let url = s.url("/api/session");
    let guesses = (0..30).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            let body = json!({"username": "admin", "password": format!("guess number {i:02}")});
            post(&client(), url, body).await
        })
    });
    let mut statuses = Vec::new();
    for guess in guesses {
        let (st, body) = guess.await.unwrap();
        if st == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["error"], "rate_limited", "{body}");
        }
        statuses.push(st.as_u16());
    }
    statuses.sort();
    assert_eq!(
        (
            statuses.iter().filter(|&&s| s == 401).count(),
            statuses.iter().filter(|&&s| s == 429).count()
        ),
        (10, 20),
        "{statuses:?}"
    );
    assert_eq!(table_counts(&s.db).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ceremony_board_is_a_costly_read_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Board", 1, true).await;
    let url = s.url(&format!("/api/elections/{}/ceremony", e.election));
    let c = client();
    // 240 reads a minute from an address (setting the election up read it a few times).
    let mut answered = 0;
    while get(&c, url.clone()).await.0 == StatusCode::OK {
        answered += 1;
        assert!(answered <= 240, "no limit after {answered} reads");
    }
    assert!(answered > 200, "refused after {answered} reads");
    let refused = c.get(url.clone()).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("ceremony board reads"),
        "{body}"
    );
    // Other reads from the same address are not counted against it.
    let (st, _) = get(&c, s.url(&format!("/api/elections/{}", e.election))).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_what_does_not_exist_answer_404_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Exists", 1, true).await;
    let id = e.election;
    for (path, status) in [
        (format!("/e/{id}"), 200),
        (format!("/e/{id}/chain"), 200),
        ("/e/999".to_owned(), 404),
        ("/e/999/chain".to_owned(), 404),
        (format!("/e/{id}/block/99"), 404),
        (format!("/e/{id}/block/{}", "ab".repeat(32)), 404),
    ] {
        let r = client().get(s.url(&path)).send().await.unwrap();
        let got = r.status().as_u16();
        let html = r.text().await.unwrap();
        assert_eq!(got, status, "{path}");
        if status == 404 {
            assert!(html.contains("not found"), "{path}: {html}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voter_whose_answer_was_lost_gets_the_receipt_of_the_vote_that_went_through() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Lost answers", 1, true).await;
    let id = e.election;
    let (st, first) = vote(&s, id, &e.codes[0], e.candidates[0]).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{first}");
    let receipt = first["receipt"].as_str().unwrap().to_owned();
    let before = table_counts(&s.db).await;
    // The retry (another choice even): refused, with the receipt of the vote stored.
    let (st, again) = vote(&s, id, &e.codes[0], e.candidates[1]).await;
    assert_eq!(
        (st, again["error"].as_str()),
        (StatusCode::CONFLICT, Some("already_voted")),
        "{again}"
    );
    assert_eq!(
        again["details"][0].as_str(),
        Some(receipt.as_str()),
        "{again}"
    );
    assert!(
        again["message"].as_str().unwrap().contains(&receipt),
        "{again}"
    );
    // The same through the form without JavaScript: the receipt page, saying so.
    let form = form_client();
    let (st, to) = form_post(
        &form,
        s.url("/sfn/vote"),
        &[
            ("election", &id.to_string()),
            ("code", &e.codes[0]),
            ("candidate_id", &e.candidates[1].to_string()),
            ("confirm", "on"),
        ],
    )
    .await;
    assert!(st.is_redirection(), "{st}");
    assert_eq!(to, format!("/e/{id}/receipt/{receipt}?already=1"));
    let page = page_text(&client(), s.url(&to)).await;
    assert!(page.contains("had voted already"), "{page}");
    assert_eq!(table_counts(&s.db).await, before);
}

#[test]
fn a_database_that_cannot_be_opened_is_named_with_its_password_masked() {
    // Nothing listens on port 1: the server cannot be reached.
    let url = "postgres://officer:hunter2secret@127.0.0.1:1/ballotchain";
    for args in [
        vec!["check", "--db", url],
        vec!["serve", "--db", url, "--addr", "127.0.0.1:0"],
    ] {
        let out = ballotchain(&args);
        let said = text(&out);
        assert!(!out.status.success(), "{args:?}: {said}");
        assert!(
            said.contains(
                "cannot open the database postgres://officer:***@127.0.0.1:1/ballotchain"
            ),
            "{args:?}: {said}"
        );
        assert!(!said.contains("hunter2secret"), "{args:?}: {said}");
    }
    // A SQLite file that does not exist is not created by `check`.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let out = ballotchain(&["check", "--db", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("does not exist"), "{}", text(&out));
    assert!(!missing.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_blocks_page_shows_its_votes_a_hundred_at_a_time_and_the_api_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Large block", 150, true).await;
    let id = e.election;
    for (i, code) in e.codes.iter().enumerate() {
        let (st, body) = vote(&s, id, code, e.candidates[i % 3]).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    }
    let mut block = template(&s, id).await;
    assert_eq!(block.votes.len(), 150);
    mine(&mut block);
    let (st, body) = post(
        &client(),
        s.url(&format!("/api/elections/{id}/blocks")),
        serde_json::to_value(&block).unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{body}");
    let hash = block.hash().to_hex();
    for key in &e.validators {
        let (st, body) = approve_as(&s, id, &hash, key).await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
    let receipts: Vec<String> = block.votes.iter().map(|v| v.tx_id().to_hex()).collect();

    // The API: the whole block, a window of it, none of its votes; all count 150.
    let listed = |v: &Value| -> Vec<String> {
        v["vote_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["receipt"].as_str().unwrap().to_owned())
            .collect()
    };
    for (query, expected) in [
        ("", &receipts[..]),
        ("?from=140&limit=5", &receipts[140..145]),
        ("?from=148", &receipts[148..]),
        ("?limit=0", &receipts[..0]),
        ("?from=500&limit=10", &receipts[..0]),
    ] {
        let (st, v) = get(
            &client(),
            s.url(&format!("/api/elections/{id}/blocks/1{query}")),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{query}: {v}");
        assert_eq!(listed(&v), expected, "{query}");
        assert_eq!(v["votes"], 150, "{query}");
    }
    for bad in ["?from=-1", "?limit=many", "?from=1.5"] {
        let (st, v) = get(
            &client(),
            s.url(&format!("/api/elections/{id}/blocks/1{bad}")),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(v["error"], "malformed", "{bad}: {v}");
    }

    // The page: the first hundred votes, then the last fifty, each page leading to the
    // other; a page past the last says so; a page that is not a number is the first.
    let http = client();
    let page = |q: &str| page_text(&http, s.url(&format!("/e/{id}/block/1{q}")));
    let first = page("").await;
    assert!(
        first.contains("Votes 1–100 of 150 (page 1 of 2)."),
        "{first}"
    );
    assert!(first.contains(&receipts[99]) && !first.contains(&receipts[100]));
    assert!(first.contains(&format!("/e/{id}/block/{hash}?votes=2")));
    assert!(!first.contains("Earlier votes"));
    let second = page("?votes=2").await;
    assert!(
        second.contains("Votes 101–150 of 150 (page 2 of 2)."),
        "{second}"
    );
    assert!(second.contains(&receipts[100]) && second.contains(&receipts[149]));
    assert!(!second.contains(&receipts[99]));
    assert!(second.contains(r#"start="101""#), "{second}");
    assert!(second.contains(&format!("/e/{id}/block/{hash}?votes=1")));
    assert!(!second.contains("Later votes"));
    let past = page("?votes=9").await;
    assert!(
        past.contains("This block has 150 votes, on 2 pages: page 9 is past the last."),
        "{past}"
    );
    assert!(past.contains(&format!("/e/{id}/block/{hash}?votes=2")));
    assert!(page("?votes=first").await.contains("Votes 1–100 of 150"));
}
