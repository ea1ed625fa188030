//! Trustees and their key ceremony through the real binary: enrolment with proven keys,
//! the bulletin board's checks, restarts and replacements, and the ceremony run from the
//! command line by three trustees whose state stays in their key files.

mod common;

use common::*;
use ledger::ceremony::{CeremonyMessage, Round, Seat, Trustee};
use ledger::secret::TrusteeKeys;
use ledger::ElectionId;
use rand::rngs::OsRng;
use std::process::Command;
use wire::ErrorCode;

async fn election_in_setup(office: &Api) -> ElectionId {
    let id = office.create_election("Board", 8, 2).await.id;
    assert_eq!(office.board(id).await.trustees, vec![]);
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trustees_enrol_proven_keys_and_the_board_takes_only_their_signed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = server_with_admin(dir.path()).await;
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);
    let id = election_in_setup(&office).await;

    // Only an officer seats trustees.
    refused(anyone.invite_trustee(id, "Ada").await, "anonymous invite")
        .is(401, ErrorCode::Unauthenticated);
    let ada = office.invite_trustee(id, "Ada").await.unwrap();
    refused(office.invite_trustee(id, " Ada ").await, "same name").is(409, ErrorCode::Duplicate);
    refused(office.invite_trustee(id, "  ").await, "empty name").is(400, ErrorCode::InvalidInput);
    let info = anyone.trustee_invitation(&ada.token).await.unwrap();
    assert_eq!(
        (info.name.as_str(), info.election, info.title.as_str()),
        ("Ada", id, "Board")
    );

    // Bad enrolments change nothing: a proof over another challenge, a receiving key the
    // identity key did not bind.
    let key = new_key();
    let good = trustee_enrolment(&key, &ada.token, &anyone).await;
    let mut wrong_proof = good.clone();
    wrong_proof.proof = ledger::prove_possession(&key, &[0; 32]);
    refused(
        anyone.enrol_trustee(&ada.token, &wrong_proof).await,
        "proof over another challenge",
    )
    .is(422, ErrorCode::BadSignature);
    let mut unbound = good.clone();
    unbound.seat.receiving = ledger::ceremony::receiving_public(&new_key());
    refused(
        anyone.enrol_trustee(&ada.token, &unbound).await,
        "unbound receiving key",
    )
    .is(422, ErrorCode::BadSignature);
    assert_eq!(office.board(id).await.trustees[0].seat, None);
    let enrolled = anyone.enrol_trustee(&ada.token, &good).await.unwrap();
    assert_eq!(enrolled.seat, Some(Seat::of(&key)));
    refused(anyone.enrol_trustee(&ada.token, &good).await, "second use").is(410, ErrorCode::Gone);
    refused(
        anyone.trustee_invitation(&ada.token).await,
        "used invitation",
    )
    .is(410, ErrorCode::Gone);
    refused(anyone.trustee_invitation("ff").await, "unknown token").is(404, ErrorCode::NotFound);

    // The ceremony waits for every seat.
    let bob_seat = office.invite_trustee(id, "Bob").await.unwrap();
    let bob = new_key();
    refused(office.start_ceremony(id, 1).await, "Bob not enrolled").is(409, ErrorCode::WrongState);
    anyone
        .enrol_trustee(
            &bob_seat.token,
            &trustee_enrolment(&bob, &bob_seat.token, &anyone).await,
        )
        .await
        .unwrap();
    // An identity key serves one seat, ever.
    let again = office.invite_trustee(id, "Bob's twin").await.unwrap();
    refused(
        anyone
            .enrol_trustee(
                &again.token,
                &trustee_enrolment(&bob, &again.token, &anyone).await,
            )
            .await,
        "a key on two seats",
    )
    .is(409, ErrorCode::Duplicate);
    let carol = {
        let key = new_key();
        anyone
            .enrol_trustee(
                &again.token,
                &trustee_enrolment(&key, &again.token, &anyone).await,
            )
            .await
            .unwrap();
        key
    };
    let trustees = [key.clone(), bob.clone(), carol.clone()];
    // A threshold at or below half the trustees (two groups could each decrypt a count of
    // their own), or above all of them, is refused by the rule's name; nothing starts.
    for t in [0, 1, 4] {
        let r = refused(office.start_ceremony(id, t).await, "threshold out of range");
        r.is(400, ErrorCode::InvalidInput);
        assert!(
            r.body
                .message
                .contains("more than half of the 3 trustee(s)")
                && r.body.message.contains("(2 to 3)"),
            "{r:?}"
        );
        assert!(office.board(id).await.ceremony.is_none());
    }
    refused(anyone.start_ceremony(id, 2).await, "anonymous start")
        .is(401, ErrorCode::Unauthenticated);
    let all = office
        .start_ceremony(id, 3)
        .await
        .unwrap()
        .ceremony
        .unwrap();
    assert!(
        all.warning.as_deref().unwrap().contains("all 3 trustees"),
        "{:?}",
        all.warning
    );
    let board = office.start_ceremony(id, 2).await.unwrap();
    let ceremony = board.ceremony.unwrap();
    assert!(ceremony.id > all.id && ceremony.warning.is_none());
    let seats: Vec<Seat> = ceremony.seats.iter().map(|s| s.seat.clone()).collect();
    assert_eq!(seats, trustees.iter().map(Seat::of).collect::<Vec<_>>());

    // The board refuses, and keeps nothing of: a message signed by another key, one of the
    // ended ceremony, one from a sender who is no trustee, an empty post.
    let (_, first) = Trustee::join(&key, id, ceremony.id, 0, &seats, 2, &mut OsRng).unwrap();
    let mut forged = first.clone();
    forged.from = 1;
    refused(
        anyone.post_messages(id, &[forged]).await,
        "another's message",
    )
    .is(422, ErrorCode::BadSignature);
    let old = CeremonyMessage::sign(
        &key,
        id,
        all.id,
        Round::Commitments,
        0,
        None,
        first.payload.clone(),
    );
    refused(anyone.post_messages(id, &[old]).await, "ended ceremony")
        .is(409, ErrorCode::WrongState);
    let stranger =
        CeremonyMessage::sign(&key, id, ceremony.id, Round::Commitments, 7, None, vec![1]);
    refused(
        anyone.post_messages(id, &[stranger]).await,
        "no such trustee",
    )
    .is(400, ErrorCode::InvalidInput);
    refused(anyone.post_messages(id, &[]).await, "nothing").is(400, ErrorCode::InvalidInput);
    // All or nothing: a good message with a bad one is not kept either.
    let mut bad = first.clone();
    bad.payload[0] ^= 1;
    refused(
        anyone.post_messages(id, &[first.clone(), bad]).await,
        "one bad of two",
    )
    .is(422, ErrorCode::BadSignature);
    let board = office.board(id).await.ceremony.unwrap();
    assert_eq!(board.messages, vec![]);
    assert_eq!(board.waiting.unwrap().trustees, vec![0, 1, 2]);
    anyone
        .post_messages(id, std::slice::from_ref(&first))
        .await
        .unwrap();
    refused(anyone.post_messages(id, &[first]).await, "posted twice").is(409, ErrorCode::Duplicate);

    // The ceremony itself (restarted: the message above belongs to an ended one).
    let (sides, board) = office.run_ceremony(id, &trustees, 2).await;
    let ceremony = board.ceremony.unwrap();
    assert_eq!((ceremony.waiting, ceremony.problem), (None, None));
    assert_eq!(ceremony.messages.len(), 3 + 3 + 6 + 3);
    let keys = TrusteeKeys {
        threshold: 2,
        keys: sides
            .iter()
            .map(|t| ledger::secret::group_key(t.key_share().unwrap().public_key_share()).unwrap())
            .collect(),
    };
    assert_eq!(ceremony.election_key.unwrap(), keys.election_key().unwrap());

    // Replacing a trustee ends the ceremony, and the seat's new invitation works once.
    let replaced = office
        .replace_trustee(id, ceremony.seats[1].trustee)
        .await
        .unwrap();
    assert_eq!(replaced.name, "Bob");
    let board = office.board(id).await;
    assert!(board.ceremony.is_none());
    assert_eq!(
        board.trustees.iter().filter(|t| t.seat.is_none()).count(),
        1
    );
    refused(
        anyone
            .enrol_trustee(
                &replaced.token,
                &trustee_enrolment(&bob, &replaced.token, &anyone).await,
            )
            .await,
        "the replaced key again",
    )
    .is(409, ErrorCode::Duplicate);
    refused(
        anyone.trustee_invitation(&bob_seat.token).await,
        "a used seat's link",
    )
    .is(410, ErrorCode::Gone);
    refused(
        office.replace_trustee(id, wire::TrusteeId(9999)).await,
        "no such trustee",
    )
    .is(404, ErrorCode::NotFound);
    refused(
        office.invite_trustee(ElectionId(77), "Eve").await,
        "no such election",
    )
    .is(404, ErrorCode::NotFound);
    s.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_trustees_run_the_ceremony_from_the_command_line_with_their_state_in_their_key_files()
{
    let dir = tempfile::tempdir().unwrap();
    let (s, _) = server_with_admin(dir.path()).await;
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let id = election_in_setup(&office).await;
    let election = id.0.to_string();
    let mut homes = Vec::new();
    for name in ["ada", "bob", "carol"] {
        let home = dir.path().join(name);
        std::fs::create_dir_all(&home).unwrap();
        let (key, passphrase) = (home.join("trustee.key"), home.join("passphrase"));
        std::fs::write(&passphrase, format!("the passphrase of {name}\n")).unwrap();
        let out = ballotchain(&[
            "key",
            "new",
            "--out",
            arg(&key),
            "--label",
            name,
            "--passphrase-file",
            arg(&passphrase),
        ]);
        assert!(out.status.success(), "{}", text(&out));
        let seat = office.invite_trustee(id, name).await.unwrap();
        let out = ballotchain(&[
            "trustee",
            "enrol",
            "--server",
            &s.base,
            "--invitation",
            &format!("{}{}", s.base, seat.path),
            "--key",
            arg(&key),
            "--passphrase-file",
            arg(&passphrase),
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains(&format!("trustee {name} of election {id}")),
            "{}",
            text(&out)
        );
        homes.push((key, passphrase));
    }
    // Carol also keeps the key file as it was at enrolment, before any turn.
    let enrolled = (dir.path().join("carol-enrolled.key"), homes[2].1.clone());
    std::fs::copy(&homes[2].0, &enrolled.0).unwrap();
    let ceremony = |home: &(std::path::PathBuf, std::path::PathBuf), wait: &str| {
        let mut command = Command::new(BIN);
        command
            .args(["trustee", "ceremony", "--server", &s.base])
            .args(["--election", &election, "--key", arg(&home.0)])
            .args(["--passphrase-file", arg(&home.1), "--wait", wait]);
        command
    };
    let pass = |home: &(std::path::PathBuf, std::path::PathBuf)| {
        ceremony(home, "0").output().expect("run ballotchain")
    };
    // Before the officer starts it, a pass says so and posts nothing.
    let out = pass(&homes[0]);
    assert!(
        out.status.success() && text(&out).contains("no key ceremony has started"),
        "{}",
        text(&out)
    );
    let started = office
        .start_ceremony(id, 2)
        .await
        .unwrap()
        .ceremony
        .unwrap();

    // One pass each: everyone's commitment is in; the first trustee saw no other yet.
    let out = pass(&homes[0]);
    assert!(text(&out).contains("posted round 1"), "{}", text(&out));
    for home in &homes[1..] {
        assert!(pass(home).status.success());
    }
    let board = office.board(id).await.ceremony.unwrap();
    assert_eq!(
        board.waiting.as_ref().map(|w| w.round),
        Some(Round::Polynomials)
    );
    // The key files now keep each trustee's side, sealed: nothing of it reads in clear.
    let file = std::fs::read_to_string(&homes[0].0).unwrap();
    assert!(
        file.contains("\"state\"")
            && !file.contains("Polynomials")
            && !file.contains("Commitments"),
        "{file}"
    );

    // A second run on a key file in use is refused before it reads anything: two runs
    // could each seal a different round into the file.
    let (key, _) = &homes[1];
    let held = std::fs::File::create(key.with_extension("lock")).unwrap();
    held.lock().unwrap();
    let before = std::fs::read(key).unwrap();
    let out = pass(&homes[1]);
    assert!(
        !out.status.success() && text(&out).contains("another ballotchain run is using"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(key).unwrap(), before);
    drop(held);

    // Then all three wait side by side until the ceremony is complete.
    let running: Vec<_> = homes
        .iter()
        .map(|home| {
            ceremony(home, "120")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = running
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let board = office.board(id).await.ceremony.unwrap();
    assert_eq!(board.id, started.id);
    assert!(board.election_key.is_some() && board.problem.is_none());
    // Each trustee prints the election key its own key share gives: the board's.
    for out in &outputs {
        assert!(out.status.success(), "{}", text(out));
        assert!(
            text(out).contains(&format!(
                "is complete: election key {} (computed here from your key share)",
                board.election_key.unwrap()
            )),
            "{}",
            text(out)
        );
    }
    assert_eq!(board.messages.len(), 15);
    // Another pass posts nothing more.
    let out = pass(&homes[2]);
    assert!(
        out.status.success() && !text(&out).contains("posted"),
        "{}",
        text(&out)
    );
    assert_eq!(office.board(id).await.ceremony.unwrap().messages.len(), 15);

    // A wrong passphrase opens nothing and posts nothing.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not the passphrase at all\n").unwrap();
    let out = pass(&(homes[0].0.clone(), wrong));
    assert!(
        !out.status.success() && text(&out).contains("wrong passphrase"),
        "{}",
        text(&out)
    );

    // Once the office opens voting, a pass checks the genesis block against the key file:
    // it seals exactly the set the ceremony made, and the hash to publish is printed.
    for name in ["Ada", "Grace"] {
        office.add_candidate(id, name).await;
    }
    office.register_voters(id, 2).await;
    for name in ["validator1", "validator2"] {
        ensure_validator(&s, &office, name).await;
        office.enrol(id, name).await;
    }
    office.open(id).await;
    let hash = office.election(id).await.unwrap().genesis_hash.unwrap();
    // The copy from enrolment checks it too: the side is re-made from the key and the
    // board.
    for home in homes.iter().chain([&enrolled]) {
        let out = pass(home);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("with exactly the set your key ceremony made")
                && text(&out).contains(&format!("genesis {hash}"))
                && !text(&out).contains("ATTENTION"),
            "{}",
            text(&out)
        );
    }
    s.kill();
}

/// The review's third finding: an operator that seals a ceremony of seats it holds
/// itself (here by replacing a trustee who had joined, with the invitation link it holds)
/// makes that trustee's `trustee ceremony` raise the alarm once voting is open, and print
/// no genesis hash to publish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_genesis_sealed_without_this_trustees_seat_makes_trustee_ceremony_raise_the_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Replaced", 2, false).await;
    let id = ElectionId(e.election as u64);
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);
    let (key, passphrase) = (dir.path().join("carol.key"), dir.path().join("passphrase"));
    std::fs::write(&passphrase, "the passphrase of carol\n").unwrap();
    let out = ballotchain(&[
        "key",
        "new",
        "--out",
        arg(&key),
        "--passphrase-file",
        arg(&passphrase),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let seat = office.invite_trustee(id, "carol").await.unwrap();
    let out = ballotchain(&[
        "trustee",
        "enrol",
        "--server",
        &s.base,
        "--invitation",
        &seat.token,
        "--key",
        arg(&key),
        "--passphrase-file",
        arg(&passphrase),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let carol_pass = || {
        ballotchain(&[
            "trustee",
            "ceremony",
            "--server",
            &s.base,
            "--election",
            &id.0.to_string(),
            "--key",
            arg(&key),
            "--passphrase-file",
            arg(&passphrase),
        ])
    };
    // Carol joins a ceremony with trustee1 (two of two) ...
    office.start_ceremony(id, 2).await.unwrap();
    let out = carol_pass();
    assert!(
        out.status.success() && text(&out).contains("joining ceremony"),
        "{}",
        text(&out)
    );
    // ... then the operator gives her seat to a key of its own and seals that ceremony.
    let board = office.board(id).await.ceremony.unwrap();
    let carol_seat = board
        .seats
        .iter()
        .find(|s| s.name == "carol")
        .unwrap()
        .trustee;
    let taken = office.replace_trustee(id, carol_seat).await.unwrap();
    let operator = new_key();
    anyone
        .enrol_trustee(
            &taken.token,
            &trustee_enrolment(&operator, &taken.token, &anyone).await,
        )
        .await
        .unwrap();
    let (_, board) = office
        .run_ceremony(id, &[e.trustees[0].0.clone(), operator], 2)
        .await;
    assert!(board.ceremony.unwrap().election_key.is_some());
    office.open(id).await;

    let out = carol_pass();
    assert!(!out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.lines()
            .any(|l| l.starts_with("ATTENTION: the genesis block")
                && l.contains("does not list this trustee's key")),
        "{said}"
    );
    assert!(
        !text(&out).lines().any(|l| l.starts_with("genesis ")),
        "{}",
        text(&out)
    );
    s.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_genesis_block_seals_the_trustees_and_verify_refuses_an_election_key_they_did_not_make()
{
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Sealed", 2, false).await;
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);
    let id = ElectionId(e.election as u64);

    // A trustee seated late ends the finished ceremony: opening waits again, saying why.
    let late = office.invite_trustee(id, "late").await.unwrap();
    refused(office.try_open(id).await, "no ceremony").is(409, ErrorCode::WrongState);
    let late_key = new_key();
    anyone
        .enrol_trustee(
            &late.token,
            &trustee_enrolment(&late_key, &late.token, &anyone).await,
        )
        .await
        .unwrap();
    office.start_ceremony(id, 2).await.unwrap();
    let waiting = refused(office.try_open(id).await, "ceremony under way");
    waiting.is(409, ErrorCode::WrongState);
    assert!(
        waiting
            .body
            .message
            .contains("round 1 (commitments) waits for trustee1, late"),
        "{waiting:?}"
    );
    let trustees = [e.trustees[0].0.clone(), late_key];
    let (_, board) = office.run_ceremony(id, &trustees, 2).await;
    let ceremony = board.ceremony.unwrap();
    let opened = office.try_open(id).await.unwrap();
    assert_eq!(opened.state, wire::ElectionState::Open);

    // The genesis block holds the trustees in seat order, the threshold and the key.
    let export = anyone.export(id).await.unwrap();
    let sealed = &export.genesis.trustees;
    assert_eq!((sealed.ceremony, sealed.threshold), (ceremony.id, 2));
    assert_eq!(Some(sealed.election_key), ceremony.election_key);
    let identities: Vec<_> = sealed.trustees.iter().map(|t| t.identity).collect();
    assert_eq!(
        identities,
        trustees.iter().map(public_of).collect::<Vec<_>>()
    );

    // Sealed: the board takes nothing more, and the trustees cannot change.
    refused(
        anyone.post_messages(id, &ceremony.messages[..1]).await,
        "a message after sealing",
    )
    .is(409, ErrorCode::WrongState);
    refused(office.start_ceremony(id, 1).await, "restart after sealing")
        .is(409, ErrorCode::WrongState);
    refused(
        office.replace_trustee(id, ceremony.seats[0].trustee).await,
        "replace after sealing",
    )
    .is(409, ErrorCode::WrongState);
    refused(
        office.invite_trustee(id, "later").await,
        "invite after sealing",
    )
    .is(409, ErrorCode::WrongState);

    // `verify` passes on the export, and fails on one whose election key is not the one
    // the trustees signed (an operator's own key, which would read every ballot).
    let good = dir.path().join("export.json");
    std::fs::write(&good, serde_json::to_vec(&export).unwrap()).unwrap();
    let out = ballotchain(&["verify", arg(&good)]);
    assert!(out.status.success(), "{}", text(&out));
    let mut forged = export.clone();
    forged.genesis.trustees.election_key = forged.genesis.trustees.trustees[0].verification_key;
    // (Its hash made again, as whoever forged it would.)
    forged.genesis_hash = forged.genesis.hash();
    let bad = dir.path().join("forged.json");
    std::fs::write(&bad, serde_json::to_vec(&forged).unwrap()).unwrap();
    let out = ballotchain(&["verify", arg(&bad)]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(
            "trustee 0's confirmation is not their signature over exactly this sealed set"
        ),
        "{}",
        text(&out)
    );
    s.kill();
}

/// The review's first attack, as an operator with the database would make it: after an
/// honest ceremony of A, B and C (two of three), the sealed trustees become A and B with
/// their genuine confirmations, plus a seat D of the operator's own with threshold 3, D's
/// verification key chosen so the three keys combine to an election key whose secret the
/// operator knows. Its keys do combine; every confirmation of A and B signed another set.
fn forged_genesis(real: &ledger::Genesis) -> (ledger::Genesis, ledger::GroupKey) {
    use elastic_elgamal::group::{ElementOps, Group, Ristretto, ScalarOps};
    type Scalar = <Ristretto as ScalarOps>::Scalar;
    let point = |key: &ledger::GroupKey| Ristretto::deserialize_element(&key.0).unwrap();
    let bytes = |e: &<Ristretto as ElementOps>::Element| {
        let mut out = [0u8; 32];
        Ristretto::serialize_element(e, &mut out);
        ledger::GroupKey(out)
    };
    let secret = Ristretto::generate_scalar(&mut OsRng);
    let known = Ristretto::mul_generator(&secret);
    let three = Scalar::from(3u64);
    let sealed = &real.trustees;
    let (a, b) = (
        point(&sealed.trustees[0].verification_key),
        point(&sealed.trustees[1].verification_key),
    );
    // With t = n = 3 the election key is 3·A − 3·B + D (Lagrange at 0 over seats 1, 2, 3).
    let d = known - a * three + b * three;
    let operator = new_key();
    let mut forged = real.clone();
    forged.trustees.threshold = 3;
    forged.trustees.election_key = bytes(&known);
    forged.trustees.trustees[2] = ledger::TrusteeRecord {
        identity: public_of(&operator),
        verification_key: bytes(&d),
        confirmation: ledger::Signature([0; 64]),
    };
    forged.trustees.trustees[2].confirmation = CeremonyMessage::sign(
        &operator,
        real.election,
        forged.trustees.ceremony,
        Round::Confirmations,
        2,
        None,
        forged.trustees.sealed_set(real.election).encode(),
    )
    .signature;
    assert_eq!(
        forged.trustees.keys().election_key(),
        Ok(forged.trustees.election_key),
        "the forged keys combine to the operator's key"
    );
    (forged, bytes(&known))
}

/// The review's attacks replayed against the binary, with a server that serves what the
/// operator made: a genesis block with a seat of the operator's own beside genuine
/// confirmations, and the real one relabelled as format 3. The trustee's `trustee
/// ceremony` raises the alarm, `vote` encrypts and sends nothing, `verify` refuses the
/// export; pinned to the published genesis, `vote` refuses any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reviews_attacks_on_the_sealed_trustees_fail_in_every_client() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let e = open_election(&s, &admin, "Attacked", 2, false).await;
    let id = ElectionId(e.election as u64);
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);
    // The review's second attack needed two of four: refused, two groups could each
    // decrypt a count of their own. Three of four starts.
    let four = office.create_election("Four trustees", 8, 2).await.id;
    for name in ["w", "x", "y", "z"] {
        office.enrolled_trustee(four, name).await;
    }
    let r = refused(office.start_ceremony(four, 2).await, "two of four");
    r.is(400, ErrorCode::InvalidInput);
    assert!(r.body.message.contains("(3 to 4)"), "{r:?}");
    assert!(office.board(four).await.ceremony.is_none());
    assert!(office.start_ceremony(four, 3).await.is_ok());

    // An honest ceremony of A, B and C, two of three, and the election opened.
    let mut keys = vec![e.trustees[0].0.clone()];
    for name in ["B", "C"] {
        keys.push(office.enrolled_trustee(id, name).await);
    }
    let (sides, _) = office.run_ceremony(id, &keys, 2).await;
    office.open(id).await;
    let real = office.genesis(id).await;
    assert_eq!(real.check_rules(), Ok(()));
    assert_eq!(real.trustees.trustees.len(), 3);
    let published = real.hash();

    // Trustee A's key file, with its side of the honest ceremony.
    let passphrase = dir.path().join("passphrase");
    std::fs::write(&passphrase, "the passphrase of trustee A\n").unwrap();
    let key = dir.path().join("a.key");
    let file = keyfile::KeyFile::seal_with(&keys[0], "A", "the passphrase of trustee A", 64, 1)
        .unwrap()
        .with_state(
            "the passphrase of trustee A",
            serde_json::json!({ "trustee": sides[0], "outbox": [] })
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    std::fs::write(&key, file.to_json().unwrap()).unwrap();
    let ceremony_at = |server: &str| {
        ballotchain(&[
            "trustee",
            "ceremony",
            "--server",
            server,
            "--election",
            &id.0.to_string(),
            "--key",
            arg(&key),
            "--passphrase-file",
            arg(&passphrase),
        ])
    };
    // The real server: A finds its set sealed, and the hash to publish.
    let out = ceremony_at(&s.base);
    assert!(
        out.status.success() && text(&out).contains(&format!("genesis {published}")),
        "{}",
        text(&out)
    );

    let (forged, _) = forged_genesis(&real);
    assert!(forged.check_rules().is_err());
    let detail = serde_json::to_value(office.election(id).await.unwrap()).unwrap();
    let mut old = real.encode();
    old[..4].copy_from_slice(&3u32.to_le_bytes());
    let code = dir.path().join("code.txt");
    std::fs::write(&code, format!("{}\n", e.codes[0])).unwrap();
    for (what, bytes, expect) in [
        (
            "a seat of the operator's own",
            forged.encode(),
            "confirmation",
        ),
        ("format 3", old, "format version 3"),
    ] {
        let liar = LyingServer::start(vec![
            LyingServer::json(&format!("/api/elections/{id}"), &detail),
            LyingServer::bytes(&format!("/api/elections/{id}/genesis"), bytes),
        ]);
        let out = ceremony_at(&liar.base);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && said
                    .lines()
                    .any(|l| l.starts_with("ATTENTION: the genesis block") && l.contains(expect)),
            "{what}: {said}"
        );
        let vote = |pinned: &[&str]| {
            let (election, candidate) = (id.0.to_string(), e.candidates[0].to_string());
            let mut args = vec!["vote", "--server", &liar.base, "--election", &election];
            args.extend(["--code-file", arg(&code), "--candidate", &candidate]);
            args.extend(pinned);
            ballotchain(&args)
        };
        let out = vote(&[]);
        assert!(
            !out.status.success() && text(&out).contains(expect),
            "{what}: {}",
            text(&out)
        );
        let out = vote(&["--genesis", &published.to_hex()]);
        assert!(
            !out.status.success() && text(&out).contains("not the published"),
            "{what}: {}",
            text(&out)
        );
        assert_eq!(
            liar.posts(),
            0,
            "{what}: a client posted to the lying server"
        );
    }

    // An export whose genesis block is the forgery (its hash made again) fails `verify`.
    let mut export = anyone.export(id).await.unwrap();
    export.genesis = forged;
    export.genesis_hash = export.genesis.hash();
    let path = dir.path().join("forged.json");
    std::fs::write(&path, serde_json::to_vec(&export).unwrap()).unwrap();
    let out = ballotchain(&["verify", arg(&path)]);
    assert!(
        !out.status.success() && text(&out).contains("confirmation"),
        "{}",
        text(&out)
    );
    s.kill();
}
