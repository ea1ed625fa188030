//! Each flow of the node against a temporary SQLite file, or, when
//! `BALLOTCHAIN_TEST_POSTGRES` names a PostgreSQL server (scripts/test.sh runs them so a
//! second time), a fresh database on it: register, seal, cast, submit, approve, reject,
//! stale and the integrity check. Every refusal is shown to leave the database's row
//! counts as they were.

use ed25519_dalek::SigningKey;
use engine::{EngineError, IntegrityReport, Location, Node};
use ledger::block::MinerTag;
use ledger::{
    Approval, Block, CandidateId, ElectionId, PowSearch, PublicKey, Rejection, RuleError,
    Signature, TxId, Vote, VotingCode,
};
use wire::{
    Acceptance, AccountId, Ballot, BlockRef, BlockStatus, ElectionState, KeyProof, NewElection,
    NewInvitation, NewVoter, ReceiptStatus, Role, Roll, VoterId, WorkTemplate,
};

const PASSWORD: &str = "a long enough password";

/// Row counts of every table, block statuses and pending votes.
async fn counts(node: &Node) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    // Every table the schema has, read from the schema itself.
    for table in engine::tables(node.pool()).await.unwrap() {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(node.pool())
            .await
            .unwrap();
        out.push((table, n));
    }
    let statuses: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM blocks GROUP BY status ORDER BY status")
            .fetch_all(node.pool())
            .await
            .unwrap();
    out.extend(
        statuses
            .into_iter()
            .map(|(s, n)| (format!("blocks:{s}"), n)),
    );
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM votes WHERE block_hash IS NULL")
        .fetch_one(node.pool())
        .await
        .unwrap();
    out.push(("votes:pending".into(), pending));
    let states: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM elections GROUP BY state ORDER BY state")
            .fetch_all(node.pool())
            .await
            .unwrap();
    out.extend(
        states
            .into_iter()
            .map(|(s, n)| (format!("elections:{s}"), n)),
    );
    out
}

/// Awaits the call, expects an error matching the pattern, and shows the database unchanged.
macro_rules! refused {
    ($node:expr, $call:expr, $pattern:pat) => {{
        let before = counts($node).await;
        let result = $call.await;
        assert!(
            matches!(result, Err($pattern)),
            "expected {}, got {:?}",
            stringify!($pattern),
            result.as_ref().map(|_| "success")
        );
        assert_eq!(
            counts($node).await,
            before,
            "a refused call changed the database"
        );
    }};
}

/// A test's database: a SQLite file in a temporary folder, or a fresh database on the
/// PostgreSQL server `BALLOTCHAIN_TEST_POSTGRES` names.
struct TestDb {
    _dir: tempfile::TempDir,
    location: Location,
}

impl TestDb {
    /// A SQLite file, whatever the run: for a test about the file itself.
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::File(dir.path().join("node.db"));
        TestDb {
            _dir: dir,
            location,
        }
    }

    async fn new() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let location = match std::env::var("BALLOTCHAIN_TEST_POSTGRES") {
            Err(_) => Location::File(dir.path().join("node.db")),
            Ok(server) => {
                use sqlx::Connection;
                let name = format!("flows_{}", hex::encode(&rand_seed()[..8]));
                let mut conn = sqlx::PgConnection::connect(&server).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                let (base, _) = server.rsplit_once('/').unwrap();
                Location::Postgres(format!("{base}/{name}"))
            }
        };
        TestDb {
            _dir: dir,
            location,
        }
    }
}

/// Whether this run's databases are PostgreSQL's: a test of several instances on one
/// database needs it (and is ignored unless asked for).
fn on_postgres() -> bool {
    std::env::var("BALLOTCHAIN_TEST_POSTGRES").is_ok()
}

struct Fixture {
    db: TestDb,
    node: Node,
    election: ElectionId,
    candidates: Vec<CandidateId>,
    codes: Vec<String>,
    admin: AccountId,
    validators: Vec<Validator>,
}

/// A validator account and the key it holds (in a test, the test is its device).
struct Validator {
    id: AccountId,
    key: SigningKey,
}

/// Invites a validator, who makes a key and accepts with a proof of possession.
async fn validator(node: &Node, admin: AccountId, name: &str) -> Validator {
    let key = SigningKey::from_bytes(&rand_seed());
    let invited = node
        .create_invitation(
            admin,
            &NewInvitation {
                username: name.into(),
                role: Role::Validator,
            },
        )
        .await
        .unwrap();
    let account = node
        .accept_invitation(
            &invited.token,
            accept_with(node, &invited.token, &key).await,
        )
        .await
        .unwrap();
    Validator {
        id: account.id,
        key,
    }
}

/// Awaits the call, expects `BadRows`, shows the database unchanged, and gives the rows.
macro_rules! bad_rows {
    ($node:expr, $call:expr) => {{
        let before = counts($node).await;
        let rows = match $call.await {
            Err(EngineError::BadRows(rows)) => rows,
            other => panic!("expected bad rows, got {:?}", other.map(|_| "success")),
        };
        assert_eq!(
            counts($node).await,
            before,
            "a refused call changed the database"
        );
        rows
    }};
}

/// A fresh voting code from random bytes, made here as the officer's browser or
/// `ballotchain codes` makes it: the node is only ever given its public key.
fn new_code() -> VotingCode {
    use rand::RngCore;
    let mut bytes = [0u8; ledger::code::CODE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    VotingCode::from_entropy(bytes)
}

/// A voter to register with this key.
fn voter(name: &str, external_id: Option<&str>, public_key: PublicKey) -> NewVoter {
    NewVoter {
        name: name.into(),
        external_id: external_id.map(Into::into),
        public_key,
    }
}

/// 32 bytes that encode no point of the curve, so no Ed25519 public key.
fn not_a_point() -> PublicKey {
    (0..=u8::MAX)
        .map(|n| PublicKey([n; 32]))
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(&k.0).is_err())
        .expect("some repeated byte encodes no point")
}

/// The key a code (as text) gives in an election.
fn key_of(code: &str, election: ElectionId) -> PublicKey {
    VotingCode::parse(code).unwrap().public_key(election)
}

