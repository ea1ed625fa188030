//! A whole secret-ballot election from the command line, and the count's refusals: three
//! trustees (threshold 2) run the key ceremony, voters encrypt on their own machines,
//! blocks are mined and approved, the officer finalises the count, two trustees decrypt
//! (the third stays away), and `verify` checks the result from the export alone.

mod common;

use common::*;
use ledger::ElectionId;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wire::{ErrorCode, Role};

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// Someone's machine: a key file and its passphrase (and a password) in files.
struct Home {
    key: PathBuf,
    passphrase: PathBuf,
    password: PathBuf,
    /// `$BALLOTCHAIN_STATE_DIR`: where this machine records the count its trustee
    /// decrypted.
    state: PathBuf,
}

fn home(dir: &Path, name: &str) -> Home {
    let at = dir.join(name);
    std::fs::create_dir_all(&at).unwrap();
    let h = Home {
        key: at.join("key.json"),
        passphrase: at.join("passphrase"),
        password: at.join("password"),
        state: at.join("state"),
    };
    std::fs::write(&h.passphrase, format!("the passphrase of {name}\n")).unwrap();
    std::fs::write(&h.password, format!("the password of {name}\n")).unwrap();
    ok(ballotchain(&[
        "key",
        "new",
        "--out",
        arg(&h.key),
        "--label",
        name,
        "--passphrase-file",
        arg(&h.passphrase),
    ]));
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_secret_ballot_election_by_command_line_counted_by_two_of_three_trustees() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = server_with_admin(dir.path()).await;
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);
    let id = office.create_election("Secret", 8, 2).await.id;
    let election = id.0.to_string();
    let mut candidates = Vec::new();
    for name in ["Ada", "Grace", "Alan"] {
        candidates.push(office.add_candidate(id, name).await.id.0);
    }
    let voters = office.register_voters(id, 5).await;

    // Validators and trustees make their keys and enrol from their own machines.
    let mut validators = Vec::new();
    for name in ["val.one", "val.two"] {
        let h = home(dir.path(), name);
        let link = office.invite(name, Role::Validator).await.unwrap();
        ok(ballotchain(&[
            "accept",
            "--server",
            &s.base,
            "--invitation",
            &link.token,
            "--key",
            arg(&h.key),
            "--passphrase-file",
            arg(&h.passphrase),
            "--password-file",
            arg(&h.password),
        ]));
        office.enrol(id, name).await;
        validators.push(h);
    }
    let mut trustees = Vec::new();
    for name in ["tess", "trent", "tia"] {
        let h = home(dir.path(), name);
        let seat = office.invite_trustee(id, name).await.unwrap();
        ok(ballotchain(&[
            "trustee",
            "enrol",
            "--server",
            &s.base,
            "--invitation",
            &seat.token,
            "--key",
            arg(&h.key),
            "--passphrase-file",
            arg(&h.passphrase),
        ]));
        trustees.push(h);
    }
    // The third keeps only the key file she saved at enrolment, to count with: her part
    // of the ceremony is re-made from it and the board.
    let enrolled = Home {
        key: dir.path().join("tia-enrolled.json"),
        passphrase: trustees[2].passphrase.clone(),
        password: trustees[2].password.clone(),
        state: trustees[2].state.clone(),
    };
    std::fs::copy(&trustees[2].key, &enrolled.key).unwrap();
    office.start_ceremony(id, 2).await.unwrap();
    let running: Vec<_> = trustees
        .iter()
        .map(|h| {
            Command::new(BIN)
                .args(["trustee", "ceremony", "--server", &s.base])
                .args(["--election", &election, "--key", arg(&h.key)])
                .args(["--passphrase-file", arg(&h.passphrase), "--wait", "120"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start ballotchain")
        })
        .collect();
    for child in running {
        assert!(ok(child.wait_with_output().unwrap()).contains("is complete"));
    }
    office.try_open(id).await.unwrap();

    // Four voters encrypt and sign on their machines: Ada, Grace, Grace, Alan.
    // `ballotchain vote` with a voter's code kept in a file.
    let vote = |voter: &Issued, candidate: &str| {
        let file = dir.path().join(format!("code-{}", voter.voter.voter_id.0));
        std::fs::write(&file, format!("{}\n", voter.code)).unwrap();
        ballotchain(&[
            "vote",
            "--server",
            &s.base,
            "--election",
            &election,
            "--code-file",
            arg(&file),
            "--candidate",
            candidate,
        ])
    };
    for (voter, choice) in voters.iter().zip([0, 1, 1, 2]) {
        let said = ok(vote(voter, &candidates[choice].to_string()));
        assert!(said.contains("vote accepted"), "{said}");
    }
    // A candidate off the ballot is named before anything is encrypted or sent.
    let out = vote(&voters[4], "999");
    assert!(
        !out.status.success() && text(&out).contains("not on the ballot"),
        "{}",
        text(&out)
    );

    // Mined and approved by both validators on their machines.
    mine_once(&s, id.0 as i64);
    let block = office.awaiting(id).await[0].hash.to_string();
    for h in &validators {
        ok(ballotchain(&[
            "approve",
            "--server",
            &s.base,
            "--election",
            &election,
            "--block",
            &block,
            "--key",
            arg(&h.key),
            "--passphrase-file",
            arg(&h.passphrase),
        ]));
    }
    let tally = anyone.tally(id).await.unwrap();
    assert_eq!(
        (tally.turnout, &tally.result, &tally.final_head),
        (4, &None, &None)
    );

    // The count: not before voting closes and the officer finalises; the fifth voter's
    // vote comes in late and stays pending, so only an early finalisation leaves it out.
    // The genesis hash as published when voting opened: each trustee checks it.
    let genesis = office
        .election(id)
        .await
        .unwrap()
        .genesis_hash
        .unwrap()
        .to_string();
    let tally_on = |base: &str, h: &Home, more: &[&str]| {
        Command::new(BIN)
            .args([
                "trustee",
                "tally",
                "--server",
                base,
                "--election",
                &election,
            ])
            .args([
                "--key",
                arg(&h.key),
                "--passphrase-file",
                arg(&h.passphrase),
            ])
            .args(more)
            .env("BALLOTCHAIN_STATE_DIR", &h.state)
            .output()
            .expect("run ballotchain")
    };
    let tally_with = |h: &Home, more: &[&str]| tally_on(&s.base, h, more);
    let tally_by = |h: &Home| tally_with(h, &["--genesis", &genesis]);
    let out = tally_by(&trustees[0]);
    assert!(
        !out.status.success() && text(&out).contains("not final"),
        "{}",
        text(&out)
    );
    let finalise = |early: bool| {
        let office = office.clone();
        async move { office.finalise(id, early).await }
    };
    refused(finalise(false).await, "finalise while open").is(409, ErrorCode::WrongState);
    let late_vote = anyone
        .cast(id, &voters[4].code, ledger::CandidateId(candidates[0]))
        .await
        .unwrap()
        .receipt;
    office.close(id).await.unwrap();
    let late = refused(finalise(false).await, "finalise with a vote pending");
    late.is(409, ErrorCode::WrongState);
    assert!(
        late.body.message.contains("1 vote(s) are still pending"),
        "{late:?}"
    );
    let end = finalise(true).await.unwrap().final_head.unwrap();
    assert_eq!((end.height, end.uncounted), (1, 1));
    // The late vote's receipt says plainly that it is not counted.
    let late_receipt = anyone.receipt(id, &late_vote).await.unwrap();
    assert_eq!(
        (late_receipt.status, late_receipt.block),
        (wire::ReceiptStatus::Uncounted, None)
    );
    refused(finalise(true).await, "finalise twice").is(409, ErrorCode::Duplicate);
    // No block joins a final count.
    refused(anyone.work(id).await, "work after the count").is(409, ErrorCode::WrongState);

    // A trustee given another genesis hash, or another final head, posts nothing.
    let out = tally_with(&trustees[1], &["--genesis", &"ab".repeat(32)]);
    assert!(
        !out.status.success() && text(&out).contains("not the published"),
        "{}",
        text(&out)
    );
    let elsewhere = format!("0:{genesis}");
    let out = tally_with(
        &trustees[1],
        &["--genesis", &genesis, "--expect-final", &elsewhere],
    );
    assert!(
        !out.status.success() && text(&out).contains("not the one you were given, 0:"),
        "{}",
        text(&out)
    );
    assert_eq!(anyone.tally(id).await.unwrap().shares, Vec::<u16>::new());

    // Two of the three trustees decrypt; the third stays away. The first keeps a copy
    // of her key file from before.
    let copy = Home {
        key: dir.path().join("tess-copy.json"),
        passphrase: trustees[0].passphrase.clone(),
        password: trustees[0].password.clone(),
        state: trustees[0].state.clone(),
    };
    std::fs::copy(&trustees[0].key, &copy.key).unwrap();
    let said = ok(tally_by(&trustees[0]));
    // Her count is recorded on her machine, beside the key file's record.
    let records: Vec<_> = std::fs::read_dir(trustees[0].state.join("counts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let record: ledger::result::CountRecord =
        serde_json::from_slice(&std::fs::read(&records[0]).unwrap()).unwrap();
    assert_eq!((record.height, record.head), (end.height, end.head));
    assert_eq!(record.genesis.to_string(), genesis);
    assert!(said.contains("1 of the 2 shares needed are in"), "{said}");
    let out = tally_by(&trustees[0]);
    assert!(
        !out.status.success() && text(&out).contains("posted a share already"),
        "{}",
        text(&out)
    );
    assert_eq!(anyone.tally(id).await.unwrap().result, None);
    let said = ok(tally_by(&enrolled));
    assert!(
        said.contains("the result is decrypted and published"),
        "{said}"
    );
    let result = anyone.tally(id).await.unwrap().result.unwrap();
    let counts: Vec<u64> = result.iter().map(|c| c.votes).collect();
    assert_eq!(counts, [1, 2, 1]);

    // `verify` re-checks every proof, the sums, both shares and the counts from the export
    // alone; an export with one ballot byte changed, or a result claimed from one share,
    // fails.
    let (_, export) = get(&client(), s.url(&format!("/api/elections/{id}/export"))).await;
    // Written a block at a time, the file is byte for byte the whole export serialised.
    let raw = client()
        .get(s.url(&format!("/api/elections/{id}/export")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let whole: ledger::ChainExport = serde_json::from_slice(&raw).unwrap();
    assert!(whole.result.is_some());
    assert_eq!(serde_json::to_vec(&whole).unwrap(), raw.to_vec());
    let file = dir.path().join("export.json");
    std::fs::write(&file, export.to_string()).unwrap();
    let said = ok(ballotchain(&["verify", arg(&file)]));
    assert!(
        said.contains("result verified: the shares of trustees 0, 2"),
        "{said}"
    );
    assert!(said.contains("       2  Grace"), "{said}");
    // Each share is listed with its trustee's key and the head it is signed over.
    for t in [0, 2] {
        let line = format!("  trustee {t} (key ");
        let listed = said
            .lines()
            .find(|l| l.starts_with(&line))
            .unwrap_or_default();
        assert!(
            listed.ends_with(&format!("): block 1 {}", end.head)),
            "{said}"
        );
    }
    let mut bad = export.clone();
    let ballot = bad["blocks"][0]["block"]["votes"][1]["ballot"]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = if &ballot[200..201] == "0" { "1" } else { "0" };
    bad["blocks"][0]["block"]["votes"][1]["ballot"] =
        json!(format!("{}{flipped}{}", &ballot[..200], &ballot[201..]));
    let bad_file = dir.path().join("altered.json");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let out = ballotchain(&["verify", arg(&bad_file)]);
    assert!(
        !out.status.success() && text(&out).contains("does NOT verify"),
        "{}",
        text(&out)
    );
    let mut one_share = export.clone();
    let shares = one_share["result"]["shares"].as_array_mut().unwrap();
    shares.truncate(1);
    std::fs::write(&bad_file, one_share.to_string()).unwrap();
    let out = ballotchain(&["verify", arg(&bad_file)]);
    assert!(
        !out.status.success() && text(&out).contains("1 valid shares, the threshold is 2"),
        "{}",
        text(&out)
    );

    // A second server run by the operator shows an earlier head (the genesis block, no
    // ballots): the copy of the key file made before the count, used on the same
    // machine, is refused there, and so is the key file itself on another machine; the
    // second server receives no share.
    let mut cut = export.clone();
    cut["blocks"] = json!([]);
    cut.as_object_mut().unwrap().remove("result");
    let earlier: ledger::ChainExport = serde_json::from_value(cut.clone()).unwrap();
    let empty = hex::encode(ledger::replay(&earlier).unwrap().tally().sums.to_bytes());
    let report = json!({
        "turnout": 0,
        "sums": empty,
        "final_head": {"height": 0, "head": genesis, "uncounted": 0},
        "shares": [],
        "result": null,
    });
    let second = LyingServer::start(vec![
        LyingServer::json(&format!("/api/elections/{id}/export"), &cut),
        LyingServer::json(&format!("/api/elections/{id}/tally"), &report),
    ]);
    let out = tally_on(&second.base, &copy, &["--genesis", &genesis]);
    assert!(
        !out.status.success()
            && text(&out)
                .contains("this trustee's share of another count is recorded here (block 1,"),
        "{}",
        text(&out)
    );
    let elsewhere = Home {
        state: dir.path().join("another-machine"),
        key: trustees[0].key.clone(),
        passphrase: trustees[0].passphrase.clone(),
        password: trustees[0].password.clone(),
    };
    let out = tally_on(&second.base, &elsewhere, &["--genesis", &genesis]);
    assert!(
        !out.status.success() && text(&out).contains("decrypted its share of other sums already"),
        "{}",
        text(&out)
    );
    assert_eq!(second.posts(), 0);
    // A record that does not read refuses too (it is never taken for none).
    std::fs::write(&records[0], "{").unwrap();
    let out = tally_on(&second.base, &copy, &["--genesis", &genesis]);
    assert!(
        !out.status.success() && text(&out).contains("does not read"),
        "{}",
        text(&out)
    );
    assert_eq!(second.posts(), 0);

    // The count is inside the integrity check: the result, a share or the final head
    // edited offline is caught by `ballotchain check` and when the node starts, which
    // then refuses writes to the election (here the third trustee's share).
    let db = s.db.clone();
    s.kill();
    let detail_of = |s: &Server| {
        let url = s.url(&format!("/api/elections/{id}"));
        async move { get(&client(), url).await.1 }
    };
    for (what, edit, undo) in [
        (
            "the published result does not hold",
            "UPDATE results SET counts = '[2,1,1]'",
            "UPDATE results SET counts = '[1,2,1]'",
        ),
        (
            "trustee 1's share is not signed",
            "UPDATE decryption_shares SET trustee = 1 WHERE trustee = 0",
            "UPDATE decryption_shares SET trustee = 0 WHERE trustee = 1",
        ),
        (
            "the final head recorded, block 0",
            "UPDATE finals SET height = 0",
            "UPDATE finals SET height = 1",
        ),
    ] {
        db.edit_offline(edit).await;
        let out = ballotchain(&["check", "--db", db.arg()]);
        assert!(
            !out.status.success()
                && text(&out).contains("TAMPERING DETECTED")
                && text(&out).contains(what),
            "{edit}: {}",
            text(&out)
        );
        let s = Server::start(dir.path());
        let detail = detail_of(&s).await;
        let problem = detail["integrity_problem"].as_str().unwrap_or_default();
        assert!(problem.contains(what), "{edit}: {detail}");
        let out = tally_on(&s.base, &trustees[1], &["--genesis", &genesis]);
        assert!(
            !out.status.success() && text(&out).contains("chain_integrity"),
            "{edit}: {}",
            text(&out)
        );
        s.kill();
        db.edit_offline(undo).await;
    }
    let out = ballotchain(&["check", "--db", db.arg()]);
    assert!(out.status.success(), "{}", text(&out));
    // Checked every second while it serves.
    let s = Server::start_with(dir.path(), &["--check-interval", "1"]);

    // The explorer lists each share checked again against the chain: both hold, and a
    // share altered in the database behind the node's back is shown as not holding.
    let explorer = s.url(&format!("/e/{id}/chain"));
    let page = page_text(&client(), explorer.clone()).await;
    assert_eq!(
        page.matches("its signature and every proof hold").count(),
        2
    );
    assert_eq!(
        page.matches(&format!(
            "a share of the count up to block 1, {};",
            end.head
        ))
        .count(),
        2,
        "{page}"
    );
    s.db.execute("UPDATE decryption_shares SET signature = (SELECT signature FROM decryption_shares ORDER BY trustee DESC LIMIT 1) WHERE trustee = 0")
        .await;
    let page = page_text(&client(), explorer).await;
    assert_eq!(
        page.matches("its signature and every proof hold").count(),
        1
    );
    assert!(page.contains("DOES NOT HOLD"), "{page}");
    // The periodic check sees the count's rows changed and checks them again in full:
    // the election is found altered while serving.
    let mut problem = String::new();
    for _ in 0..100 {
        let detail = detail_of(&s).await;
        problem = detail["integrity_problem"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !problem.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        problem.contains("the published result does not hold"),
        "{problem}"
    );
    s.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_with_a_bad_proof_or_signature_is_refused_and_a_trustee_facing_wrong_sums_posts_nothing(
) {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Counted", 2, true).await;
    let id = ElectionId(e.election as u64);
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);
    vote(&s, e.election, &e.codes[0], e.candidates[1]).await;
    let (trustee, side) = &e.trustees[0];
    let share_of = |sums: &ledger::secret::EncryptedSums, head: &ledger::BlockHash| {
        let made = ledger::secret::DecryptionShare::make(
            side.key_share().unwrap(),
            sums,
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        (
            ledger::result::SignedShare::sign(trustee, id, head, sums, &made),
            made,
        )
    };
    // Before the count is final, a share is refused.
    let genesis = anyone.genesis(id).await;
    let empty = ledger::Tally::new(&genesis).sums;
    let (early, _) = share_of(&empty, &genesis.hash());
    refused(
        anyone.post_share(id, &early).await,
        "a share before the count",
    )
    .is(409, ErrorCode::WrongState);
    mine_once(&s, e.election);
    let block = office.awaiting(id).await[0].hash;
    for key in &e.validators {
        approve_as(&s, e.election, &block.to_string(), key).await;
    }
    office.close(id).await.unwrap();
    office.finalise(id, false).await.unwrap();
    let export = anyone.export(id).await.unwrap();
    let chain = ledger::replay(&export).unwrap();
    let (sums, head) = (chain.tally().sums.clone(), chain.tip());

    // A share over other sums, one signed by another key, one whose proof fails though
    // its trustee signed it: refused, and nothing is kept.
    let (over_other, _) = share_of(&empty, &head);
    refused(
        anyone.post_share(id, &over_other).await,
        "a share of other sums",
    )
    .is(422, ErrorCode::BadSignature);
    let (good, made) = share_of(&sums, &head);
    let mut stranger = good.clone();
    stranger.signature =
        ledger::result::SignedShare::sign(&new_key(), id, &head, &sums, &made).signature;
    refused(
        anyone.post_share(id, &stranger).await,
        "a stranger's signature",
    )
    .is(422, ErrorCode::BadSignature);
    let mut broken = made.clone();
    broken.parts[0].1[3] ^= 1;
    let forged = ledger::result::SignedShare::sign(trustee, id, &head, &sums, &broken);
    refused(
        anyone.post_share(id, &forged).await,
        "a share with a bad proof",
    )
    .is(400, ErrorCode::InvalidInput);
    assert_eq!(anyone.tally(id).await.unwrap().shares, Vec::<u16>::new());
    // The good one: with a threshold of 1, the result.
    let after = anyone.post_share(id, &good).await.unwrap();
    let counts: Vec<u64> = after.result.unwrap().iter().map(|c| c.votes).collect();
    assert_eq!(counts, [0, 1, 0]);

    // A server that serves sums other than the chain's: the trustee's CLI, which
    // recomputes them from its own verified copy, posts nothing.
    let home = dir.path().join("trustee");
    std::fs::create_dir_all(&home).unwrap();
    let passphrase = home.join("passphrase");
    std::fs::write(&passphrase, "the passphrase of the trustee\n").unwrap();
    let file =
        keyfile::KeyFile::seal_with(trustee, "trustee1", "the passphrase of the trustee", 64, 1)
            .unwrap();
    let kept = json!({ "trustee": side, "outbox": [] });
    let file = file
        .with_state("the passphrase of the trustee", kept.to_string().as_bytes())
        .unwrap();
    let key = home.join("key.json");
    std::fs::write(&key, file.to_json().unwrap()).unwrap();
    let (_, real_export) = get(&client(), s.url(&format!("/api/elections/{id}/export"))).await;
    let (_, mut lying_tally) = get(&client(), s.url(&format!("/api/elections/{id}/tally"))).await;
    lying_tally["sums"] = json!(hex::encode(empty.to_bytes()));
    let liar = LyingServer::start(vec![
        LyingServer::json(&format!("/api/elections/{id}/export"), &real_export),
        LyingServer::json(&format!("/api/elections/{id}/tally"), &lying_tally),
    ]);
    let out = ballotchain(&[
        "trustee",
        "tally",
        "--server",
        &liar.base,
        "--election",
        &id.0.to_string(),
        "--genesis",
        &export.genesis_hash.to_string(),
        "--key",
        arg(&key),
        "--passphrase-file",
        arg(&passphrase),
    ]);
    assert!(
        !out.status.success()
            && text(&out).contains("differ from this trustee's own verified copy"),
        "{}",
        text(&out)
    );
    assert_eq!(liar.posts(), 0, "the trustee posted to a lying server");
    s.kill();
}

/// Voters behind one address (a NAT, or a proxy without `--trusted-proxy`): 200 votes
/// from the command line in a row all get in. Each `vote` keeps the genesis block and asks
/// only whether it is still current (a bodiless 304, not counted as an export); before,
/// the 121st in a minute was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_votes_from_one_address_all_get_in_and_fetch_the_genesis_block_once() {
    const VOTERS: usize = 200;
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Behind one address", VOTERS + 1, true).await;
    let election = e.election.to_string();
    let cache = dir.path().join("cache");
    let vote = |i: usize, cache: &Path| {
        let file = dir.path().join(format!("code-{i}"));
        std::fs::write(&file, format!("{}\n", e.codes[i])).unwrap();
        let candidate = e.candidates[i % 3].to_string();
        Command::new(BIN)
            .args(["vote", "--server", &s.base, "--election", &election])
            .args(["--code-file", arg(&file), "--candidate", &candidate])
            .env("BALLOTCHAIN_CACHE_DIR", cache)
            .output()
            .expect("run ballotchain")
    };
    for i in 0..VOTERS {
        let said = ok(vote(i, &cache));
        assert!(said.contains("vote accepted"), "vote {i}: {said}");
    }
    let detail = Api::anonymous(&s)
        .election(ElectionId(e.election as u64))
        .await
        .unwrap();
    assert_eq!(detail.pending_votes, VOTERS as u64);
    // One copy kept, of the block the server serves.
    let kept: Vec<_> = std::fs::read_dir(cache.join("genesis"))
        .unwrap()
        .map(|f| std::fs::read(f.unwrap().path()).unwrap())
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        ledger::BlockHash(ledger::hash::sha256(&kept[0])),
        detail.genesis_hash.unwrap()
    );
    // A kept copy that is not the served block (altered on this machine, or another
    // election's) is fetched again, not trusted: the next voter's vote still gets in.
    let path = std::fs::read_dir(cache.join("genesis"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut altered = kept[0].clone();
    altered[10] ^= 1;
    std::fs::write(&path, &altered).unwrap();
    let said = ok(vote(VOTERS, &cache));
    assert!(said.contains("vote accepted"), "{said}");
    assert_eq!(std::fs::read(&path).unwrap(), kept[0]);
    s.kill();
}
