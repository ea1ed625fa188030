//! `ballotchain key`, `accept`, `approve` and `reject`: key files made and opened on the
//! holder's machine, and a validator's whole part from the command line, after which no
//! trace of any validator's secret key is in the server's database or its log.

mod common;

use common::*;
use ledger::ElectionId;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use wire::{BlockStatus, Role};

fn ballotchain(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_key_file_is_made_opened_with_its_passphrase_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("validator1.key.json");
    let right = dir.path().join("right");
    let wrong = dir.path().join("wrong");
    std::fs::write(&right, "a passphrase of mine\n").unwrap();
    std::fs::write(&wrong, "not my passphrase at all\n").unwrap();
    let (key_s, right_s, wrong_s) = (
        key.to_str().unwrap(),
        right.to_str().unwrap(),
        wrong.to_str().unwrap(),
    );

    let made = ballotchain(&[
        "key",
        "new",
        "--out",
        key_s,
        "--label",
        "validator1",
        "--passphrase-file",
        right_s,
    ]);
    assert!(made.status.success(), "{}", text(&made));
    let public = text(&made)
        .lines()
        .find_map(|l| l.strip_prefix("public key: ").map(str::to_owned))
        .expect("the public key is printed");
    let file: keyfile::KeyFile =
        keyfile::KeyFile::from_json(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!(file.public_key.to_hex(), public);
    assert_eq!(file.label, "validator1");

    let shown = ballotchain(&["key", "show", "--key", key_s, "--passphrase-file", right_s]);
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(text(&shown).contains(&format!("public key: {public}")));

    let refused = ballotchain(&["key", "show", "--key", key_s, "--passphrase-file", wrong_s]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("wrong passphrase"),
        "{}",
        text(&refused)
    );

    let again = ballotchain(&["key", "new", "--out", key_s, "--passphrase-file", right_s]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("never overwritten"),
        "{}",
        text(&again)
    );
    let unchanged = keyfile::KeyFile::from_json(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!(unchanged, file, "the key file is as it was");

    let short = dir.path().join("short");
    std::fs::write(&short, "short\n").unwrap();
    let weak = ballotchain(&[
        "key",
        "new",
        "--out",
        dir.path().join("weak.json").to_str().unwrap(),
        "--passphrase-file",
        short.to_str().unwrap(),
    ]);
    assert!(!weak.status.success());
    assert!(
        text(&weak).contains("at least 12 characters"),
        "{}",
        text(&weak)
    );
    assert!(!dir.path().join("weak.json").exists());
}

/// One validator's machine: a key file, its passphrase and the chosen password in files.
struct Holder {
    name: &'static str,
    key: PathBuf,
    passphrase: PathBuf,
    password: PathBuf,
}

impl Holder {
    fn new(dir: &Path, name: &'static str) -> Self {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).unwrap();
        let (passphrase, password) = (home.join("passphrase"), home.join("password"));
        std::fs::write(&passphrase, format!("the passphrase of {name}\n")).unwrap();
        std::fs::write(&password, format!("the password of {name}\n")).unwrap();
        Holder {
            name,
            key: home.join("key.json"),
            passphrase,
            password,
        }
    }

    fn password_text(&self) -> String {
        format!("the password of {}", self.name)
    }

    /// The secret seed, opened from the key file as only its holder can.
    fn seed(&self) -> [u8; 32] {
        let file =
            keyfile::KeyFile::from_json(&std::fs::read_to_string(&self.key).unwrap()).unwrap();
        file.open(&format!("the passphrase of {}", self.name))
            .unwrap()
            .to_bytes()
    }

    fn arg(path: &Path) -> &str {
        path.to_str().unwrap()
    }

    /// `ballotchain approve` (or `reject` with a reason) with this holder's key file.
    fn decide(&self, s: &Server, election: u64, block: &str, reason: Option<&str>) -> Output {
        self.decide_with(s, election, block, reason, &self.passphrase)
    }

    fn decide_with(
        &self,
        s: &Server,
        election: u64,
        block: &str,
        reason: Option<&str>,
        passphrase: &Path,
    ) -> Output {
        let election = election.to_string();
        let mut args = vec![
            if reason.is_some() {
                "reject"
            } else {
                "approve"
            },
            "--server",
            &s.base,
            "--election",
            &election,
            "--block",
            block,
            "--key",
            Self::arg(&self.key),
            "--passphrase-file",
            Self::arg(passphrase),
        ];
        if let Some(reason) = reason {
            args.extend(["--reason", reason]);
        }
        ballotchain(&args)
    }
}

/// Standard base64 alphabet, and the URL-safe one.
const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 (RFC 4648) with the given alphabet, with or without `=` padding.
fn base64(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn the_local_base64_encoder_matches_rfc_4648() {
    for (input, padded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(input.as_bytes(), STANDARD, true), padded);
        assert_eq!(
            base64(input.as_bytes(), STANDARD, false),
            padded.trim_end_matches('=')
        );
    }
    assert_eq!(base64(&[0xfb, 0xff, 0xbf], STANDARD, true), "+/+/");
    assert_eq!(base64(&[0xfb, 0xff, 0xbf], URL_SAFE, true), "-_-_");
}

/// Every form in which a secret seed could be written down: raw, hex in either case,
/// base64 standard and URL-safe, padded and not.
fn encodings(seed: &[u8; 32]) -> Vec<(String, Vec<u8>)> {
    let mut forms = vec![
        ("raw".to_owned(), seed.to_vec()),
        ("hex".into(), hex::encode(seed).into_bytes()),
        ("HEX".into(), hex::encode_upper(seed).into_bytes()),
    ];
    for (name, alphabet) in [("base64", STANDARD), ("base64url", URL_SAFE)] {
        for pad in [true, false] {
            forms.push((
                format!("{name}{}", if pad { "" } else { " unpadded" }),
                base64(seed, alphabet, pad).into_bytes(),
            ));
        }
    }
    forms
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every cell of every table the database's schema lists (`sqlite_master` included), as
/// bytes: (table, column, row count of the table, cells).
async fn every_cell(db: &Path) -> Vec<(String, String, Vec<Vec<u8>>)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let mut tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    tables.push("sqlite_master".into());
    let mut out = Vec::new();
    for table in tables {
        let columns: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(!columns.is_empty(), "{table} has no columns?");
        for column in columns {
            let cells: Vec<Option<Vec<u8>>> = sqlx::query_scalar(&format!(
                "SELECT CAST(\"{column}\" AS BLOB) FROM \"{table}\""
            ))
            .fetch_all(&pool)
            .await
            .unwrap();
            out.push((table.clone(), column, cells.into_iter().flatten().collect()));
        }
    }
    pool.close().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_enrol_and_decide_from_the_command_line_and_their_keys_never_reach_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let office = api_of(&s, &admin);
    let anyone = Api::anonymous(&s);
    let machines = dir.path().join("validators");
    let holders = [
        Holder::new(&machines, "validator1"),
        Holder::new(&machines, "validator2"),
    ];
    let mut outputs = String::new();
    let mut tokens = Vec::new();

    // Each validator makes a key file and accepts an invitation with it: by the whole
    // link for one, by its token alone for the other.
    for (i, h) in holders.iter().enumerate() {
        let made = ballotchain(&[
            "key",
            "new",
            "--out",
            Holder::arg(&h.key),
            "--label",
            h.name,
            "--passphrase-file",
            Holder::arg(&h.passphrase),
        ]);
        assert!(made.status.success(), "{}", text(&made));
        outputs += &text(&made);
        let issued = office.invite(h.name, Role::Validator).await.unwrap();
        tokens.push(issued.token.clone());
        let link = if i == 0 {
            s.url(&issued.path)
        } else {
            issued.token.clone()
        };
        let accept = |link: &str| {
            ballotchain(&[
                "accept",
                "--server",
                &s.base,
                "--invitation",
                link,
                "--key",
                Holder::arg(&h.key),
                "--passphrase-file",
                Holder::arg(&h.passphrase),
                "--account-password-file",
                Holder::arg(&h.password),
            ])
        };
        let accepted = accept(&link);
        assert!(accepted.status.success(), "{}", text(&accepted));
        assert!(
            text(&accepted).contains(&format!("validator {} enrolled", h.name)),
            "{}",
            text(&accepted)
        );
        outputs += &text(&accepted);
        let again = accept(&link);
        assert!(!again.status.success(), "an invitation works once");
        assert!(text(&again).contains("gone"), "{}", text(&again));
        // The password chosen is the one that signs in.
        login(&s, h.name, &h.password_text()).await;
    }

    let id = office
        .create_election("From the command line", 8, 2)
        .await
        .id;
    for name in ["Ada", "Grace"] {
        office.add_candidate(id, name).await;
    }
    let codes = office.register_voters(id, 2).await;
    for h in &holders {
        office.enrol(id, h.name).await;
    }
    office.trustees_ready(id).await;
    let opened = office.open(id).await;
    let ElectionId(election) = opened.id;
    let detail = anyone.export(id).await.unwrap();
    let mut enrolled = detail.genesis.validators.clone();
    enrolled.sort();
    let mut expected: Vec<_> = holders
        .iter()
        .map(|h| public_of(&ed25519_dalek::SigningKey::from_bytes(&h.seed())))
        .collect();
    expected.sort();
    assert_eq!(
        enrolled, expected,
        "the genesis block lists the key files' keys"
    );

    let ballot = |i: usize| {
        let code = codes[i].code.clone();
        let anyone = anyone.clone();
        async move {
            let candidate = ledger::CandidateId(1);
            anyone.cast(id, &code, candidate).await.unwrap();
        }
    };
    ballot(0).await;
    mine_once(&s, election as i64);
    let hash = anyone.awaiting(id).await[0].hash.to_hex();

    // A wrong passphrase opens nothing, so nothing is signed or sent.
    let before = table_counts(&s.db).await;
    let wrong = machines.join("wrong passphrase");
    std::fs::write(&wrong, "not the passphrase at all\n").unwrap();
    let refused = holders[1].decide_with(&s, election, &hash, None, &wrong);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("wrong passphrase"),
        "{}",
        text(&refused)
    );
    assert_eq!(table_counts(&s.db).await, before);

    // Two approvals from the command line append the block.
    let first = holders[0].decide(&s, election, &hash, None);
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("awaiting approval (1 approval(s)"),
        "{}",
        text(&first)
    );
    let second = holders[1].decide(&s, election, &hash, None);
    assert!(second.status.success(), "{}", text(&second));
    assert!(
        text(&second).contains("appended to the chain"),
        "{}",
        text(&second)
    );
    outputs += &text(&first);
    outputs += &text(&second);
    let block = anyone.block(id, "1").await.unwrap();
    assert_eq!(block.summary.status, BlockStatus::Appended);
    assert_eq!(block.decisions.len(), 2);
    ledger::verify_export(&anyone.export(id).await.unwrap()).unwrap();

    // A rejection from the command line, signed with its reason.
    ballot(1).await;
    mine_once(&s, election as i64);
    let next = anyone.awaiting(id).await[0].hash.to_hex();
    let rejected = holders[0].decide(&s, election, &next, Some("I could not check it"));
    assert!(rejected.status.success(), "{}", text(&rejected));
    assert!(
        text(&rejected).contains("rejected by validators"),
        "{}",
        text(&rejected)
    );
    outputs += &text(&rejected);
    let block = anyone.block(id, &next).await.unwrap();
    assert_eq!(
        block.decisions[0].reason.as_deref(),
        Some("I could not check it")
    );

    // Custody: no cell of any table holds any validator's secret seed in any usual
    // encoding, nor its key file's passphrase; nor does the server's log, nor anything
    // the command line printed.
    let secrets: Vec<(String, Vec<u8>)> = holders
        .iter()
        .flat_map(|h| {
            let mut forms: Vec<_> = encodings(&h.seed())
                .into_iter()
                .map(|(form, bytes)| (format!("{}'s seed as {form}", h.name), bytes))
                .collect();
            forms.push((
                format!("{}'s passphrase", h.name),
                format!("the passphrase of {}", h.name).into_bytes(),
            ));
            forms.push((
                format!("{}'s password", h.name),
                h.password_text().into_bytes(),
            ));
            forms
        })
        .collect();
    // The links' tokens too: the server keeps only their hashes.
    let in_db_and_log: Vec<(String, Vec<u8>)> = tokens
        .iter()
        .map(|t| ("an invitation token".to_owned(), t.clone().into_bytes()))
        .collect();
    // The walk reads SQLite's catalogue; on PostgreSQL the same statements store the
    // same values, so this part runs on the SQLite pass only.
    let Some(file) = s.db.file() else {
        return;
    };
    let cells = every_cell(file).await;
    let tables: std::collections::BTreeSet<&str> =
        cells.iter().map(|(t, _, _)| t.as_str()).collect();
    for expected in [
        "accounts",
        "invitations",
        "decisions",
        "tower_sessions",
        "sqlite_master",
    ] {
        assert!(tables.contains(expected), "{expected} not in {tables:?}");
    }
    let filled = |table: &str| {
        cells
            .iter()
            .filter(|(t, _, _)| t == table)
            .map(|(_, _, c)| c.len())
            .max()
            .unwrap_or(0)
    };
    assert!(filled("tower_sessions") > 0 && filled("invitations") >= 2 && filled("decisions") >= 3);
    // The scan sees what is there: each public key, raw in a BLOB, and each name.
    for h in &holders {
        let public = public_of(&ed25519_dalek::SigningKey::from_bytes(&h.seed()));
        for needle in [public.0.to_vec(), h.name.as_bytes().to_vec()] {
            assert!(
                cells
                    .iter()
                    .any(|(t, _, v)| t == "accounts" && v.iter().any(|c| contains(c, &needle))),
                "the scan does not find {}'s public key or name in accounts",
                h.name
            );
        }
    }
    let mut scanned = 0;
    for (table, column, values) in &cells {
        for value in values {
            scanned += 1;
            for (what, secret) in secrets.iter().chain(&in_db_and_log) {
                assert!(!contains(value, secret), "{table}.{column} holds {what}");
            }
        }
    }
    assert!(scanned > 100, "only {scanned} cells scanned");
    let log = std::fs::read(&s.stderr).unwrap();
    assert!(!log.is_empty(), "the server logged nothing?");
    let startup = s.startup.join("\n").into_bytes();
    for (what, secret) in secrets.iter().chain(&in_db_and_log) {
        assert!(!contains(&log, secret), "the server's log holds {what}");
        assert!(
            !contains(&startup, secret),
            "the server's output holds {what}"
        );
    }
    for (what, secret) in &secrets {
        assert!(
            !contains(outputs.as_bytes(), secret),
            "the command line printed {what}"
        );
    }
}