fn rand_seed() -> [u8; 32] {
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

/// An acceptance with a password and `key`, proven over the invitation's challenge.
async fn accept_with(node: &Node, token: &str, key: &SigningKey) -> Acceptance {
    let challenge = hex::decode(node.invitation(token).await.unwrap().challenge).unwrap();
    Acceptance {
        password: Some(PASSWORD.into()),
        key: Some(KeyProof {
            public_key: ledger::PublicKey(key.verifying_key().to_bytes()),
            proof: ledger::prove_possession(key, &challenge),
        }),
    }
}

/// A new election of this title: quorum 2, 8 bits of work.
fn small(title: &str) -> NewElection {
    NewElection {
        title: title.into(),
        description: String::new(),
        difficulty_bits: Some(8),
        quorum: Some(2),
    }
}

/// An election in set-up with three candidates, `voters` voters, `validators` enrolled
/// validators (quorum 2, 8 bits of work) and its trustees' key ceremony complete.
async fn setup(voters: usize, validators: usize) -> Fixture {
    setup_in(TestDb::new().await, voters, validators).await
}

/// [`setup`] in `db`.
async fn setup_in(db: TestDb, voters: usize, validators: usize) -> Fixture {
    let (node, report) = Node::open(&db.location).await.unwrap();
    assert!(report.is_clean());
    let election = node.create_election(small("Flows")).await.unwrap().id;
    let mut candidates = Vec::new();
    for name in ["Ada", "Grace", "Alan"] {
        candidates.push(node.add_candidate(election, name, "").await.unwrap().id);
    }
    let made: Vec<VotingCode> = (0..voters).map(|_| new_code()).collect();
    if voters > 0 {
        let list = made
            .iter()
            .enumerate()
            .map(|(i, c)| {
                voter(
                    &format!("Voter {i}"),
                    Some(&format!("V{i}")),
                    c.public_key(election),
                )
            })
            .collect();
        let registered = node.register_voters(election, list).await.unwrap();
        assert_eq!(registered.voters.len(), voters);
    }
    let codes = made.iter().map(ToString::to_string).collect();
    let admin = node.create_admin("officer", PASSWORD).await.unwrap().id;
    let mut accounts = Vec::new();
    for i in 0..validators {
        let name = format!("validator{i}");
        accounts.push(validator(&node, admin, &name).await);
        node.enrol_validator(election, &name).await.unwrap();
    }
    trustees_ready(&node, election).await;
    Fixture {
        db,
        node,
        election,
        candidates,
        codes,
        admin,
        validators: accounts,
    }
}

/// One trustee (threshold 1) enrolled, and the key ceremony run to completion as a
/// trustee's machine runs it (set-up; nothing when it is complete already): opening needs
/// its election key.
async fn trustees_ready(node: &Node, election: ElectionId) {
    use ledger::ceremony::{Seat, Trustee};
    use rand::RngCore;
    let board = node.ceremony_board(election).await.unwrap();
    if board.ceremony.is_some_and(|c| c.election_key.is_some()) {
        return;
    }
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let new = wire::NewTrustee {
        name: "Trustee".into(),
    };
    let seat = node.invite_trustee(election, &new).await.unwrap();
    let info = node.trustee_invitation(&seat.token).await.unwrap();
    let challenge = hex::decode(&info.challenge).unwrap();
    let enrolment = wire::TrusteeEnrolment {
        seat: Seat::of(&key),
        proof: ledger::prove_possession(&key, &challenge),
    };
    node.enrol_trustee(&seat.token, &enrolment).await.unwrap();
    let ceremony = node
        .start_ceremony(election, 1)
        .await
        .unwrap()
        .ceremony
        .unwrap();
    let seats: Vec<Seat> = ceremony.seats.iter().map(|s| s.seat.clone()).collect();
    let (mut side, first) = Trustee::join(
        &key,
        election,
        ceremony.id,
        0,
        &seats,
        1,
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let mut board = node
        .post_ceremony_messages(election, &[first])
        .await
        .unwrap();
    loop {
        let messages = board.ceremony.as_ref().unwrap().messages.clone();
        let out = side.step(&key, &messages, &mut rand::rngs::OsRng).unwrap();
        if out.is_empty() {
            break;
        }
        board = node.post_ceremony_messages(election, &out).await.unwrap();
    }
    assert!(board.ceremony.unwrap().election_key.is_some());
}

/// An encrypted ballot for the candidate at `choice` (ballot order) under the sealed
/// election key, as a voter's device makes it.
async fn sealed_ballot(node: &Node, election: ElectionId, choice: usize) -> Vec<u8> {
    let genesis = node.genesis(election).await.unwrap();
    ledger::secret::Ballot::encrypt(
        &genesis.trustees.election_key,
        genesis.candidates.len(),
        choice,
        &mut rand::rngs::OsRng,
    )
    .unwrap()
    .encode()
    .unwrap()
}

/// Another voter's ballot put in place of a vote's on the chain (an edit behind the node's
/// back; the ciphertexts column is left as it was).
const BALLOT_SWAPPED: &str = "UPDATE votes SET ballot = (SELECT v2.ballot FROM votes v2 WHERE v2.tx_id <> votes.tx_id ORDER BY v2.rowid LIMIT 1)";

/// An open election.
async fn opened(voters: usize, validators: usize) -> Fixture {
    opened_in(TestDb::new().await, voters, validators).await
}

/// [`opened`] in `db`.
async fn opened_in(db: TestDb, voters: usize, validators: usize) -> Fixture {
    let f = setup_in(db, voters, validators).await;
    f.node.open_election(f.election).await.unwrap();
    f
}

fn by_code(code: &str, candidate: CandidateId) -> Ballot {
    Ballot::Code {
        code: code.to_owned(),
        candidate_id: candidate,
    }
}

/// The template as a mined block with this miner tag.
fn mined(work: &WorkTemplate, tag: &str) -> Block {
    mined_with(work, work.votes.clone(), tag)
}

/// A block on `work`'s tip carrying only `votes`.
fn mined_with(work: &WorkTemplate, votes: Vec<Vote>, tag: &str) -> Block {
    let receipts: Vec<TxId> = votes.iter().map(Vote::tx_id).collect();
    let mut block = Block {
        header: work.header.clone(),
        votes,
    };
    block.header.merkle_root = ledger::merkle_root(&receipts);
    block.header.miner_tag = MinerTag::from_text(tag);
    block.header.nonce = PowSearch::new(&block.header)
        .search(0..u64::MAX, block.header.difficulty)
        .solution
        .unwrap();
    block
}

/// Casts the voters' votes (voter i for candidate i mod 3) and returns the receipts.
async fn cast_all(f: &Fixture, voters: std::ops::Range<usize>) -> Vec<TxId> {
    let mut receipts = Vec::new();
    for i in voters {
        let ballot = by_code(&f.codes[i], f.candidates[i % 3]);
        receipts.push(f.node.cast_vote(f.election, ballot).await.unwrap());
    }
    receipts
}

#[tokio::test]
async fn a_full_ceremony_board_is_checked_once_and_again_only_when_it_changes() {
    let f = setup(0, 0).await;
    let (node, e) = (&f.node, f.election);
    let checked = node.board_checks();
    assert!(
        checked >= 1,
        "the ceremony's last post checked the full board"
    );
    let key = node
        .ceremony_board(e)
        .await
        .unwrap()
        .ceremony
        .unwrap()
        .election_key;
    assert!(key.is_some());
    for _ in 0..20 {
        let board = node.ceremony_board(e).await.unwrap().ceremony.unwrap();
        assert_eq!(board.election_key, key);
    }
    assert_eq!(
        node.board_checks(),
        checked,
        "repeated reads re-ran the check"
    );
    // The board changed under the node (a signature moved onto another message in the
    // database): the next read checks it again and shows the problem, once.
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM ceremony_messages ORDER BY id")
        .fetch_all(node.write_pool())
        .await
        .unwrap();
    let (first, last) = (ids[0].0, ids[ids.len() - 1].0);
    sqlx::query(&format!(
        "UPDATE ceremony_messages SET signature = (SELECT signature FROM ceremony_messages WHERE id = {first}) WHERE id = {last}"
    ))
    .execute(node.write_pool())
    .await
    .unwrap();
    for _ in 0..5 {
        let board = node.ceremony_board(e).await.unwrap().ceremony.unwrap();
        assert_eq!(board.election_key, None);
        let problem = board.problem.unwrap();
        assert!(problem.contains("not signed"), "{problem}");
    }
    assert_eq!(node.board_checks(), checked + 1);
}

#[tokio::test]
async fn registering_voters_by_key_is_all_or_nothing_and_ends_at_sealing() {
    let f = setup(2, 2).await;
    let (node, e) = (&f.node, f.election);
    let taken = key_of(&f.codes[0], e);
    let (a, b, c) = (
        new_code().public_key(e),
        new_code().public_key(e),
        new_code().public_key(e),
    );
    let roll_before = node.election(e).await.unwrap().roll;
    let bad = vec![
        voter("Fine", Some("F1"), a),
        voter("  ", Some("F1"), b),
        voter("Twin", None, a),
        voter("Copy", None, taken),
        voter("Point", Some("V1"), not_a_point()),
        voter("Also fine", None, c),
    ];
    assert_eq!(
        bad_rows!(node, node.register_voters(e, bad)),
        [
            "voter 2: the name is empty",
            "voter 2: external id \"F1\" appears twice",
            "voter 3: this key appears twice",
            "voter 4: this key is already registered",
            "voter 5: external id \"V1\" is already registered",
            "voter 5: the public key is not an Ed25519 key",
        ]
    );
    assert_eq!(node.election(e).await.unwrap().roll, roll_before);
    refused!(
        node,
        node.register_voters(e, Vec::new()),
        EngineError::Invalid(_)
    );
    refused!(
        node,
        node.register_voters(ElectionId(99), vec![voter("X", None, a)]),
        EngineError::NotFound("election")
    );

    // Registered by key: the answer is the voters and the whole roll, which the
    // election's detail shows too.
    let registered = node
        .register_voters(
            e,
            vec![
                voter(" Fine ", Some(" F1 "), a),
                voter("Blank", Some(""), b),
            ],
        )
        .await
        .unwrap();
    assert_eq!(registered.voters.len(), 2);
    assert_eq!(
        (
            registered.voters[0].name.as_str(),
            registered.voters[0].external_id.as_deref(),
            registered.voters[0].public_key
        ),
        ("Fine", Some("F1"), a)
    );
    assert_eq!(registered.voters[1].external_id, None);
    let keys = [taken, key_of(&f.codes[1], e), a, b];
    assert_eq!(registered.roll, Roll::of(&keys));
    assert_eq!(
        registered.roll.hash,
        Some(ledger::roll_hash(&[b, a, keys[1], taken]))
    );
    let detail = node.election(e).await.unwrap();
    assert_eq!((detail.voters, detail.roll), (4, Roll::of(&keys)));
    let listed: Vec<PublicKey> = node
        .voters(e)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.public_key)
        .collect();
    assert_eq!(listed, keys, "the office's list is in registration order");

    trustees_ready(node, e).await;
    node.open_election(e).await.unwrap();
    refused!(
        node,
        node.register_voters(e, vec![voter("Late", None, c)]),
        EngineError::WrongState(_)
    );
    let keys_file = format!("name,public_key\nLate,{}\n", c.to_hex());
    refused!(
        node,
        node.import_voter_keys(e, &keys_file),
        EngineError::WrongState(_)
    );
}

#[tokio::test]
async fn a_keys_file_is_imported_whole_or_refused_with_the_lines_at_fault() {
    let f = setup(2, 0).await;
    let (node, e) = (&f.node, f.election);
    let fresh: Vec<PublicKey> = (0..4).map(|_| new_code().public_key(e)).collect();
    let hex = |k: &PublicKey| k.to_hex();
    let roll_before = node.election(e).await.unwrap().roll;

    let file = format!(
        "name,external_id,public_key\n\
         Gil,G1,{}\n\
         ,G2,{}\n\
         Hal,G1,{}\n\
         Ivy,,{}zz\n\
         Jo,,{}\n\
         Kim,,{}\n\
         Lea,,{}\n\
         Max,V0,{}\n\
         Ned,N1\n",
        hex(&fresh[0]),
        hex(&fresh[1]),
        hex(&fresh[2]),
        &hex(&fresh[3])[..62],
        hex(&not_a_point()),
        hex(&fresh[0]),
        hex(&key_of(&f.codes[1], e)),
        hex(&fresh[3]),
    );
    let mut rows = bad_rows!(node, node.import_voter_keys(e, &file));
    rows.sort();
    let mut expected: Vec<String> = [
        "line 3: the name is empty",
        "line 4: external id \"G1\" appears twice",
        "line 5: the public key is not 64 hex digits",
        "line 6: the public key is not an Ed25519 key",
        "line 7: this key appears twice",
        "line 8: this key is already registered",
        "line 9: external id \"V0\" is already registered",
    ]
    .map(String::from)
    .to_vec();
    let short_row = rows
        .iter()
        .position(|r| r.starts_with("line 10: "))
        .expect("the row with a field missing is reported with its line");
    rows.remove(short_row);
    expected.sort();
    assert_eq!(rows, expected);
    assert_eq!(node.election(e).await.unwrap().roll, roll_before);

    // Refused before any row: no key column, no rows, not CSV at all.
    for file in [
        "name,external_id\nNobody,N1\n".to_owned(),
        "name,external_id,public_key\n".to_owned(),
        format!("who,public_key\nNobody,{}\n", hex(&fresh[0])),
    ] {
        refused!(
            node,
            node.import_voter_keys(e, &file),
            EngineError::Invalid(_)
        );
    }

    // A good file: quoted names, an empty external id, the columns in any order, any case.
    let file = format!(
        "PUBLIC_KEY,Name,External_ID\n{},\"Dan, Jr.\",\n{},Gil,G1\n",
        hex(&fresh[0]).to_uppercase(),
        hex(&fresh[1]),
    );
    let registered = node.import_voter_keys(e, &file).await.unwrap();
    let got: Vec<_> = registered
        .voters
        .iter()
        .map(|v| (v.name.as_str(), v.external_id.as_deref(), v.public_key))
        .collect();
    assert_eq!(
        got,
        [("Dan, Jr.", None, fresh[0]), ("Gil", Some("G1"), fresh[1])]
    );
    let keys = [
        key_of(&f.codes[0], e),
        key_of(&f.codes[1], e),
        fresh[0],
        fresh[1],
    ];
    assert_eq!(registered.roll, Roll::of(&keys));
    assert_eq!(node.election(e).await.unwrap().roll, Roll::of(&keys));
    // The same file twice: every key (and external id) is registered already.
    let rows = bad_rows!(node, node.import_voter_keys(e, &file));
    assert_eq!(
        rows,
        [
            "line 2: this key is already registered",
            "line 3: external id \"G1\" is already registered",
            "line 3: this key is already registered",
        ]
    );
}

#[tokio::test]
async fn an_officer_corrects_the_roll_before_sealing_and_never_after() {
    let f = setup(3, 2).await;
    let (node, e, c) = (&f.node, f.election, &f.candidates);
    let keys: Vec<PublicKey> = f.codes.iter().map(|code| key_of(code, e)).collect();
    let ids: Vec<VoterId> = node
        .voters(e)
        .await
        .unwrap()
        .iter()
        .map(|v| v.voter_id)
        .collect();
    assert_eq!(node.election(e).await.unwrap().roll, Roll::of(&keys));
    let other = node.create_election(small("Other")).await.unwrap().id;
    let stranger_key = new_code().public_key(other);
    node.register_voters(other, vec![voter("Elsewhere", None, stranger_key)])
        .await
        .unwrap();
    let stranger = node.voters(other).await.unwrap()[0].voter_id;

    // Refusals in set-up: unknown voters and elections, a voter of another election, a
    // key that is no key, a key another voter holds.
    refused!(
        node,
        node.remove_voter(e, VoterId(999)),
        EngineError::NotFound("voter")
    );
    refused!(
        node,
        node.remove_voter(e, stranger),
        EngineError::NotFound("voter")
    );
    refused!(
        node,
        node.remove_voter(ElectionId(99), ids[0]),
        EngineError::NotFound("election")
    );
    let lost = new_code();
    refused!(
        node,
        node.replace_voter_key(e, VoterId(999), lost.public_key(e)),
        EngineError::NotFound("voter")
    );
    refused!(
        node,
        node.replace_voter_key(e, ids[2], not_a_point()),
        EngineError::Invalid(_)
    );
    refused!(
        node,
        node.replace_voter_key(e, ids[2], keys[0]),
        EngineError::Duplicate(_)
    );
    assert_eq!(node.election(e).await.unwrap().roll, Roll::of(&keys));

    // Voter 1 is taken off; voter 2 lost their code and is given a new one's key.
    let roll = node.remove_voter(e, ids[1]).await.unwrap();
    assert_eq!(roll, Roll::of(&[keys[0], keys[2]]));
    refused!(
        node,
        node.remove_voter(e, ids[1]),
        EngineError::NotFound("voter")
    );
    let replaced = node
        .replace_voter_key(e, ids[2], lost.public_key(e))
        .await
        .unwrap();
    assert_eq!(
        (
            replaced.voter_id,
            replaced.name.as_str(),
            replaced.external_id.as_deref(),
            replaced.public_key
        ),
        (ids[2], "Voter 2", Some("V2"), lost.public_key(e))
    );
    let now = Roll::of(&[keys[0], lost.public_key(e)]);
    assert_ne!(now, roll, "a replaced key changes the roll's hash");
    let detail = node.election(e).await.unwrap();
    assert_eq!((detail.voters, &detail.roll), (2, &now));

    // Sealed: the genesis block's registry is the corrected roll.
    trustees_ready(node, e).await;
    let opened = node.open_election(e).await.unwrap();
    let genesis = node.export(e).await.unwrap().genesis;
    assert_eq!(opened.roll, now);
    assert_eq!(Roll::of(&genesis.voters), now);
    assert_eq!(node.election(e).await.unwrap().roll, now);

    // Neither can change now, and nothing does.
    let listed = node.voters(e).await.unwrap();
    refused!(
        node,
        node.remove_voter(e, ids[0]),
        EngineError::WrongState(_)
    );
    refused!(
        node,
        node.replace_voter_key(e, ids[0], new_code().public_key(e)),
        EngineError::WrongState(_)
    );
    refused!(
        node,
        node.remove_voter(e, VoterId(999)),
        EngineError::WrongState(_)
    );
    assert_eq!(node.voters(e).await.unwrap(), listed);
    assert_eq!(node.election(e).await.unwrap().roll, now);

    // The removed voter's code and the lost one vote no more; the new code does.
    for code in [&f.codes[1], &f.codes[2]] {
        refused!(
            node,
            node.cast_vote(e, by_code(code, c[0])),
            EngineError::UnknownCode
        );
    }
    node.cast_vote(e, by_code(&lost.to_string(), c[1]))
        .await
        .unwrap();
    node.cast_vote(e, by_code(&f.codes[0], c[0])).await.unwrap();
}

#[tokio::test]
async fn sealing_puts_the_registry_into_the_genesis_block_once() {
    let f = setup(3, 1).await;
    let (node, e) = (&f.node, f.election);
    // One approver could be the operator alone: a quorum below two is refused outright.
    let lone = NewElection {
        title: "Alone".into(),
        description: String::new(),
        difficulty_bits: None,
        quorum: Some(1),
    };
    refused!(node, node.create_election(lone), EngineError::Invalid(_));
    // Quorum 2 with one validator cannot be sealed.
    refused!(node, node.open_election(e), EngineError::WrongState(_));
    validator(node, f.admin, "validator9").await;
    node.enrol_validator(e, "validator9").await.unwrap();
    refused!(
        node,
        node.enrol_validator(e, "validator9"),
        EngineError::Duplicate(_)
    );
    refused!(
        node,
        node.enrol_validator(e, "nobody"),
        EngineError::NotFound(_)
    );

    let before = node.validators(e).await.unwrap();
    assert_eq!(before.len(), 2);
    assert!(before
        .iter()
        .all(|v| v.public_key.is_some() && !v.in_genesis));
    trustees_ready(node, e).await;
    let detail = node.open_election(e).await.unwrap();
    assert_eq!(detail.state, ElectionState::Open);
    let sealed = node.validators(e).await.unwrap();
    assert!(
        sealed.iter().all(|v| v.in_genesis),
        "every enrolled key is in the genesis block"
    );
    assert_eq!(detail.height, Some(0));
    assert_eq!(detail.tip, detail.genesis_hash);
    let export = node.export(e).await.unwrap();
    let mut keys: Vec<_> = f
        .codes
        .iter()
        .map(|c| VotingCode::parse(c).unwrap().public_key(e))
        .collect();
    keys.sort();
    assert_eq!(
        export.genesis.voters, keys,
        "the genesis block lists every voter's key"
    );
    assert_eq!(detail.roll, Roll::of(&export.genesis.voters));
    assert_eq!(node.election(e).await.unwrap().roll, detail.roll);
    assert_eq!(export.genesis.validators.len(), 2);
    assert_eq!(export.genesis_hash, export.genesis.hash());
    assert_eq!(export.genesis.version, ledger::GENESIS_VERSION);
    assert_eq!(export.genesis.check_rules(), Ok(()));

    refused!(node, node.open_election(e), EngineError::WrongState(_));
    refused!(
        node,
        node.add_candidate(e, "Late", ""),
        EngineError::WrongState(_)
    );
    refused!(
        node,
        node.remove_candidate(e, f.candidates[0]),
        EngineError::WrongState(_)
    );
}

#[tokio::test]
async fn a_stored_key_that_does_not_decode_stops_sealing_instead_of_dropping_a_voter() {
    // The edit needs SQLite's switch that ignores CHECK constraints: a SQLite file on
    // either pass.
    let f = setup_in(TestDb::sqlite(), 2, 2).await;
    let Location::File(path) = &f.db.location else {
        unreachable!("a SQLite run")
    };
    // The schema's CHECK refuses such a key: this is an edit made behind the node's back.
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("UPDATE voters SET public_key = x'0102' WHERE external_id = 'V1'")
        .execute(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    refused!(
        &f.node,
        f.node.open_election(f.election),
        EngineError::Database(_)
    );
    // Still in set-up. (The list, as the election's detail now reads the roll's keys,
    // which this edit broke.)
    let listed = f.node.list_elections().await.unwrap();
    let election = listed.iter().find(|s| s.id == f.election).unwrap();
    assert_eq!(election.state, ElectionState::Setup);
}

#[tokio::test]
async fn a_ballot_holds_at_most_64_candidates_and_a_full_one_can_still_be_corrected() {
    let f = setup(0, 0).await;
    let (node, e) = (&f.node, f.election);
    for i in f.candidates.len()..engine::MAX_CANDIDATES {
        node.add_candidate(e, &format!("Candidate {i}"), "")
            .await
            .unwrap();
    }
    refused!(
        node,
        node.add_candidate(e, "One too many", ""),
        EngineError::Invalid(_)
    );
    let renamed = node
        .update_candidate(e, f.candidates[0], "Ada King", "")
        .await
        .unwrap();
    assert_eq!(renamed.name, "Ada King");
}

#[tokio::test]
async fn a_code_votes_once_and_a_wrong_code_never() {
    let f = opened(3, 2).await;
    let (node, e, c) = (&f.node, f.election, &f.candidates);
    let receipt = node.cast_vote(e, by_code(&f.codes[0], c[0])).await.unwrap();
    let report = node.receipt(e, &receipt).await.unwrap();
    assert_eq!(report.status, ReceiptStatus::Pending);

    refused!(
        node,
        node.cast_vote(e, by_code(&f.codes[0], c[1])),
        EngineError::AlreadyVoted(_)
    );
    refused!(
        node,
        node.cast_vote(e, by_code("ABCD-EFGH-JKMN-PQRS-TVWX-YZ12", c[0])),
        EngineError::UnknownCode
    );
    refused!(
        node,
        node.cast_vote(e, by_code("not a code", c[0])),
        EngineError::Invalid(_)
    );
    refused!(
        node,
        node.cast_vote(e, by_code(&f.codes[1], CandidateId(999))),
        EngineError::NotFound("candidate")
    );
    // Signed in a browser: a stranger's key, and a registered key with a forged signature.
    let stranger = VotingCode::from_entropy([7; ledger::code::CODE_BYTES]);
    let vote = Vote::sign(
        &stranger.signing_key(e),
        e,
        sealed_ballot(node, e, 0).await,
        1,
    );
    refused!(
        node,
        node.cast_vote(e, Ballot::Signed { vote }),
        EngineError::Forbidden(_)
    );
    let key = VotingCode::parse(&f.codes[1]).unwrap().signing_key(e);
    let mut vote = Vote::sign(&key, e, sealed_ballot(node, e, 0).await, 1);
    vote.signature = Signature([1; 64]);
    refused!(
        node,
        node.cast_vote(e, Ballot::Signed { vote }),
        EngineError::Vote(RuleError::BadSignature { .. })
    );
    // In the vote's words, not a block's.
    let said = node
        .cast_vote(
            e,
            Ballot::Signed {
                vote: Vote {
                    signature: Signature([2; 64]),
                    ..Vote::sign(&key, e, sealed_ballot(node, e, 0).await, 1)
                },
            },
        )
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(said, "the vote's signature is invalid");
    // A ballot marking two candidates, one under another key, bytes that are no ballot:
    // each refused by its rule, nothing stored.
    let genesis = node.genesis(e).await.unwrap();
    let key_of_election = genesis.trustees.election_key;
    let two_marks = ledger::secret::Ballot::encrypt_marks(
        &key_of_election,
        &[true, true, false],
        &mut rand::rngs::OsRng,
    )
    .unwrap()
    .encode()
    .unwrap();
    // Another ceremony's key (a key the operator might make for itself).
    let stranger_trustee = SigningKey::from_bytes(&[5; 32]);
    let (board, _) = ledger::ceremony::run_all(
        e,
        99,
        std::slice::from_ref(&stranger_trustee),
        1,
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let other_key = ledger::Trustees::from_ceremony(
        e,
        99,
        1,
        &[PublicKey(stranger_trustee.verifying_key().to_bytes())],
        &board,
    )
    .unwrap()
    .election_key;
    assert_ne!(other_key, key_of_election);
    let foreign = ledger::secret::Ballot::encrypt(&other_key, 3, 1, &mut rand::rngs::OsRng)
        .unwrap()
        .encode()
        .unwrap();
    for bad in [two_marks, foreign, vec![0; 40]] {
        let vote = Vote::sign(&key, e, bad, 1);
        refused!(
            node,
            node.cast_vote(e, Ballot::Signed { vote }),
            EngineError::Vote(RuleError::BadBallot { .. })
        );
    }
    let signed = Vote::sign(&key, e, sealed_ballot(node, e, 2).await, 1);
    let receipt = node
        .cast_vote(
            e,
            Ballot::Signed {
                vote: signed.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(receipt, signed.tx_id());
    // Its ciphertexts under another voter's signature: a copy, refused while the first is
    // in the pool.
    let third = VotingCode::parse(&f.codes[2]).unwrap().signing_key(e);
    let copy = Vote::sign(&third, e, signed.ballot.clone(), 1);
    refused!(
        node,
        node.cast_vote(e, Ballot::Signed { vote: copy }),
        EngineError::Vote(RuleError::CopiedBallot { .. })
    );

    node.close_election(e).await.unwrap();
    refused!(
        node,
        node.cast_vote(e, by_code(&f.codes[2], c[0])),
        EngineError::WrongState(_)
    );
    refused!(node, node.close_election(e), EngineError::WrongState(_));
    refused!(
        node,
        node.receipt(e, &TxId([0; 32])),
        EngineError::NotFound("receipt")
    );
}

#[tokio::test]
async fn a_mined_block_awaits_validators_and_a_bad_one_is_refused_with_its_rule() {
    let f = opened(3, 2).await;
    let (node, e) = (&f.node, f.election);
    refused!(node, node.work(e), EngineError::NothingToMine);
    let receipts = cast_all(&f, 0..2).await;
    let work = node.work(e).await.unwrap();
    assert_eq!(work.index, 1);
    assert_eq!(work.votes.len(), 2);

    let good = mined(&work, "flows");
    let mut weak = good.clone();
    while ledger::meets_difficulty(&weak.header.hash(), 1) {
        weak.header.nonce += 1;
    }
    refused!(
        node,
        node.submit_block(e, weak, None),
        EngineError::Rule(RuleError::InsufficientWork { .. })
    );
    // A registered voter's vote that never went through the pool.
    let mut extra = (*work).clone();
    let key = VotingCode::parse(&f.codes[2]).unwrap().signing_key(e);
    extra
        .votes
        .push(Vote::sign(&key, e, sealed_ballot(node, e, 0).await, 1));
    let ids: Vec<TxId> = extra.votes.iter().map(Vote::tx_id).collect();
    extra.header.merkle_root = ledger::merkle_root(&ids);
    refused!(
        node,
        node.submit_block(e, mined(&extra, "flows"), None),
        EngineError::UnknownVote(2)
    );

    let outcome = node.submit_block(e, good.clone(), None).await.unwrap();
    assert_eq!(outcome.status, BlockStatus::Awaiting);
    assert_eq!(outcome.hash, good.hash());
    refused!(
        node,
        node.submit_block(e, good.clone(), None),
        EngineError::Duplicate(_)
    );
    let report = node.receipt(e, &receipts[1]).await.unwrap();
    assert_eq!(report.status, ReceiptStatus::AwaitingApproval);
    assert_eq!(report.block, Some(good.hash()));
    let awaiting = node.awaiting_blocks(e).await.unwrap();
    assert_eq!(awaiting.len(), 1);
    assert_eq!(awaiting[0].votes, 2);
    assert_eq!(awaiting[0].miner_tag, "flows");
    // Every waiting vote is in that block: no work is offered that could only duplicate
    // it, and the election counts those votes apart from the ones waiting for a block.
    refused!(
        node,
        node.work(e),
        EngineError::AllAwaiting { index: 1, .. }
    );
    let detail = node.election(e).await.unwrap();
    assert_eq!(
        (detail.votes, detail.pending_votes, detail.awaiting_votes),
        (2, 0, 2)
    );
    // A new vote: the template carries it with the awaiting ones (a block of all three
    // would displace the smaller one).
    cast_all(&f, 2..3).await;
    assert_eq!(node.work(e).await.unwrap().votes.len(), 3);
    let detail = node.election(e).await.unwrap();
    assert_eq!(
        (detail.votes, detail.pending_votes, detail.awaiting_votes),
        (3, 1, 2)
    );
}

#[tokio::test]
async fn a_quorum_of_approvals_appends_the_block() {
    let f = opened(3, 3).await;
    let (node, e, v) = (&f.node, f.election, &f.validators);
    let receipts = cast_all(&f, 0..3).await;
    let block = mined(&node.work(e).await.unwrap(), "flows");
    let hash = block.hash();
    node.submit_block(e, block, None).await.unwrap();

    let one = node
        .approve(e, &Approval::sign(&v[0].key, hash))
        .await
        .unwrap();
    assert_eq!((one.status, one.approvals), (BlockStatus::Awaiting, 1));
    refused!(
        node,
        node.approve(e, &Approval::sign(&v[0].key, hash)),
        EngineError::Duplicate(_)
    );
    // A validator whose key the genesis block does not list: 403.
    let outsider = validator(node, f.admin, "outsider").await;
    refused!(
        node,
        node.approve(e, &Approval::sign(&outsider.key, hash)),
        EngineError::Forbidden(_)
    );
    // A listed key with a signature that is not its own over this block: 422.
    let mut forged = Approval::sign(&outsider.key, hash);
    forged.validator = ledger::PublicKey(v[2].key.verifying_key().to_bytes());
    refused!(node, node.approve(e, &forged), EngineError::BadSignature(_));
    let mut elsewhere = Approval::sign(&v[2].key, ledger::BlockHash([9; 32]));
    elsewhere.block = hash;
    refused!(
        node,
        node.approve(e, &elsewhere),
        EngineError::BadSignature(_)
    );
    // A rejection's signature does not pass for another reason.
    let mut reworded = Rejection::sign(&v[2].key, hash, "too few votes");
    reworded.reason = "a forged reason".into();
    refused!(
        node,
        node.reject(e, &reworded),
        EngineError::BadSignature(_)
    );

    let two = node
        .approve(e, &Approval::sign(&v[1].key, hash))
        .await
        .unwrap();
    assert_eq!((two.status, two.approvals), (BlockStatus::Appended, 2));
    refused!(
        node,
        node.approve(e, &Approval::sign(&v[2].key, hash)),
        EngineError::WrongState(_)
    );
    for (receipt, i) in receipts.iter().zip(0..) {
        let report = node.receipt(e, receipt).await.unwrap();
        assert_eq!(report.status, ReceiptStatus::Appended);
        assert_eq!(report.block_index, Some(1));
        let detail = node.block_detail(e, BlockRef::Height(1)).await.unwrap();
        assert!(report
            .proof
            .unwrap()
            .verify(receipt, &detail.header.merkle_root));
        assert_eq!(detail.vote_list[i].receipt, *receipt);
    }
    // Turnout only: the sums are encrypted, and nobody has decrypted them.
    let tally = node.tally(e).await.unwrap();
    assert_eq!((tally.turnout, tally.result), (3, None));
    assert_eq!(tally.sums.len(), 3);
    let detail = node.election(e).await.unwrap();
    assert_eq!((detail.height, detail.tip), (Some(1), Some(hash)));
    assert!(ledger::verify_export(&node.export(e).await.unwrap()).is_ok());
    let history = node.validator_history(v[1].id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert!(history[0].decision.approve);
}

#[tokio::test]
async fn rejections_beyond_reach_of_quorum_discard_the_block_and_free_its_votes() {
    let f = opened(2, 3).await;
    let (node, e, v) = (&f.node, f.election, &f.validators);
    let receipts = cast_all(&f, 0..2).await;
    let block = mined(&node.work(e).await.unwrap(), "flows");
    let hash = block.hash();
    node.submit_block(e, block, None).await.unwrap();
    assert_eq!(node.validator_queue(v[0].id).await.unwrap().len(), 1);

    refused!(
        node,
        node.reject(e, &Rejection::sign(&v[0].key, hash, "   ")),
        EngineError::Invalid(_)
    );
    refused!(
        node,
        node.reject(e, &Rejection::sign(&v[0].key, hash, &"x".repeat(501))),
        EngineError::Invalid(_)
    );
    // Three validators, quorum two: one rejection leaves two who could still approve.
    let one = node
        .reject(e, &Rejection::sign(&v[0].key, hash, "bad feeling"))
        .await
        .unwrap();
    assert_eq!((one.status, one.rejections), (BlockStatus::Awaiting, 1));
    refused!(
        node,
        node.reject(e, &Rejection::sign(&v[0].key, hash, "again")),
        EngineError::Duplicate(_)
    );
    let two = node
        .reject(e, &Rejection::sign(&v[1].key, hash, "agreed"))
        .await
        .unwrap();
    assert_eq!((two.status, two.rejections), (BlockStatus::Rejected, 2));
    refused!(
        node,
        node.approve(e, &Approval::sign(&v[2].key, hash)),
        EngineError::WrongState(_)
    );
    for receipt in &receipts {
        let report = node.receipt(e, receipt).await.unwrap();
        assert_eq!(report.status, ReceiptStatus::Pending);
    }
    assert!(node.validator_queue(v[2].id).await.unwrap().is_empty());
    let detail = node.block_detail(e, BlockRef::Hash(hash)).await.unwrap();
    assert_eq!(detail.decisions[0].reason.as_deref(), Some("bad feeling"));
    assert_eq!(node.work(e).await.unwrap().votes.len(), 2);
}

#[tokio::test]
async fn the_first_block_to_reach_quorum_wins_and_its_rivals_go_stale() {
    let f = opened(3, 2).await;
    let (node, e, v) = (&f.node, f.election, &f.validators);
    cast_all(&f, 0..2).await;
    let work = node.work(e).await.unwrap();
    // Rivals carry different votes: a second block with the same votes would be refused.
    let (a, b) = (
        mined_with(&work, work.votes[..1].to_vec(), "rival-a"),
        mined_with(&work, work.votes[1..].to_vec(), "rival-b"),
    );
    node.submit_block(e, a.clone(), None).await.unwrap();
    node.submit_block(e, b.clone(), None).await.unwrap();
    node.approve(e, &Approval::sign(&v[0].key, a.hash()))
        .await
        .unwrap();
    node.approve(e, &Approval::sign(&v[1].key, b.hash()))
        .await
        .unwrap();
    let won = node
        .approve(e, &Approval::sign(&v[1].key, a.hash()))
        .await
        .unwrap();
    assert_eq!(won.status, BlockStatus::Appended);
    let lost = node
        .block_detail(e, BlockRef::Hash(b.hash()))
        .await
        .unwrap();
    assert_eq!(lost.summary.status, BlockStatus::Stale);
    refused!(
        node,
        node.approve(e, &Approval::sign(&v[0].key, b.hash())),
        EngineError::WrongState(_)
    );

    // A block mined on the old tip after the chain moved on.
    cast_all(&f, 2..3).await;
    let late = mined(&work, "late");
    refused!(
        node,
        node.submit_block(e, late, None),
        EngineError::Stale(_)
    );
    assert_eq!(node.work(e).await.unwrap().index, 2);
}

#[tokio::test]
async fn an_altered_database_is_caught_when_the_node_opens_and_takes_no_writes() {
    let f = opened(3, 2).await;
    let (e, v) = (f.election, &f.validators);
    cast_all(&f, 0..2).await;
    let block = mined(&f.node.work(e).await.unwrap(), "flows");
    f.node.submit_block(e, block.clone(), None).await.unwrap();
    f.node
        .approve(e, &Approval::sign(&v[0].key, block.hash()))
        .await
        .unwrap();
    f.node
        .approve(e, &Approval::sign(&v[1].key, block.hash()))
        .await
        .unwrap();
    cast_all(&f, 2..3).await;

    // Reopened untouched: clean, with the chain's height.
    let (again, report) = Node::open(&f.db.location).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.verified, vec![(e, 1)]);
    drop(again);

    // A vote inside an appended block given another voter's ballot.
    sqlx::query(&format!(
        "{BALLOT_SWAPPED} WHERE block_hash IS NOT NULL AND rowid = (SELECT min(rowid) FROM votes)"
    ))
    .execute(f.node.write_pool())
    .await
    .unwrap();
    let (tampered, report) = Node::open(&f.db.location).await.unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.verified);
    assert_eq!(report.problems[0].0, e);
    assert!(
        report.problems[0].1.contains("block 1"),
        "{}",
        report.problems[0].1
    );
    let detail = tampered.election(e).await.unwrap();
    assert!(!detail.chain_verified);
    refused!(&tampered, tampered.work(e), EngineError::Integrity(_));
    refused!(
        &tampered,
        tampered.cast_vote(e, by_code(&f.codes[2], f.candidates[0])),
        EngineError::Integrity(_)
    );
}

#[tokio::test]
async fn a_pending_vote_altered_in_the_pool_is_caught_too() {
    let f = opened(2, 2).await;
    cast_all(&f, 0..1).await;
    sqlx::query("UPDATE votes SET timestamp = timestamp + 1")
        .execute(f.node.write_pool())
        .await
        .unwrap();
    let (_node, report) = Node::open(&f.db.location).await.unwrap();
    assert_eq!(report.problems.len(), 1);
    assert!(
        report.problems[0].1.contains("pending vote"),
        "{}",
        report.problems[0].1
    );
}

#[tokio::test]
async fn an_invitation_makes_one_account_with_the_invitees_password_and_proven_key() {
    let f = setup(1, 0).await;
    let node = &f.node;
    let invite = |name: &str, role| {
        let new = NewInvitation {
            username: name.into(),
            role,
        };
        async move { node.create_invitation(f.admin, &new).await }
    };
    refused!(
        node,
        invite("no spaces", Role::Admin),
        EngineError::Invalid(_)
    );
    refused!(
        node,
        invite("officer", Role::Admin),
        EngineError::Duplicate(_)
    );
    refused!(
        node,
        node.invitation("not-a-token"),
        EngineError::NotFound(_)
    );

    // An officer's invitation: a password, no key.
    let clerk = invite("clerk", Role::Admin).await.unwrap();
    assert_eq!(clerk.path, format!("/invite/{}", clerk.token));
    let info = node.invitation(&clerk.token).await.unwrap();
    assert_eq!(
        (info.username.as_str(), info.role, info.rekey),
        ("clerk", Role::Admin, false)
    );
    let key = SigningKey::from_bytes(&rand_seed());
    let with_key = accept_with(node, &clerk.token, &key).await;
    refused!(
        node,
        node.accept_invitation(&clerk.token, with_key),
        EngineError::Invalid(_)
    );
    let short = Acceptance {
        password: Some("short".into()),
        key: None,
    };
    refused!(
        node,
        node.accept_invitation(&clerk.token, short),
        EngineError::Invalid(_)
    );
    let fine = || Acceptance {
        password: Some(PASSWORD.into()),
        key: None,
    };
    let account = node.accept_invitation(&clerk.token, fine()).await.unwrap();
    assert_eq!((account.role, account.public_key), (Role::Admin, None));
    node.authenticate("clerk", PASSWORD).await.unwrap();
    // Used: 410, and nothing changes.
    refused!(node, node.invitation(&clerk.token), EngineError::Gone(_));
    refused!(
        node,
        node.accept_invitation(&clerk.token, fine()),
        EngineError::Gone(_)
    );

    // A validator's invitation needs the key and its proof over this invitation's challenge.
    let val = invite("val", Role::Validator).await.unwrap();
    let other = invite("other", Role::Validator).await.unwrap();
    refused!(
        node,
        node.accept_invitation(&val.token, fine()),
        EngineError::Invalid(_)
    );
    // A proof over another invitation's challenge (a replay) and one by another key.
    let replayed = accept_with(node, &other.token, &key).await;
    refused!(
        node,
        node.accept_invitation(&val.token, replayed),
        EngineError::BadSignature(_)
    );
    let mut stolen = accept_with(node, &val.token, &key).await;
    if let Some(k) = stolen.key.as_mut() {
        k.public_key =
            ledger::PublicKey(SigningKey::from_bytes(&[5; 32]).verifying_key().to_bytes());
    }
    refused!(
        node,
        node.accept_invitation(&val.token, stolen),
        EngineError::BadSignature(_)
    );
    let proven = accept_with(node, &val.token, &key).await;
    let account = node.accept_invitation(&val.token, proven).await.unwrap();
    assert_eq!(
        account.public_key,
        Some(ledger::PublicKey(key.verifying_key().to_bytes()))
    );
    // The same proof again: the invitation is used.
    let again = accept_with(node, &other.token, &key).await;
    let replay_used = Acceptance {
        password: Some(PASSWORD.into()),
        key: again.key.clone(),
    };
    refused!(
        node,
        node.accept_invitation(&val.token, replay_used),
        EngineError::Gone(_)
    );
    // Another account cannot enrol the same key.
    refused!(
        node,
        node.accept_invitation(&other.token, again),
        EngineError::Duplicate(_)
    );

    // Expired: 410. A newer invitation of the same name replaces a pending one.
    let late = invite("late", Role::Validator).await.unwrap();
    sqlx::query("UPDATE invitations SET expires_at = 0 WHERE username = 'late'")
        .execute(node.write_pool())
        .await
        .unwrap();
    refused!(node, node.invitation(&late.token), EngineError::Gone(_));
    let first = invite("twice", Role::Admin).await.unwrap();
    let second = invite("twice", Role::Admin).await.unwrap();
    refused!(node, node.invitation(&first.token), EngineError::Gone(_));
    node.invitation(&second.token).await.unwrap();

    // No invitation row holds its token.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM invitations")
        .fetch_all(node.pool())
        .await
        .unwrap();
    assert!(stored
        .iter()
        .all(|h| h.len() == 32 && hex::encode(h) != second.token));
}

#[tokio::test]
async fn an_officer_replaces_a_validators_key_before_sealing_and_they_re_enrol() {
    let f = setup(1, 3).await;
    let (node, e, v) = (&f.node, f.election, &f.validators);
    refused!(
        node,
        node.replace_validator_key(e, "nobody", f.admin),
        EngineError::NotFound(_)
    );
    let rekey = node
        .replace_validator_key(e, "validator1", f.admin)
        .await
        .unwrap();
    assert!(rekey.rekey);
    assert_eq!(node.account(v[1].id).await.unwrap().public_key, None);
    // The election waits for the new key.
    refused!(node, node.open_election(e), EngineError::WrongState(_));
    let info = node.invitation(&rekey.token).await.unwrap();
    assert!(info.rekey);
    let new_key = SigningKey::from_bytes(&rand_seed());
    // Re-enrolling keeps the password: sending one is refused.
    let with_password = accept_with(node, &rekey.token, &new_key).await;
    refused!(
        node,
        node.accept_invitation(&rekey.token, with_password),
        EngineError::Invalid(_)
    );
    // The withdrawn key may not come back.
    let mut old_key = accept_with(node, &rekey.token, &v[1].key).await;
    old_key.password = None;
    refused!(
        node,
        node.accept_invitation(&rekey.token, old_key),
        EngineError::Invalid(_)
    );
    // A lost link is re-issued: the first stops working, and the withdrawn key stays
    // refused through the new one too.
    let lost = rekey.token.clone();
    let rekey = node
        .replace_validator_key(e, "validator1", f.admin)
        .await
        .unwrap();
    refused!(node, node.invitation(&lost), EngineError::Gone(_));
    let mut old_again = accept_with(node, &rekey.token, &v[1].key).await;
    old_again.password = None;
    refused!(
        node,
        node.accept_invitation(&rekey.token, old_again),
        EngineError::Invalid(_)
    );
    let mut only_key = accept_with(node, &rekey.token, &new_key).await;
    only_key.password = None;
    let account = node
        .accept_invitation(&rekey.token, only_key)
        .await
        .unwrap();
    assert_eq!(account.id, v[1].id);
    assert_eq!(
        account.public_key,
        Some(ledger::PublicKey(new_key.verifying_key().to_bytes()))
    );
    node.authenticate("validator1", PASSWORD).await.unwrap();

    trustees_ready(node, e).await;
    node.open_election(e).await.unwrap();
    let genesis = node.export(e).await.unwrap().genesis;
    assert!(genesis
        .validators
        .contains(&ledger::PublicKey(new_key.verifying_key().to_bytes())));
    // Sealed: the key is the genesis block's now.
    refused!(
        node,
        node.replace_validator_key(e, "validator2", f.admin),
        EngineError::WrongState(_)
    );
    // Nor in another election while this one is open.
    let next = node.create_election(small("Next")).await.unwrap().id;
    node.enrol_validator(next, "validator2").await.unwrap();
    refused!(
        node,
        node.replace_validator_key(next, "validator2", f.admin),
        EngineError::WrongState(_)
    );
    // Nor once it closes while a vote still waits for a block its validators must approve.
    cast_all(&f, 0..1).await;
    node.close_election(e).await.unwrap();
    refused!(
        node,
        node.replace_validator_key(next, "validator2", f.admin),
        EngineError::WrongState(_)
    );
}

#[tokio::test]
async fn block_spam_is_bounded_and_a_block_over_the_full_template_still_gets_in() {
    let f = opened(25, 2).await;
    let (node, e, v) = (&f.node, f.election, &f.validators);
    cast_all(&f, 0..25).await;
    let work = node.work(e).await.unwrap();
    let sender = |i: u8| Some(std::net::IpAddr::from([198, 51, 100, i]));
    let some = |range: std::ops::Range<usize>, tag: &str| {
        mined_with(&work, work.votes[range].to_vec(), tag)
    };
    let awaiting = || async { node.awaiting_blocks(e).await.unwrap().len() };

    // The same votes again, or some of an awaiting block's votes: refused.
    node.submit_block(e, some(0..1, "one"), sender(1))
        .await
        .unwrap();
    refused!(
        node,
        node.submit_block(e, some(0..1, "one again"), sender(2)),
        EngineError::Duplicate(_)
    );
    node.submit_block(e, some(0..5, "five"), sender(2))
        .await
        .unwrap();
    refused!(
        node,
        node.submit_block(e, some(1..3, "part of five"), sender(3)),
        EngineError::Duplicate(_)
    );
    // One sender fills at most its share.
    for i in 5..9 {
        node.submit_block(e, some(i..i + 1, &format!("c{i}")), sender(3))
            .await
            .unwrap();
    }
    refused!(
        node,
        node.submit_block(e, some(9..10, "c9"), sender(3)),
        EngineError::TooMany(_)
    );
    // A flood from many senders fills the height; then a block no fuller than the
    // smallest waiting one is turned away.
    let mut i = 9;
    while awaiting().await < engine::MAX_AWAITING_PER_HEIGHT {
        node.submit_block(
            e,
            some(i..i + 1, &format!("flood{i}")),
            sender(10 + i as u8),
        )
        .await
        .unwrap();
        i += 1;
    }
    assert!(i <= 20, "{i}");
    refused!(
        node,
        node.submit_block(e, some(20..21, "late"), sender(99)),
        EngineError::Crowded(_)
    );
    // The honest block over the whole template displaces the smallest, newest one, and
    // is appended.
    let full = mined(&work, "honest");
    node.submit_block(e, full.clone(), sender(100))
        .await
        .unwrap();
    assert_eq!(awaiting().await, engine::MAX_AWAITING_PER_HEIGHT);
    let displaced = node
        .block_detail(
            e,
            BlockRef::Hash(some(i - 1..i, &format!("flood{}", i - 1)).hash()),
        )
        .await
        .unwrap();
    assert_eq!(displaced.summary.status, BlockStatus::Stale);
    node.approve(e, &Approval::sign(&v[0].key, full.hash()))
        .await
        .unwrap();
    let appended = node
        .approve(e, &Approval::sign(&v[1].key, full.hash()))
        .await
        .unwrap();
    assert_eq!(appended.status, BlockStatus::Appended);
    assert_eq!(awaiting().await, 0);
    assert_eq!(node.tally(e).await.unwrap().turnout, 25);
}

/// Submits `block` and has the first two validators approve it: appended.
async fn append(f: &Fixture, block: Block) {
    let (node, e, v) = (&f.node, f.election, &f.validators);
    node.submit_block(e, block.clone(), None).await.unwrap();
    for validator in &v[..2] {
        node.approve(e, &Approval::sign(&validator.key, block.hash()))
            .await
            .unwrap();
    }
}

/// A chain of two blocks, a stale rival of the second with one approval, and a pending
/// vote; then a snapshot of its database at `to`.
async fn chain_with_a_rival_and_a_pending_vote(to: &std::path::Path) -> ElectionId {
    let f = opened_in(TestDb::sqlite(), 4, 2).await;
    let (node, e, v) = (&f.node, f.election, &f.validators);
    cast_all(&f, 0..1).await;
    append(&f, mined(&node.work(e).await.unwrap(), "one")).await;
    cast_all(&f, 1..3).await;
    let work = node.work(e).await.unwrap();
    let rival = mined_with(&work, work.votes[..1].to_vec(), "rival");
    node.submit_block(e, rival.clone(), None).await.unwrap();
    node.approve(e, &Approval::sign(&v[0].key, rival.hash()))
        .await
        .unwrap();
    append(&f, mined(&work, "two")).await;
    cast_all(&f, 3..4).await;
    sqlx::query("VACUUM INTO ?")
        .bind(to.to_str().unwrap())
        .execute(node.write_pool())
        .await
        .unwrap();
    e
}

/// Applies `sql` to the database at `db` as someone with the file (or superuser rights
/// on the server) would, foreign keys not enforced.
async fn edit_offline(db: &Location, sql: &str) {
    match db {
        Location::File(path) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(path)
                .foreign_keys(false);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            sqlx::raw_sql(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Location::Postgres(url) => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let sql = format!("SET session_replication_role = replica; {sql}");
            sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

const LAST: &str = "(SELECT hash FROM blocks WHERE status = 'appended' ORDER BY idx DESC LIMIT 1)";

#[tokio::test]
async fn every_offline_edit_of_the_chain_or_its_rows_is_caught_when_the_node_opens() {
    // Each case edits its own copy of one SQLite file (rowids included), on either pass.
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.db");
    let e = chain_with_a_rival_and_a_pending_vote(&original).await;
    let (node, report) = Node::open(&original).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.verified, vec![(e, 2)]);
    drop(node);
    let cases: &[(&str, String, &str)] = &[
        (
            "the last block marked stale",
            format!("UPDATE blocks SET status = 'stale' WHERE hash = {LAST}"),
            "which is stale",
        ),
        (
            "the first block marked rejected",
            "UPDATE blocks SET status = 'rejected' WHERE idx = 1".into(),
            "block 2",
        ),
        (
            "the stale rival marked appended in the winner's place",
            format!("UPDATE blocks SET status = 'stale' WHERE hash = {LAST};
                     UPDATE blocks SET status = 'appended' WHERE idx = 2 AND status = 'stale' AND miner_tag = 'rival'"),
            "block 2",
        ),
        (
            "an approval deleted",
            format!("DELETE FROM decisions WHERE rowid = (SELECT min(rowid) FROM decisions WHERE block_hash = {LAST})"),
            "block 2",
        ),
        (
            "a vote on the chain deleted",
            "DELETE FROM votes WHERE rowid = (SELECT min(rowid) FROM votes WHERE block_hash IS NOT NULL)".into(),
            "block 1",
        ),
        (
            "a vote on the chain changed",
            format!("{BALLOT_SWAPPED} WHERE rowid = (SELECT min(rowid) FROM votes WHERE block_hash IS NOT NULL)"),
            "block 1",
        ),
        (
            "a vote taken out of a block's list",
            format!("DELETE FROM block_votes WHERE block_hash = {LAST} AND position = 0"),
            "block 2",
        ),
        (
            "a vote of the chain marked pending",
            format!("UPDATE votes SET block_hash = NULL WHERE rowid = (SELECT min(rowid) FROM votes WHERE block_hash = {LAST})"),
            "marked as on the chain",
        ),
        (
            "a pending vote marked as on the chain",
            format!("UPDATE votes SET block_hash = {LAST} WHERE block_hash IS NULL"),
            "in no appended block",
        ),
        (
            "a pending vote altered",
            "UPDATE votes SET timestamp = timestamp + 1 WHERE block_hash IS NULL".into(),
            "pending vote",
        ),
    ];
    for (i, (what, sql, says)) in cases.iter().enumerate() {
        let copy = dir.path().join(format!("case-{i}.db"));
        std::fs::copy(&original, &copy).unwrap();
        edit_offline(&Location::File(copy.clone()), sql).await;
        let (node, report) = Node::open(&copy).await.unwrap();
        assert_eq!(report.problems.len(), 1, "{what}: not caught");
        assert!(
            report.problems[0].1.contains(says),
            "{what}: {}",
            report.problems[0].1
        );
        refused!(&node, node.work(e), EngineError::Integrity(_));
    }

    // The last block taken away consistently, its votes back in the pool: the rows agree
    // with each other, so only a copy kept elsewhere (a pinned head, a validator's own
    // chain) can tell.
    let copy = dir.path().join("rolled-back.db");
    std::fs::copy(&original, &copy).unwrap();
    edit_offline(
        &Location::File(copy.clone()),
        &format!(
            "CREATE TEMP TABLE gone AS SELECT {LAST} AS hash;
             UPDATE votes SET block_hash = NULL WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM decisions WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM block_votes WHERE block_hash IN (SELECT hash FROM gone);
             DELETE FROM blocks WHERE hash IN (SELECT hash FROM gone);"
        ),
    )
    .await;
    let (_node, report) = Node::open(&copy).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.verified, vec![(e, 1)]);
}

#[tokio::test]
async fn a_row_edited_while_serving_is_caught_by_the_cheap_check() {
    // The database is a snapshot of a SQLite file taken with VACUUM INTO, on either pass.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serving.db");
    let e = chain_with_a_rival_and_a_pending_vote(&path).await;
    let (node, _) = Node::open(&path).await.unwrap();
    let report = node
        .recheck_stored_chains()
        .await
        .unwrap()
        .expect("no other instance checks");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.verified, vec![(e, 2)]);
    edit_offline(
        &Location::File(path.clone()),
        &format!("UPDATE blocks SET status = 'stale' WHERE hash = {LAST}"),
    )
    .await;
    let report = node
        .recheck_stored_chains()
        .await
        .unwrap()
        .expect("no other instance checks");
    assert_eq!(report.problems.len(), 1, "{:?}", report.verified);
    assert!(
        report.problems[0].1.contains("block"),
        "{}",
        report.problems[0].1
    );
    assert!(node.election(e).await.unwrap().integrity_problem.is_some());
    refused!(&node, node.work(e), EngineError::Integrity(_));
}

#[tokio::test]
async fn reads_are_served_while_the_start_up_check_runs_and_writes_wait_for_it() {
    let f = opened(3, 2).await;
    let e = f.election;
    let receipts = cast_all(&f, 0..1).await;
    append(&f, mined(&f.node.work(e).await.unwrap(), "one")).await;

    let node = Node::open_unchecked(&f.db.location).await.unwrap();
    assert!(!node.is_checked());
    // Reads of the stored rows are served, and say the chain is being checked.
    let detail = node.election(e).await.unwrap();
    assert_eq!(
        (detail.chain_check, detail.chain_verified, detail.height),
        (wire::ChainCheck::Checking, false, None)
    );
    assert_eq!(node.chain_page(e, None, 10).await.unwrap().len(), 1);
    let receipt = node.receipt(e, &receipts[0]).await.unwrap();
    assert_eq!(receipt.status, ReceiptStatus::Appended);
    // A write waits for the check, and has changed nothing meanwhile.
    let before = counts(&node).await;
    let waiting = tokio::spawn({
        let node = node.clone();
        let ballot = by_code(&f.codes[1], f.candidates[0]);
        async move { node.cast_vote(e, ballot).await }
    });
    eventually("the write waits for the check", || {
        let node = node.clone();
        async move { node.waiting_for_check() == 1 }
    })
    .await;
    assert!(!waiting.is_finished());
    assert_eq!(counts(&node).await, before);

    let report = node
        .check_at_start(engine::StartupCheck::Recorded)
        .await
        .unwrap();
    assert_eq!(report.verified, vec![(e, 1)]);
    let cast = waiting.await.unwrap().unwrap();
    assert_eq!(
        node.receipt(e, &cast).await.unwrap().status,
        ReceiptStatus::Pending
    );
    let detail = node.election(e).await.unwrap();
    assert_eq!(
        (detail.chain_check, detail.chain_verified, detail.height),
        (wire::ChainCheck::Verified, true, Some(1))
    );
}

#[tokio::test]
async fn the_full_check_re_checks_every_ballot_proof_the_recorded_check_trusts() {
    let f = opened(2, 2).await;
    let e = f.election;
    // A ballot proved under another election's key, signed by a registered voter and
    // written into the pool behind the node's back, marked as checked.
    let other = opened(1, 2).await;
    let ballot = sealed_ballot(&other.node, other.election, 0).await;
    let key = VotingCode::parse(&f.codes[0]).unwrap().signing_key(e);
    let vote = Vote::sign(&key, e, ballot, 1_700_000_000_000);
    let ciphertexts = ledger::ciphertexts_hash(&vote.read_ballot().unwrap());
    sqlx::query(
        "INSERT INTO votes (tx_id, election_id, voter_key, ballot, ciphertexts, proofs_checked_at, timestamp, signature, received_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7, 1)",
    )
    .bind(vote.tx_id())
    .bind(e)
    .bind(vote.voter)
    .bind(&vote.ballot)
    .bind(ciphertexts)
    .bind(vote.timestamp as i64)
    .bind(vote.signature)
    .execute(f.node.write_pool())
    .await
    .unwrap();
    append(&f, mined(&f.node.work(e).await.unwrap(), "bad proof")).await;

    // The start-up check relies on the recorded check; the full one finds the ballot.
    let (_node, report) = Node::open(&f.db.location).await.unwrap();
    assert_eq!(report.verified, vec![(e, 1)]);
    let (_node, report) = Node::open_with(&f.db.location, engine::StartupCheck::EveryProof)
        .await
        .unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.verified);
    assert!(
        report.problems[0].1.contains("block 1"),
        "{}",
        report.problems[0].1
    );
}

#[tokio::test]
async fn a_chain_of_an_earlier_format_is_named_as_such_not_as_tampering() {
    let f = opened(2, 2).await;
    let e = f.election;
    cast_all(&f, 0..1).await;
    // The genesis block as an earlier version wrote it: its format version is 2, then 3
    // (whose trustees' confirmations did not sign the whole sealed set: refused, not read).
    for version in ["02000000", "03000000"] {
        let old = match &f.db.location {
            Location::File(_) => format!(
                "UPDATE elections SET genesis = CAST(X'{version}' || substr(genesis, 5) AS BLOB)"
            ),
            Location::Postgres(_) => format!(
                "UPDATE elections SET genesis = '\\x{version}'::bytea || substring(genesis from 5)"
            ),
        };
        edit_offline(&f.db.location, &old).await;
        let (node, report) = Node::open(&f.db.location).await.unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.old_format.len(), 1);
        assert!(
            report.old_format[0].1.contains("earlier version")
                && report.old_format[0]
                    .1
                    .contains(&format!("genesis format {}", &version[1..2])),
            "{}",
            report.old_format[0].1
        );
        let detail = node.election(e).await.unwrap();
        assert_eq!(detail.chain_check, wire::ChainCheck::OldFormat);
        refused!(
            &node,
            node.cast_vote(e, by_code(&f.codes[1], f.candidates[0])),
            EngineError::OldFormat(_)
        );
    }
}

// Several instances on one PostgreSQL database: two nodes opened on the same database
// in this test are two instances, each with its chains in memory.

/// Polls `done` every 50 ms, up to 10 s: what another instance was told arrives
/// asynchronously.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
#[ignore = "needs BALLOTCHAIN_TEST_POSTGRES"]
async fn two_instances_on_one_database_keep_one_chain() {
    // Several instances share a PostgreSQL database, never a SQLite file.
    assert!(on_postgres(), "set BALLOTCHAIN_TEST_POSTGRES");
    let f = setup(4, 3).await;
    let (a, e, v) = (&f.node, f.election, &f.validators);
    let (b, report) = Node::open(&f.db.location).await.unwrap();
    assert!(report.is_clean());
    // Sealed on one instance, the chain is served by the other.
    a.open_election(e).await.unwrap();
    assert_eq!(b.tip(e).await.unwrap().0, 0);

    let first = a
        .cast_vote(e, by_code(&f.codes[0], f.candidates[0]))
        .await
        .unwrap();
    // A template made on one instance takes votes cast on the other.
    assert_eq!(b.work(e).await.unwrap().votes.len(), 1);
    b.cast_vote(e, by_code(&f.codes[1], f.candidates[1]))
        .await
        .unwrap();
    eventually("the votes cast on b are in a's template", || async {
        a.work(e).await.unwrap().votes.len() == 2
    })
    .await;
    let block = mined(&b.work(e).await.unwrap(), "b");
    b.submit_block(e, block.clone(), None).await.unwrap();
    // One approval on each instance makes the quorum.
    a.approve(e, &Approval::sign(&v[0].key, block.hash()))
        .await
        .unwrap();
    let appended = b
        .approve(e, &Approval::sign(&v[1].key, block.hash()))
        .await
        .unwrap();
    assert_eq!(
        (appended.status, appended.approvals),
        (BlockStatus::Appended, 2)
    );
    // Before a has heard of it, a's template is no longer the old one: both votes are
    // in the block b appended.
    refused!(a, a.work(e), EngineError::NothingToMine);
    eventually("a hears of the block b appended", || async {
        a.tip(e).await.unwrap() == (1, block.hash())
    })
    .await;
    assert_eq!(
        a.receipt(e, &first).await.unwrap().status,
        ReceiptStatus::Appended
    );

    // The next block, mined on a's template, builds on the block b appended.
    a.cast_vote(e, by_code(&f.codes[2], f.candidates[2]))
        .await
        .unwrap();
    let next = mined(&a.work(e).await.unwrap(), "a");
    assert_eq!(next.header.prev, block.hash());
    a.submit_block(e, next.clone(), None).await.unwrap();
    b.approve(e, &Approval::sign(&v[2].key, next.hash()))
        .await
        .unwrap();
    a.approve(e, &Approval::sign(&v[0].key, next.hash()))
        .await
        .unwrap();
    eventually("b hears of the block a appended", || async {
        b.tip(e).await.unwrap() == (2, next.hash())
    })
    .await;
    // A block on the old tip is stale on either instance.
    refused!(
        a,
        a.submit_block(e, block.clone(), None),
        EngineError::Duplicate(_)
    );
    for node in [a, &b] {
        assert!(ledger::verify_export(&node.export(e).await.unwrap()).is_ok());
        let report = node.recheck_stored_chains().await.unwrap().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        assert_eq!(report.verified, vec![(e, 2)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs BALLOTCHAIN_TEST_POSTGRES"]
async fn approvals_racing_on_two_instances_append_exactly_one_block_per_height() {
    assert!(on_postgres(), "set BALLOTCHAIN_TEST_POSTGRES");
    const ROUNDS: usize = 4;
    let f = opened(2 * ROUNDS, 4).await;
    let (a, e, v) = (&f.node, f.election, &f.validators);
    let (b, _) = Node::open(&f.db.location).await.unwrap();
    for round in 0..ROUNDS {
        cast_all(&f, 2 * round..2 * round + 2).await;
        let work = b.fresh_work(e).await;
        // Two rivals at one height, each approved by two validators at once, on both
        // instances: one is appended, the other goes stale, never both.
        let (x, y) = (
            mined_with(&work, work.votes[..1].to_vec(), "x"),
            mined_with(&work, work.votes[1..].to_vec(), "y"),
        );
        a.submit_block(e, x.clone(), None).await.unwrap();
        b.submit_block(e, y.clone(), None).await.unwrap();
        let approvals = [
            (a, Approval::sign(&v[0].key, x.hash())),
            (&b, Approval::sign(&v[1].key, x.hash())),
            (&b, Approval::sign(&v[2].key, y.hash())),
            (a, Approval::sign(&v[3].key, y.hash())),
        ]
        .map(|(node, approval)| {
            let node = node.clone();
            tokio::spawn(async move { node.approve(e, &approval).await })
        });
        for outcome in approvals {
            match outcome.await.unwrap() {
                Ok(_) | Err(EngineError::Stale(_)) | Err(EngineError::WrongState(_)) => {}
                Err(other) => panic!("round {round}: {other}"),
            }
        }
        let status = |hash| async move {
            a.block_detail(e, BlockRef::Hash(hash))
                .await
                .unwrap()
                .summary
                .status
        };
        let statuses = [status(x.hash()).await, status(y.hash()).await];
        // Two approvals decided at once on two instances are both counted: the block
        // that won was appended, not left awaiting with a quorum of approvals.
        assert!(
            statuses == [BlockStatus::Appended, BlockStatus::Stale]
                || statuses == [BlockStatus::Stale, BlockStatus::Appended],
            "round {round}: {statuses:?}"
        );
        let at_height: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM blocks WHERE election_id = $1 AND idx = $2 AND status = 'appended'",
        )
        .bind(e)
        .bind(round as i64 + 1)
        .fetch_one(a.pool())
        .await
        .unwrap();
        assert_eq!(at_height, 1, "round {round}");
    }
    let height = ROUNDS as u64;
    for node in [a, &b] {
        eventually("both instances at the same tip", || async {
            node.tip(e).await.unwrap().0 == height
        })
        .await;
    }
    assert_eq!(a.tip(e).await.unwrap(), b.tip(e).await.unwrap());
    // The stale rivals' votes are still pending (the next round's template takes them
    // again): every vote cast is counted once or pending, none lost and none twice.
    let export = a.export(e).await.unwrap();
    let counted = ledger::verify_export(&export).unwrap().total;
    let pending: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM votes WHERE election_id = $1 AND block_hash IS NULL",
    )
    .bind(e)
    .fetch_one(a.pool())
    .await
    .unwrap();
    assert_eq!(counted + pending as u64, 2 * height);
    assert!(counted >= height);
}

/// A template on the tip, once both instances agree on the tip.
trait FreshWork {
    async fn fresh_work(&self, e: ElectionId) -> WorkTemplate;
}

impl FreshWork for Node {
    async fn fresh_work(&self, e: ElectionId) -> WorkTemplate {
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT max(idx) FROM blocks WHERE election_id = $1 AND status = 'appended'",
        )
        .bind(e)
        .fetch_one(self.pool())
        .await
        .unwrap();
        let height = stored.unwrap_or(0) as u64;
        eventually("the instance is at the stored tip", || async {
            self.tip(e).await.unwrap().0 == height
        })
        .await;
        (*self.work(e).await.unwrap()).clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs BALLOTCHAIN_TEST_POSTGRES"]
async fn a_voter_racing_on_two_instances_votes_once() {
    assert!(on_postgres(), "set BALLOTCHAIN_TEST_POSTGRES");
    let f = opened(1, 2).await;
    let (a, e) = (&f.node, f.election);
    let (b, _) = Node::open(&f.db.location).await.unwrap();
    let casts = (0..64).map(|i| {
        let node = if i % 2 == 0 { a.clone() } else { b.clone() };
        let ballot = by_code(&f.codes[0], f.candidates[i % 3]);
        tokio::spawn(async move { node.cast_vote(e, ballot).await })
    });
    let mut receipts = Vec::new();
    let mut again = 0;
    for cast in casts.collect::<Vec<_>>() {
        match cast.await.unwrap() {
            Ok(receipt) => receipts.push(receipt),
            Err(EngineError::AlreadyVoted(_)) => again += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!((receipts.len(), again), (1, 63));
    let stored: Vec<TxId> = sqlx::query_scalar("SELECT tx_id FROM votes WHERE election_id = $1")
        .bind(e)
        .fetch_all(a.pool())
        .await
        .unwrap();
    assert_eq!(stored, receipts);
}

#[tokio::test]
#[ignore = "needs BALLOTCHAIN_TEST_POSTGRES"]
async fn one_instance_checks_at_a_time_and_an_altered_chain_is_refused_by_all() {
    assert!(on_postgres(), "set BALLOTCHAIN_TEST_POSTGRES");
    let f = opened(2, 2).await;
    let (a, e) = (&f.node, f.election);
    let (b, _) = Node::open(&f.db.location).await.unwrap();
    cast_all(&f, 0..1).await;
    append(&f, mined(&a.work(e).await.unwrap(), "one")).await;
    // While another instance holds the check's lock, this one skips its turn.
    let Location::Postgres(url) = &f.db.location else {
        unreachable!()
    };
    {
        use sqlx::Connection;
        let mut other = sqlx::PgConnection::connect(url).await.unwrap();
        let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(-1)")
            .fetch_one(&mut other)
            .await
            .unwrap();
        assert!(held);
        assert!(a.recheck_stored_chains().await.unwrap().is_none());
        // Released at once (closing the connection releases it too, but the server
        // ends the session a moment later).
        let released: bool = sqlx::query_scalar("SELECT pg_advisory_unlock(-1)")
            .fetch_one(&mut other)
            .await
            .unwrap();
        assert!(released);
        other.close().await.unwrap();
    }
    let report = a.recheck_stored_chains().await.unwrap().unwrap();
    assert_eq!(report.verified, vec![(e, 1)]);

    edit_offline(
        &f.db.location,
        &format!("UPDATE blocks SET status = 'stale' WHERE hash = {LAST}"),
    )
    .await;
    let report = a.recheck_stored_chains().await.unwrap().unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.verified);
    // The instance that found it told the other, which takes no more writes either.
    eventually("b hears the chain was altered", || async {
        matches!(b.tip(e).await, Err(EngineError::Integrity(_)))
    })
    .await;
    refused!(
        &b,
        b.cast_vote(e, by_code(&f.codes[1], f.candidates[0])),
        EngineError::Integrity(_)
    );
}

/// A chain of `blocks` blocks of one vote each.
async fn chain_of_single_vote_blocks(blocks: usize) -> Fixture {
    let f = opened(blocks, 2).await;
    for i in 0..blocks {
        cast_all(&f, i..i + 1).await;
        append(&f, mined(&f.node.work(f.election).await.unwrap(), "one")).await;
    }
    f
}

async fn periodic_check(node: &Node) -> IntegrityReport {
    node.recheck_stored_chains()
        .await
        .unwrap()
        .expect("no other instance checks")
}

/// The appended block at `height`, in SQL.
fn at_height(height: u64) -> String {
    format!("(SELECT hash FROM blocks WHERE status = 'appended' AND idx = {height})")
}

/// The votes of the block at `height` changed (their receipts no longer under its Merkle
/// root), as someone with the database would.
async fn alter_votes_of(db: &Location, height: u64) {
    let block = at_height(height);
    edit_offline(
        db,
        &format!(
            "UPDATE votes SET timestamp = timestamp + 1 WHERE tx_id IN
             (SELECT tx_id FROM block_votes WHERE block_hash = {block})"
        ),
    )
    .await;
}

#[tokio::test]
async fn the_periodic_check_re_reads_older_rows_in_turn_and_headers_and_counts_every_time() {
    // Three blocks; each run re-reads one older block's votes (after the first run, which
    // reads every block as new).
    let f = chain_of_single_vote_blocks(3).await;
    let (node, e) = (&f.node, f.election);
    node.set_rows_per_check(1);
    assert!(periodic_check(node).await.is_clean());
    assert!(periodic_check(node).await.is_clean()); // block 1
                                                    // A vote of block 1 changed (its receipt is no longer under the Merkle root): block 2
                                                    // and block 3 are re-read first, then block 1, and the change is found.
    alter_votes_of(&f.db.location, 1).await;
    assert!(periodic_check(node).await.is_clean()); // block 2
    assert!(periodic_check(node).await.is_clean()); // block 3
    let report = periodic_check(node).await; // block 1
    assert_eq!(report.problems.len(), 1, "{:?}", report.verified);
    assert!(
        report.problems[0].1.contains("block 1"),
        "{}",
        report.problems[0].1
    );
    refused!(node, node.work(e), EngineError::Integrity(_));

    // A node that has just read every row at start goes on in turn from block 1: an edit
    // of block 2 is found by its second run.
    let f = chain_of_single_vote_blocks(3).await;
    let (node, _) = Node::open(&f.db.location).await.unwrap();
    node.set_rows_per_check(1);
    alter_votes_of(&f.db.location, 2).await;
    assert!(periodic_check(&node).await.is_clean()); // block 1
    let report = periodic_check(&node).await; // block 2
    assert!(report.problems[0].1.contains("block 2"), "{report:?}");

    // Whatever block's rows are re-read this time, a deleted vote, a deleted approval or a
    // block's status flipped is found at the next run.
    for (what, sql) in [
        (
            "a vote deleted",
            format!(
                "DELETE FROM votes WHERE tx_id IN (SELECT tx_id FROM block_votes WHERE block_hash = {b});
                 DELETE FROM block_votes WHERE block_hash = {b};",
                b = at_height(2)
            ),
        ),
        (
            "an approval deleted",
            format!(
                "DELETE FROM decisions WHERE block_hash = {} AND approve = 1",
                at_height(2)
            ),
        ),
        (
            "a block's status flipped",
            format!(
                "UPDATE blocks SET status = 'stale' WHERE hash = {}",
                at_height(2)
            ),
        ),
    ] {
        let f = chain_of_single_vote_blocks(3).await;
        let node = &f.node;
        node.set_rows_per_check(1);
        assert!(periodic_check(node).await.is_clean());
        edit_offline(&f.db.location, &sql).await;
        // The next run re-reads block 1's rows, not block 2's.
        let report = periodic_check(node).await;
        assert_eq!(report.problems.len(), 1, "{what}: {:?}", report.verified);
    }
}
