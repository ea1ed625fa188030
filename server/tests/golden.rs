//! Golden JSON of every API response: one scripted session against the real binary, each
//! answer's status and body compared with `tests/golden/api.json`.
//!
//! The test reads raw JSON only (never the crates' own types), so it proves that the wire
//! format did not change while the code behind it did. Masked, because they differ from
//! run to run: times and nonces (by field name), voting codes, and every run of 32 or more
//! hex digits (keys, hashes, signatures, receipts, invitation tokens and challenges), in
//! values and inside messages. The validators' keys and the voters' codes (made here, as
//! the officer's machine makes them; the server is given only their keys) are derived from
//! fixed seeds, so keys and signatures are the same on every run; the challenges the
//! validators sign are not.
//!
//! After an intended change of the API: `GOLDEN_UPDATE=1 cargo test -p server --test
//! golden`, then review the diff of `api.json` like code.

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use ledger::{Approval, Block, BlockHash, BlockHeader, ElectionId, Rejection, VotingCode};
use reqwest::{Client, StatusCode};
use serde_json::{json, Map, Value};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/api.json");

/// Fields whose numbers are clock readings or proof-of-work nonces.
const VOLATILE_NUMBERS: &[&str] = &[
    "opened_at",
    "closed_at",
    "created_at",
    "submitted_at",
    "decided_at",
    "received_at",
    "timestamp",
    "min_timestamp",
    "nonce",
    "expires_at",
    "enrolled_at",
];

fn mask_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 32 {
            out.push_str(&format!("<hex{}>", run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() || ('a'..='f').contains(&c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    // "try again in 59 s": the wait depends on how long the test took.
    if let Some(at) = out.find("try again in ") {
        let tail = &out[at + "try again in ".len()..];
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        out = format!("{}try again in <secs>{}", &out[..at], &tail[digits..]);
    }
    out
}

fn mask(value: &Value, key: Option<&str>) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask(v, Some(k))))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| mask(v, key)).collect()),
        Value::Number(_) if key.is_some_and(|k| VOLATILE_NUMBERS.contains(&k)) => {
            json!(format!("<{}>", key.unwrap_or_default()))
        }
        Value::String(_) if key == Some("code") => json!("<code>"),
        Value::String(s) => json!(mask_text(s)),
        other => other.clone(),
    }
}

/// The session's answers, in order.
#[derive(Default)]
struct Transcript {
    entries: Vec<Value>,
}

impl Transcript {
    fn record(&mut self, step: &str, status: StatusCode, body: &Value) {
        self.entries.push(json!({
            "step": step,
            "status": status.as_u16(),
            "body": mask(body, None),
        }));
    }

    async fn get(&mut self, c: &Client, step: &str, url: String) -> Value {
        let (status, body) = get(c, url).await;
        self.record(step, status, &body);
        body
    }

    async fn post(&mut self, c: &Client, step: &str, url: String, body: Value) -> Value {
        let (status, answer) = post(c, url, body).await;
        self.record(step, status, &answer);
        answer
    }

    async fn send(&mut self, step: &str, request: reqwest::RequestBuilder) -> Value {
        let r = request.send().await.unwrap();
        let status = r.status();
        let body = r.json().await.unwrap_or(Value::Null);
        self.record(step, status, &body);
        body
    }
}

fn header_of(work: &Value) -> BlockHeader {
    serde_json::from_value(work["header"].clone()).unwrap()
}

/// The server's template as a mined block with this miner tag.
fn mined(work: &Value, tag: &str) -> Value {
    let mut block = Block {
        header: header_of(work),
        votes: serde_json::from_value(work["votes"].clone()).unwrap(),
    };
    block.header.miner_tag = ledger::block::MinerTag::from_text(tag);
    mine(&mut block);
    serde_json::to_value(&block).unwrap()
}

fn hash_of(block: &Value) -> String {
    let header: BlockHeader = serde_json::from_value(block["header"].clone()).unwrap();
    header.hash().to_hex()
}

/// A validator's key, the same on every run.
fn fixed_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

/// Voter `n`'s code, the same on every run (a real one comes from random bytes).
fn fixed_code(n: u8) -> VotingCode {
    VotingCode::from_entropy([n; ledger::code::CODE_BYTES])
}

/// The key of voter `n`'s code in the golden election, in hex.
fn voter_key(n: u8) -> String {
    fixed_code(n).public_key(ElectionId(1)).to_hex()
}

fn public_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// `{"public_key", "proof"}`: the key and its signature over an invitation's challenge.
fn key_proof_json(key: &SigningKey, invitation: &Value) -> Value {
    let challenge = hex::decode(invitation["challenge"].as_str().unwrap()).unwrap();
    json!({
        "public_key": public_hex(key),
        "proof": hex::encode(ledger::prove_possession(key, &challenge).0),
    })
}

/// The body of an approval of `block`, signed with `key`.
fn approval(key: &SigningKey, block: &str) -> Value {
    let a = Approval::sign(key, block.parse::<BlockHash>().unwrap());
    json!({"validator": public_hex(key), "signature": hex::encode(a.signature.0)})
}

/// The body of a rejection of `block` for `reason`, signed with `key`.
fn rejection(key: &SigningKey, block: &str, reason: &str) -> Value {
    let r = Rejection::sign(key, block.parse::<BlockHash>().unwrap(), reason);
    json!({"validator": public_hex(key), "signature": hex::encode(r.signature.0), "reason": reason})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_response_matches_the_golden_json() {
    let dir = tempfile::tempdir().unwrap();
    create_admin(&Db::of(dir.path()), "admin");
    let s = Server::start(dir.path());
    let anon = client();
    let admin = client();
    let mut t = Transcript::default();
    let api = |path: &str| s.url(&format!("/api{path}"));

    // Accounts and sessions.
    t.post(
        &admin,
        "sign in, wrong password",
        api("/session"),
        json!({"username": "admin", "password": "not the password"}),
    )
    .await;
    t.post(
        &admin,
        "sign in",
        api("/session"),
        json!({"username": "admin", "password": ADMIN_PASSWORD}),
    )
    .await;
    t.get(&admin, "who am I", api("/session")).await;
    t.get(&anon, "who am I, signed out", api("/session")).await;
    // Accounts come from invitations: each validator proves the key it made.
    let (k1, k2, mut k3) = (fixed_key(1), fixed_key(2), fixed_key(3));
    let mut first_challenge = Value::Null;
    for (name, key) in [
        ("validator1", &k1),
        ("validator2", &k2),
        ("validator3", &k3),
    ] {
        let issued = t
            .post(
                &admin,
                "invite validator",
                api("/invitations"),
                json!({"username": name, "role": "validator"}),
            )
            .await;
        let token = issued["token"].as_str().unwrap().to_owned();
        let info = t
            .get(&anon, "invitation", api(&format!("/invitations/{token}")))
            .await;
        if first_challenge.is_null() {
            first_challenge = info.clone();
        }
        t.post(
            &anon,
            "accept invitation",
            api(&format!("/invitations/{token}/accept")),
            json!({"password": VALIDATOR_PASSWORD, "key": key_proof_json(key, &info)}),
        )
        .await;
    }
    t.post(
        &admin,
        "create account, the endpoint is gone",
        api("/accounts"),
        json!({"username": "someone", "password": VALIDATOR_PASSWORD, "role": "validator"}),
    )
    .await;
    t.post(
        &admin,
        "invite, taken name",
        api("/invitations"),
        json!({"username": "validator1", "role": "validator"}),
    )
    .await;
    t.post(
        &admin,
        "invite, bad name",
        api("/invitations"),
        json!({"username": "a b", "role": "admin"}),
    )
    .await;
    t.post(
        &admin,
        "invite, unknown role",
        api("/invitations"),
        json!({"username": "someone", "role": "king"}),
    )
    .await;
    t.post(
        &anon,
        "invite, signed out",
        api("/invitations"),
        json!({"username": "someone", "role": "admin"}),
    )
    .await;
    t.get(
        &anon,
        "invitation, unknown",
        api(&format!("/invitations/{}", "0".repeat(64))),
    )
    .await;
    let officer = t
        .post(
            &admin,
            "invite an officer",
            api("/invitations"),
            json!({"username": "deputy", "role": "admin"}),
        )
        .await;
    let officer = officer["token"].as_str().unwrap().to_owned();
    let officer_info = t
        .get(
            &anon,
            "invitation of an officer",
            api(&format!("/invitations/{officer}")),
        )
        .await;
    let accept_officer = api(&format!("/invitations/{officer}/accept"));
    t.post(
        &anon,
        "accept officer invitation, short password",
        accept_officer.clone(),
        json!({"password": "too short"}),
    )
    .await;
    t.post(
        &anon,
        "accept officer invitation, with a key",
        accept_officer.clone(),
        json!({"password": ADMIN_PASSWORD, "key": key_proof_json(&fixed_key(8), &officer_info)}),
    )
    .await;
    t.post(
        &anon,
        "accept officer invitation",
        accept_officer.clone(),
        json!({"password": ADMIN_PASSWORD}),
    )
    .await;
    t.post(
        &anon,
        "accept invitation, used",
        accept_officer.clone(),
        json!({"password": ADMIN_PASSWORD}),
    )
    .await;
    t.get(
        &anon,
        "invitation, used",
        api(&format!("/invitations/{officer}")),
    )
    .await;
    let issued = t
        .post(
            &admin,
            "invite validator",
            api("/invitations"),
            json!({"username": "validator4", "role": "validator"}),
        )
        .await;
    let token = issued["token"].as_str().unwrap().to_owned();
    let accept_v4 = api(&format!("/invitations/{token}/accept"));
    t.post(
        &anon,
        "accept validator invitation, no key",
        accept_v4.clone(),
        json!({"password": VALIDATOR_PASSWORD}),
    )
    .await;
    t.post(
        &anon,
        "accept validator invitation, proof over another challenge",
        accept_v4.clone(),
        json!({"password": VALIDATOR_PASSWORD, "key": key_proof_json(&fixed_key(4), &first_challenge)}),
    )
    .await;
    let v4_info = get(&anon, api(&format!("/invitations/{token}"))).await.1;
    t.post(
        &anon,
        "accept validator invitation, a key another account holds",
        accept_v4.clone(),
        json!({"password": VALIDATOR_PASSWORD, "key": key_proof_json(&k1, &v4_info)}),
    )
    .await;
    s.db.execute("UPDATE invitations SET expires_at = 0 WHERE username = 'validator4'")
        .await;
    t.get(
        &anon,
        "invitation, expired",
        api(&format!("/invitations/{token}")),
    )
    .await;
    t.post(
        &anon,
        "accept invitation, expired",
        accept_v4,
        json!({"password": VALIDATOR_PASSWORD, "key": key_proof_json(&fixed_key(4), &v4_info)}),
    )
    .await;
    let v1 = login(&s, "validator1", VALIDATOR_PASSWORD).await;
    t.post(
        &v1,
        "create election, as a validator",
        api("/elections"),
        json!({"title": "Nope"}),
    )
    .await;

    // Set-up.
    t.post(&admin, "create election", api("/elections"),
        json!({"title": "Golden election", "description": "For the record", "difficulty_bits": 8, "quorum": 2})).await;
    t.post(
        &admin,
        "create election, difficulty too high",
        api("/elections"),
        json!({"title": "Too hard", "difficulty_bits": 99}),
    )
    .await;
    t.post(
        &admin,
        "create election, empty title",
        api("/elections"),
        json!({"title": "  "}),
    )
    .await;
    t.send(
        "create election, malformed JSON",
        admin
            .post(api("/elections"))
            .header("content-type", "application/json")
            .body("{\"title\":"),
    )
    .await;
    t.send(
        "create election, not JSON",
        admin
            .post(api("/elections"))
            .header("content-type", "text/plain")
            .body("title"),
    )
    .await;
    for name in ["Ada", "Grace", "Alan"] {
        t.post(
            &admin,
            "add candidate",
            api("/elections/1/candidates"),
            json!({"name": name, "description": format!("{name}'s party")}),
        )
        .await;
    }
    t.post(
        &admin,
        "add candidate, same name",
        api("/elections/1/candidates"),
        json!({"name": "Ada"}),
    )
    .await;
    t.post(
        &admin,
        "add candidate, unknown election",
        api("/elections/99/candidates"),
        json!({"name": "Ada"}),
    )
    .await;
    t.post(
        &admin,
        "register one voter",
        api("/elections/1/voters"),
        json!({"name": "Alice", "external_id": "A1", "public_key": voter_key(1)}),
    )
    .await;
    t.post(
        &admin,
        "register voters",
        api("/elections/1/voters"),
        json!([
            {"name": "Bob", "public_key": voter_key(2)},
            {"name": "Carol", "external_id": "C3", "public_key": voter_key(3)},
        ]),
    )
    .await;
    let keys_file = t
        .send(
            "register voters by keys file",
            admin
                .post(api("/elections/1/voters"))
                .header("content-type", "text/csv")
                .body(format!(
                    "name,external_id,public_key\nDan,D4,{}\nEve,,{}\nFay,F6,{}\nGus,G7,{}\n",
                    voter_key(4),
                    voter_key(5),
                    voter_key(6),
                    voter_key(7),
                )),
        )
        .await;
    let no_point = (0..=u8::MAX)
        .map(|n| [n; 32])
        .find(|b| ed25519_dalek::VerifyingKey::from_bytes(b).is_err())
        .map(hex::encode)
        .unwrap();
    t.send(
        "register voters by keys file, bad rows",
        admin
            .post(api("/elections/1/voters"))
            .header("content-type", "text/csv")
            .body(format!(
                "name,external_id,public_key\n,X1,{}\nHal,A1,{}\nIvy,I9,{}\nJo,J10,{}\nKim,J10,{}\nLea,,{no_point}\nMo,,12ab\nNed,N14\n",
                voter_key(8),
                voter_key(9),
                voter_key(1),
                voter_key(10),
                voter_key(11),
            )),
    )
    .await;
    t.send(
        "register voters by keys file, no key column",
        admin
            .post(api("/elections/1/voters"))
            .header("content-type", "text/csv")
            .body("name,external_id\nDan,D4\n"),
    )
    .await;
    t.post(
        &admin,
        "register voters, bad rows",
        api("/elections/1/voters"),
        json!([
            {"name": " ", "public_key": voter_key(8)},
            {"name": "Twin", "public_key": voter_key(8)},
            {"name": "Copy", "external_id": "C3", "public_key": voter_key(2)},
            {"name": "Point", "public_key": no_point},
        ]),
    )
    .await;
    t.post(
        &admin,
        "register voter, no key",
        api("/elections/1/voters"),
        json!({"name": "Keyless"}),
    )
    .await;
    t.post(
        &admin,
        "register voter, key not hex",
        api("/elections/1/voters"),
        json!({"name": "Bad", "public_key": "xyz"}),
    )
    .await;
    t.send(
        "register voters, wrong content type",
        admin
            .post(api("/elections/1/voters"))
            .header("content-type", "text/plain")
            .body("Ivy"),
    )
    .await;
    t.post(
        &admin,
        "register voters, none",
        api("/elections/1/voters"),
        json!([]),
    )
    .await;
    // Corrections before sealing: Fay is taken off, Gus lost his code and gets a new one's key.
    let (fay, gus) = (
        keys_file["voters"][2]["voter_id"].as_i64().unwrap(),
        keys_file["voters"][3]["voter_id"].as_i64().unwrap(),
    );
    let voter_url = |voter: &str| api(&format!("/elections/1/voters/{voter}"));
    t.send(
        "remove voter, signed out",
        anon.delete(voter_url(&fay.to_string())),
    )
    .await;
    t.send("remove voter, unknown", admin.delete(voter_url("99")))
        .await;
    t.send("remove voter, malformed id", admin.delete(voter_url("abc")))
        .await;
    t.send("remove voter", admin.delete(voter_url(&fay.to_string())))
        .await;
    t.send(
        "remove voter, removed already",
        admin.delete(voter_url(&fay.to_string())),
    )
    .await;
    let key_url = |voter: &str| api(&format!("/elections/1/voters/{voter}/key"));
    let change = |key: &str| json!({ "public_key": key });
    t.send(
        "replace voter key, another voter's key",
        admin
            .put(key_url(&gus.to_string()))
            .json(&change(&voter_key(1))),
    )
    .await;
    t.send(
        "replace voter key, not a key",
        admin
            .put(key_url(&gus.to_string()))
            .json(&change(&no_point)),
    )
    .await;
    t.send(
        "replace voter key, not hex",
        admin.put(key_url(&gus.to_string())).json(&change("xyz")),
    )
    .await;
    t.send(
        "replace voter key, unknown voter",
        admin.put(key_url("99")).json(&change(&voter_key(17))),
    )
    .await;
    t.send(
        "replace voter key",
        admin
            .put(key_url(&gus.to_string()))
            .json(&change(&voter_key(17))),
    )
    .await;
    t.get(&anon, "election detail, in set-up", api("/elections/1"))
        .await;
    for name in ["validator1", "validator2", "validator3"] {
        t.post(
            &admin,
            "enrol validator",
            api("/elections/1/validators"),
            json!({"username": name}),
        )
        .await;
    }
    t.post(
        &admin,
        "enrol validator, twice",
        api("/elections/1/validators"),
        json!({"username": "validator1"}),
    )
    .await;
    t.post(
        &admin,
        "enrol validator, unknown",
        api("/elections/1/validators"),
        json!({"username": "nobody"}),
    )
    .await;
    t.post(
        &admin,
        "enrol validator, an admin",
        api("/elections/1/validators"),
        json!({"username": "admin"}),
    )
    .await;
    // An officer withdraws validator3's key before sealing; its holder proves a new one.
    let withdraw = |name: &str| admin.delete(api(&format!("/elections/1/validators/{name}/key")));
    t.send(
        "withdraw key, signed out",
        anon.delete(api("/elections/1/validators/validator3/key")),
    )
    .await;
    t.send("withdraw key, unknown validator", withdraw("nobody"))
        .await;
    let rekey = t.send("withdraw key", withdraw("validator3")).await;
    t.post(
        &admin,
        "open election, a key withdrawn",
        api("/elections/1/open"),
        json!({}),
    )
    .await;
    let token = rekey["token"].as_str().unwrap().to_owned();
    let info = t
        .get(
            &anon,
            "invitation, re-enrolment",
            api(&format!("/invitations/{token}")),
        )
        .await;
    k3 = fixed_key(13);
    t.post(
        &anon,
        "accept re-enrolment, with a password",
        api(&format!("/invitations/{token}/accept")),
        json!({"password": VALIDATOR_PASSWORD, "key": key_proof_json(&k3, &info)}),
    )
    .await;
    t.post(
        &anon,
        "accept re-enrolment",
        api(&format!("/invitations/{token}/accept")),
        json!({"key": key_proof_json(&k3, &info)}),
    )
    .await;
    t.get(&anon, "work before opening", api("/elections/1/work"))
        .await;
    t.post(
        &admin,
        "create second election",
        api("/elections"),
        json!({"title": "Empty election"}),
    )
    .await;
    t.post(
        &admin,
        "open election without candidates",
        api("/elections/2/open"),
        json!({}),
    )
    .await;
    t.post(
        &admin,
        "close election in set-up",
        api("/elections/2/close"),
        json!({}),
    )
    .await;
    t.get(&anon, "tally before opening", api("/elections/2/tally"))
        .await;
    t.get(&anon, "export before opening", api("/elections/2/export"))
        .await;
    // The trustees: seats by invitation, proven keys, and the key ceremony on the board.
    t.post(
        &admin,
        "open election, no key ceremony",
        api("/elections/1/open"),
        json!({}),
    )
    .await;
    t.post(
        &anon,
        "invite trustee, signed out",
        api("/elections/1/trustees"),
        json!({"name": "Tess"}),
    )
    .await;
    let trustees = [fixed_key(21), fixed_key(22)];
    for (name, key) in ["Tess", "Trent"].into_iter().zip(&trustees) {
        let seat = t
            .post(
                &admin,
                "invite trustee",
                api("/elections/1/trustees"),
                json!({ "name": name }),
            )
            .await;
        let token = seat["token"].as_str().unwrap().to_owned();
        let info = t
            .get(
                &anon,
                "trustee invitation",
                api(&format!("/trustee-invitations/{token}")),
            )
            .await;
        let challenge = hex::decode(info["challenge"].as_str().unwrap()).unwrap();
        let enrolment = json!({
            "seat": serde_json::to_value(ledger::ceremony::Seat::of(key)).unwrap(),
            "proof": hex::encode(ledger::prove_possession(key, &challenge).0),
        });
        t.post(
            &anon,
            "enrol trustee",
            api(&format!("/trustee-invitations/{token}/accept")),
            enrolment.clone(),
        )
        .await;
        if name == "Trent" {
            t.post(
                &anon,
                "enrol trustee, twice",
                api(&format!("/trustee-invitations/{token}/accept")),
                enrolment,
            )
            .await;
        }
    }
    t.get(
        &anon,
        "ceremony board, not started",
        api("/elections/1/ceremony"),
    )
    .await;
    t.post(
        &admin,
        "start ceremony, threshold above the trustees",
        api("/elections/1/ceremony"),
        json!({"threshold": 3}),
    )
    .await;
    let board = t
        .post(
            &admin,
            "start ceremony",
            api("/elections/1/ceremony"),
            json!({"threshold": 2}),
        )
        .await;
    let ceremony = board["ceremony"]["id"].as_u64().unwrap();
    let seats: Vec<ledger::ceremony::Seat> =
        trustees.iter().map(ledger::ceremony::Seat::of).collect();
    let mut sides = Vec::new();
    for (position, key) in trustees.iter().enumerate() {
        let (side, first) = ledger::ceremony::Trustee::join(
            key,
            ElectionId(1),
            ceremony,
            position as u16,
            &seats,
            2,
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        sides.push(side);
        t.post(
            &anon,
            "post ceremony message",
            api("/elections/1/ceremony/messages"),
            json!([first]),
        )
        .await;
        if position == 0 {
            t.post(
                &anon,
                "post ceremony message, twice",
                api("/elections/1/ceremony/messages"),
                json!([first]),
            )
            .await;
            let mut forged = first.clone();
            forged.from = 1;
            t.post(
                &anon,
                "post ceremony message, not the sender's signature",
                api("/elections/1/ceremony/messages"),
                json!([forged]),
            )
            .await;
        }
    }
    let mut board = board;
    for _ in 0..3 {
        for (side, key) in sides.iter_mut().zip(&trustees) {
            board = get(&anon, api("/elections/1/ceremony")).await.1;
            let messages: Vec<ledger::ceremony::CeremonyMessage> =
                serde_json::from_value(board["ceremony"]["messages"].clone()).unwrap();
            let out = side.step(key, &messages, &mut rand::rngs::OsRng).unwrap();
            if !out.is_empty() {
                board = t
                    .post(
                        &anon,
                        "post ceremony messages",
                        api("/elections/1/ceremony/messages"),
                        json!(out),
                    )
                    .await;
            }
        }
    }
    assert!(board["ceremony"]["election_key"].is_string(), "{board}");
    t.get(
        &anon,
        "ceremony board, complete",
        api("/elections/1/ceremony"),
    )
    .await;
    t.post(&admin, "open election", api("/elections/1/open"), json!({}))
        .await;
    t.post(
        &anon,
        "post ceremony message, after sealing",
        api("/elections/1/ceremony/messages"),
        json!([board["ceremony"]["messages"][0].clone()]),
    )
    .await;
    t.post(
        &admin,
        "open election, twice",
        api("/elections/1/open"),
        json!({}),
    )
    .await;
    t.send(
        "withdraw key, after sealing",
        admin.delete(api("/elections/1/validators/validator1/key")),
    )
    .await;
    t.send(
        "remove voter, after sealing",
        admin.delete(voter_url(&gus.to_string())),
    )
    .await;
    t.send(
        "replace voter key, after sealing",
        admin
            .put(key_url(&gus.to_string()))
            .json(&change(&voter_key(18))),
    )
    .await;
    t.post(
        &admin,
        "register voter, after sealing",
        api("/elections/1/voters"),
        json!({"name": "Late", "public_key": voter_key(18)}),
    )
    .await;
    t.post(
        &admin,
        "add candidate after opening",
        api("/elections/1/candidates"),
        json!({"name": "Late"}),
    )
    .await;
    t.get(&anon, "list elections", api("/elections")).await;
    t.get(&anon, "election detail", api("/elections/1")).await;
    t.get(&anon, "election detail, unknown", api("/elections/99"))
        .await;
    t.get(
        &anon,
        "election detail, malformed id",
        api("/elections/abc"),
    )
    .await;
    t.get(&anon, "unknown endpoint", api("/nothing/here")).await;

    // Voting.
    let codes: Vec<String> = (1..=5).map(|n| fixed_code(n).to_string()).collect();
    let cast = |code: &str, candidate: i64| json!({"code": code, "candidate_id": candidate});
    t.get(&anon, "work with nothing to mine", api("/elections/1/work"))
        .await;
    let first = t
        .post(&anon, "cast", api("/elections/1/votes"), cast(&codes[0], 1))
        .await;
    t.post(
        &anon,
        "cast, same voter again",
        api("/elections/1/votes"),
        cast(&codes[0], 2),
    )
    .await;
    t.post(
        &anon,
        "cast, code of a removed voter",
        api("/elections/1/votes"),
        cast(&fixed_code(6).to_string(), 1),
    )
    .await;
    t.post(
        &anon,
        "cast, code replaced before sealing",
        api("/elections/1/votes"),
        cast(&fixed_code(7).to_string(), 1),
    )
    .await;
    t.post(
        &anon,
        "cast, malformed code",
        api("/elections/1/votes"),
        cast("not a code", 1),
    )
    .await;
    t.post(
        &anon,
        "cast, unknown code",
        api("/elections/1/votes"),
        cast("ABCD-EFGH-JKMN-PQRS-TVWX-YZ12", 1),
    )
    .await;
    t.post(
        &anon,
        "cast, unknown candidate",
        api("/elections/1/votes"),
        cast(&codes[1], 77),
    )
    .await;
    t.post(
        &anon,
        "cast, in an election in set-up",
        api("/elections/2/votes"),
        cast(&codes[1], 1),
    )
    .await;
    t.post(
        &anon,
        "cast, wrong shape",
        api("/elections/1/votes"),
        json!({"candidate": 1}),
    )
    .await;
    t.send(
        "cast, too large",
        anon.post(api("/elections/1/votes"))
            .header("content-type", "application/json")
            .body(format!(
                "{{\"code\":\"{}\",\"candidate_id\":1}}",
                "A".repeat(40_000)
            )),
    )
    .await;
    let receipt = first["receipt"].as_str().unwrap().to_owned();
    t.get(
        &anon,
        "receipt, pending",
        api(&format!("/elections/1/receipts/{receipt}")),
    )
    .await;
    t.get(
        &anon,
        "receipt, malformed",
        api("/elections/1/receipts/xyz"),
    )
    .await;
    t.get(
        &anon,
        "receipt, unknown",
        api(&format!("/elections/1/receipts/{}", "0".repeat(64))),
    )
    .await;
    t.post(&anon, "cast", api("/elections/1/votes"), cast(&codes[1], 2))
        .await;

    // Mining and validating block 1.
    let work = t.get(&anon, "work", api("/elections/1/work")).await;
    let block1 = mined(&work, "golden-1");
    let hash1 = hash_of(&block1);
    let mut weak = block1.clone();
    let mut header = header_of(&work);
    header.miner_tag = ledger::block::MinerTag::from_text("golden-1");
    header.nonce = (0..)
        .find(|&n| {
            header.nonce = n;
            ledger::leading_zero_bits(&header.hash().0) == 0
        })
        .unwrap();
    weak["header"] = serde_json::to_value(&header).unwrap();
    t.post(
        &anon,
        "submit block, weak proof of work",
        api("/elections/1/blocks"),
        weak,
    )
    .await;
    // One byte of the first vote's encrypted ballot changed (its hex digit flipped).
    let mut forged = block1.clone();
    let ballot = forged["votes"][0]["ballot"].as_str().unwrap().to_owned();
    let flipped = if &ballot[100..101] == "0" { "1" } else { "0" };
    forged["votes"][0]["ballot"] = json!(format!("{}{flipped}{}", &ballot[..100], &ballot[101..]));
    t.post(
        &anon,
        "submit block, altered vote",
        api("/elections/1/blocks"),
        forged,
    )
    .await;
    t.post(
        &anon,
        "submit block, wrong shape",
        api("/elections/1/blocks"),
        json!({"header": 1}),
    )
    .await;
    t.post(
        &anon,
        "submit block",
        api("/elections/1/blocks"),
        block1.clone(),
    )
    .await;
    t.post(
        &anon,
        "submit block, twice",
        api("/elections/1/blocks"),
        block1.clone(),
    )
    .await;
    t.get(
        &anon,
        "blocks awaiting",
        api("/elections/1/blocks?status=awaiting"),
    )
    .await;
    t.get(
        &anon,
        "blocks, unknown status",
        api("/elections/1/blocks?status=lost"),
    )
    .await;
    t.get(
        &anon,
        "receipt, awaiting approval",
        api(&format!("/elections/1/receipts/{receipt}")),
    )
    .await;
    t.get(
        &anon,
        "block detail, awaiting",
        api(&format!("/elections/1/blocks/{hash1}")),
    )
    .await;
    t.get(
        &anon,
        "raw block",
        api(&format!("/elections/1/blocks/{hash1}/raw")),
    )
    .await;
    t.get(
        &anon,
        "raw block, malformed hash",
        api("/elections/1/blocks/abc/raw"),
    )
    .await;
    t.get(
        &anon,
        "block detail, malformed",
        api("/elections/1/blocks/abc"),
    )
    .await;
    t.get(
        &anon,
        "block detail, unknown height",
        api("/elections/1/blocks/9"),
    )
    .await;
    let approve1 = api(&format!("/elections/1/blocks/{hash1}/approve"));
    let reject1 = api(&format!("/elections/1/blocks/{hash1}/reject"));
    t.post(&anon, "approve, unsigned", approve1.clone(), json!({}))
        .await;
    t.post(
        &v1,
        "approve, a validator's session but unsigned",
        approve1.clone(),
        json!({}),
    )
    .await;
    t.post(
        &anon,
        "approve, key not in the genesis block",
        approve1.clone(),
        approval(&fixed_key(9), &hash1),
    )
    .await;
    let mut forged = approval(&k1, &hash1);
    forged["signature"] = approval(&k2, &hash1)["signature"].clone();
    t.post(&anon, "approve, bad signature", approve1.clone(), forged)
        .await;
    t.post(
        &anon,
        "approve, signed for another block",
        approve1.clone(),
        approval(&k1, &"0".repeat(64)),
    )
    .await;
    t.post(&anon, "approve", approve1.clone(), approval(&k1, &hash1))
        .await;
    t.post(
        &anon,
        "approve, twice",
        approve1.clone(),
        approval(&k1, &hash1),
    )
    .await;
    t.post(
        &anon,
        "reject, unsigned",
        reject1.clone(),
        json!({"reason": "no"}),
    )
    .await;
    t.post(
        &anon,
        "reject, empty reason",
        reject1.clone(),
        rejection(&k3, &hash1, " "),
    )
    .await;
    let mut reworded = rejection(&k3, &hash1, "bad votes");
    reworded["reason"] = json!("no reason");
    t.post(
        &anon,
        "reject, signed for another reason",
        reject1.clone(),
        reworded,
    )
    .await;
    t.post(
        &anon,
        "approve, reaching quorum",
        approve1.clone(),
        approval(&k2, &hash1),
    )
    .await;
    t.post(
        &anon,
        "reject, appended block",
        reject1.clone(),
        rejection(&k3, &hash1, "too late"),
    )
    .await;
    t.get(
        &anon,
        "receipt, appended",
        api(&format!("/elections/1/receipts/{receipt}")),
    )
    .await;
    t.get(
        &anon,
        "block detail, by height",
        api("/elections/1/blocks/1"),
    )
    .await;
    t.get(&anon, "chain page", api("/elections/1/blocks")).await;
    t.get(
        &anon,
        "chain page, from and limit",
        api("/elections/1/blocks?from=1&limit=1"),
    )
    .await;
    t.get(&anon, "tally", api("/elections/1/tally")).await;
    t.get(&anon, "election detail, one block", api("/elections/1"))
        .await;

    // Block 2 is rejected; its vote returns to the pool.
    let third = t
        .post(&anon, "cast", api("/elections/1/votes"), cast(&codes[2], 3))
        .await;
    let work = t
        .get(&anon, "work on block 1", api("/elections/1/work"))
        .await;
    let block2 = mined(&work, "golden-2");
    let hash2 = hash_of(&block2);
    t.post(&anon, "submit block", api("/elections/1/blocks"), block2)
        .await;
    t.post(
        &anon,
        "reject",
        api(&format!("/elections/1/blocks/{hash2}/reject")),
        rejection(&k1, &hash2, "I could not check it"),
    )
    .await;
    t.post(
        &anon,
        "reject, out of quorum's reach",
        api(&format!("/elections/1/blocks/{hash2}/reject")),
        rejection(&k3, &hash2, "Nor could I"),
    )
    .await;
    t.get(
        &anon,
        "block detail, rejected",
        api(&format!("/elections/1/blocks/{hash2}")),
    )
    .await;
    let third = third["receipt"].as_str().unwrap().to_owned();
    t.get(
        &anon,
        "receipt, back in the pool",
        api(&format!("/elections/1/receipts/{third}")),
    )
    .await;

    // Two rivals on one parent, with different votes (a block with the same votes as an
    // awaiting one is refused): the first to reach quorum wins, the other goes stale.
    t.post(&anon, "cast", api("/elections/1/votes"), cast(&codes[3], 1))
        .await;
    let work = t
        .get(&anon, "work on block 1 again", api("/elections/1/work"))
        .await;
    let mut rival_a: Block = serde_json::from_value(mined(&work, "rival-a")).unwrap();
    rival_a.votes.truncate(1);
    mine_with_votes(&mut rival_a);
    let rival_a = serde_json::to_value(&rival_a).unwrap();
    let rival_b = mined(&work, "rival-b");
    let (hash_a, hash_b) = (hash_of(&rival_a), hash_of(&rival_b));
    t.post(&anon, "submit rival a", api("/elections/1/blocks"), rival_a)
        .await;
    t.post(&anon, "submit rival b", api("/elections/1/blocks"), rival_b)
        .await;
    t.post(
        &anon,
        "submit a block with rival b's votes",
        api("/elections/1/blocks"),
        mined(&work, "rival-c"),
    )
    .await;
    t.post(
        &anon,
        "approve rival a",
        api(&format!("/elections/1/blocks/{hash_a}/approve")),
        approval(&k1, &hash_a),
    )
    .await;
    t.post(
        &anon,
        "approve rival a, reaching quorum",
        api(&format!("/elections/1/blocks/{hash_a}/approve")),
        approval(&k2, &hash_a),
    )
    .await;
    t.get(
        &anon,
        "block detail, stale",
        api(&format!("/elections/1/blocks/{hash_b}")),
    )
    .await;
    t.post(
        &anon,
        "approve stale rival",
        api(&format!("/elections/1/blocks/{hash_b}/approve")),
        approval(&k3, &hash_b),
    )
    .await;
    t.post(
        &anon,
        "submit block on an old tip",
        api("/elections/1/blocks"),
        mined(&work, "late"),
    )
    .await;

    // Closing.
    t.post(
        &admin,
        "close election",
        api("/elections/1/close"),
        json!({}),
    )
    .await;
    t.post(
        &admin,
        "close election, twice",
        api("/elections/1/close"),
        json!({}),
    )
    .await;
    t.post(
        &anon,
        "cast after closing",
        api("/elections/1/votes"),
        cast(&codes[4], 1),
    )
    .await;
    t.get(&anon, "work after closing", api("/elections/1/work"))
        .await;
    // The count: finalised by the officer, decrypted by both trustees (threshold 2).
    t.post(
        &anon,
        "finalise, signed out",
        api("/elections/1/final"),
        json!({}),
    )
    .await;
    t.post(&admin, "finalise", api("/elections/1/final"), json!({}))
        .await;
    t.post(
        &admin,
        "finalise early",
        api("/elections/1/final"),
        json!({"early": true}),
    )
    .await;
    t.post(
        &admin,
        "finalise, twice",
        api("/elections/1/final"),
        json!({"early": true}),
    )
    .await;
    let (_, export) = get(&anon, api("/elections/1/export")).await;
    let export: ledger::ChainExport = serde_json::from_value(export).unwrap();
    let chain = ledger::replay(&export).unwrap();
    let (sums, head) = (chain.tally().sums.clone(), chain.tip());
    for (i, (side, key)) in sides.iter().zip(&trustees).enumerate() {
        let made = ledger::secret::DecryptionShare::make(
            side.key_share().unwrap(),
            &sums,
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        let share = ledger::result::SignedShare::sign(key, ElectionId(1), &head, &sums, &made);
        t.post(
            &anon,
            "post decryption share",
            api("/elections/1/tally/shares"),
            json!(share),
        )
        .await;
        if i == 0 {
            t.post(
                &anon,
                "post decryption share, twice",
                api("/elections/1/tally/shares"),
                json!(share),
            )
            .await;
        }
    }
    t.get(&anon, "tally", api("/elections/1/tally")).await;
    t.get(&anon, "export", api("/elections/1/export")).await;
    t.get(&anon, "list elections", api("/elections")).await;
    t.get(&anon, "election detail, closed", api("/elections/1"))
        .await;

    // Rate limit, then sign out.
    for _ in 0..10 {
        post(
            &anon,
            api("/session"),
            json!({"username": "admin", "password": "guess guess"}),
        )
        .await;
    }
    t.post(
        &anon,
        "sign in, rate limited",
        api("/session"),
        json!({"username": "admin", "password": "guess guess"}),
    )
    .await;
    t.send("sign out", admin.delete(api("/session"))).await;
    t.get(&admin, "who am I, after signing out", api("/session"))
        .await;

    let actual = serde_json::to_string_pretty(&Value::Array(t.entries)).unwrap() + "\n";
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::create_dir_all(std::path::Path::new(GOLDEN).parent().unwrap()).unwrap();
        std::fs::write(GOLDEN, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(GOLDEN)
        .expect("tests/golden/api.json is missing: run with GOLDEN_UPDATE=1 once");
    if expected != actual {
        let (want, got): (Vec<Value>, Vec<Value>) = (
            serde_json::from_str(&expected).unwrap(),
            serde_json::from_str(&actual).unwrap(),
        );
        for (i, (w, g)) in want.iter().zip(&got).enumerate() {
            assert_eq!(
                g, w,
                "entry {i} ({}) differs from the golden JSON",
                w["step"]
            );
        }
        assert_eq!(got.len(), want.len(), "the number of entries differs");
    }
}
