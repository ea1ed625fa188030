//! A real `ballotchain` process on 127.0.0.1 with a temporary database, and helpers.
//!
//! The database is a SQLite file in the test's folder, or, when
//! `BALLOTCHAIN_TEST_POSTGRES` names a PostgreSQL server (scripts/test.sh starts a
//! private cluster and runs the tests a second time so), a fresh database on it.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use ledger::ceremony::{CeremonyMessage, Seat};
use ledger::{
    Approval, Block, BlockHash, BlockHeader, CandidateId, ElectionId, PowSearch, PublicKey,
    Rejection, TxId, Vote, VotingCode,
};
use rand::RngCore;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use wire::{
    Acceptance, Account, BlockDetail, BlockSummary, CastReceipt, ElectionDetail, ErrorBody,
    ErrorCode, InvitationInfo, IssuedInvitation, KeyChange, KeyProof, NewElection, NewInvitation,
    NewVoter, ReceiptReport, RegisteredVoter, Registration, Role, Roll, SignedApproval,
    SignedRejection, SubmitOutcome, TallyReport, VoterId, WorkTemplate,
};
use wire::{
    CeremonyBoard, TrusteeEnrolment, TrusteeId, TrusteeInfo, TrusteeInvitation,
    TrusteeInvitationInfo,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_ballotchain");
pub const ADMIN_PASSWORD: &str = "correct horse battery";
pub const VALIDATOR_PASSWORD: &str = "validator password 1";

/// A test's database: a SQLite file, or a database of its own on the PostgreSQL server
/// `BALLOTCHAIN_TEST_POSTGRES` names.
#[derive(Debug, Clone)]
pub enum Db {
    File(PathBuf),
    Postgres(String),
}

impl Db {
    /// The database of the test whose files are in `dir`: the same one every time it
    /// is asked, so a test can stop its server and start another on the same data.
    pub fn of(dir: &Path) -> Db {
        let Ok(server) = std::env::var("BALLOTCHAIN_TEST_POSTGRES") else {
            return Db::File(dir.join("test.db"));
        };
        let remembered = dir.join("database-url");
        if let Ok(url) = std::fs::read_to_string(&remembered) {
            return Db::Postgres(url);
        }
        let mut bytes = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let name = format!("test_{}", hex::encode(bytes));
        let out = Command::new("psql")
            .args([
                server.as_str(),
                "-q",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "CREATE DATABASE {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (base, _) = server
            .rsplit_once('/')
            .expect("a URL ending in a database name");
        let url = format!("{base}/{name}");
        std::fs::write(&remembered, &url).unwrap();
        Db::Postgres(url)
    }

    /// What `--db` takes.
    pub fn arg(&self) -> &str {
        match self {
            Db::File(path) => path.to_str().unwrap(),
            Db::Postgres(url) => url,
        }
    }

    /// The SQLite file, for a test about the file itself; `None` on PostgreSQL.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Db::File(path) => Some(path),
            Db::Postgres(_) => None,
        }
    }

    /// A pool on this database, for reading or editing it behind the server's back.
    pub async fn pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let url = match self {
            Db::File(path) => format!("sqlite://{}", path.display()),
            Db::Postgres(url) => url.clone(),
        };
        sqlx::AnyPool::connect(&url).await.unwrap()
    }

    /// Runs `sql` (any number of statements) as someone with the database's files or
    /// superuser rights would: foreign keys not enforced.
    pub async fn edit_offline(&self, sql: &str) {
        match self {
            Db::File(path) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .foreign_keys(false);
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                sqlx::raw_sql(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Db::Postgres(_) => {
                let pool = self.pool().await;
                let sql = format!("SET session_replication_role = replica; {sql}");
                sqlx::raw_sql(&sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// Runs `sql` behind the server's back; the number of rows it changed.
    pub async fn execute(&self, sql: &str) -> u64 {
        let pool = self.pool().await;
        let n = sqlx::query(sql)
            .execute(&pool)
            .await
            .unwrap()
            .rows_affected();
        pool.close().await;
        n
    }
}

pub struct Server {
    /// The process this test started; `None` for servers it reaches, not runs (the
    /// cluster behind nginx).
    child: Option<Child>,
    /// What the server printed before it listened (first-run link, demo passwords).
    pub startup: Vec<String>,
    pub base: String,
    pub db: Db,
    pub stderr: PathBuf,
    /// The signing keys of the validators this test enrolled, by username. They live
    /// only here, in the test, as they live on a validator's own device: the server is
    /// given the public halves and proofs of possession.
    keys: Mutex<BTreeMap<String, SigningKey>>,
}

impl Server {
    /// Starts the binary on a free port and waits until it listens.
    pub fn start(dir: &Path) -> Server {
        Self::start_with(dir, &[])
    }

    /// Starts the binary with more `serve` options.
    pub fn start_with(dir: &Path, options: &[&str]) -> Server {
        let db = Db::of(dir);
        let stderr = dir.join(format!(
            "stderr-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut child = Command::new(BIN)
            .args(["serve", "--db", db.arg()])
            // Where a SQLite file's exports go by default, for PostgreSQL too.
            .arg("--exports")
            .arg(dir.join("test.db.exports"))
            .args(["--addr", "127.0.0.1:0"])
            .args(options)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start ballotchain");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Listening, and the start-up check of the stored chains ended (in either order:
        // reads are served while it runs; a test waits for it to know what it found).
        let mut startup = Vec::new();
        let (mut base, mut checked) = (None, false);
        while base.is_none() || !checked {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(addr) = line.strip_prefix("ballotchain listening on ") {
                base = Some(addr.trim().to_owned());
            } else if line.starts_with("stored chains checked:") {
                checked = true;
            } else {
                startup.push(line);
            }
        }
        let base = base.unwrap_or_default();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child: Some(child),
            startup,
            base,
            db,
            stderr,
            keys: Mutex::new(BTreeMap::new()),
        }
    }

    /// A server at `base` that this test did not start, on `db`.
    pub fn at(base: &str, db: Db, stderr: PathBuf) -> Server {
        Server {
            child: None,
            startup: Vec::new(),
            base: base.to_owned(),
            db,
            stderr,
            keys: Mutex::new(BTreeMap::new()),
        }
    }

    /// The signing key of a validator this test enrolled.
    pub fn key(&self, username: &str) -> SigningKey {
        self.keys
            .lock()
            .unwrap()
            .get(username)
            .unwrap_or_else(|| panic!("the test holds no key of {username}"))
            .clone()
    }

    fn remember_key(&self, username: &str, key: &SigningKey) {
        self.keys
            .lock()
            .unwrap()
            .insert(username.to_owned(), key.clone());
    }

    /// The process id of a server this test started.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let mut child = self.child.take().expect("a server this test started");
        child.kill().unwrap();
        child.wait().unwrap();
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
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `ballotchain admin create`, with the password on standard input.
pub fn create_admin(db: &Db, username: &str) {
    let mut child = Command::new(BIN)
        .args(["admin", "create", "--db", db.arg()])
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

/// A page's HTML as `c` gets it.
pub async fn page_text(c: &Client, url: String) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

pub async fn get(c: &Client, url: String) -> (StatusCode, Value) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The JSON API as a test drives it, typed with the `wire` crate: one method per endpoint.
/// Set-up methods check that the call succeeded (a failed set-up stops the test there,
/// saying which call); the others return the refusal for the test to check.
#[derive(Clone)]
pub struct Api {
    http: Client,
    base: String,
}

/// An error answer: its status and body.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl Refusal {
    /// Checks the status and the code, and that the message says something.
    pub fn is(&self, status: u16, code: ErrorCode) {
        assert_eq!(
            (self.status.as_u16(), self.body.error),
            (status, code),
            "{self:?}"
        );
        assert!(!self.body.message.is_empty(), "{self:?}");
    }
}

/// The refusal of a call that had to be refused (for answers without `Debug`).
pub fn refused<T>(answer: Result<T, Refusal>, what: &str) -> Refusal {
    match answer {
        Ok(_) => panic!("{what} was accepted; it should have been refused"),
        Err(r) => r,
    }
}

/// A fresh voting code from random bytes, made here as the officer's browser or
/// `ballotchain codes` makes it: the server is given only its public key.
pub fn new_code() -> VotingCode {
    let mut bytes = [0u8; ledger::code::CODE_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    VotingCode::from_entropy(bytes)
}

/// 32 bytes that encode no point of the curve, so no Ed25519 public key.
pub fn not_a_point() -> PublicKey {
    (0..=u8::MAX)
        .map(|n| PublicKey([n; 32]))
        .find(|k| ed25519_dalek::VerifyingKey::from_bytes(&k.0).is_err())
        .expect("some repeated byte encodes no point")
}

/// A voter this test registered and the code it made for them (the server never saw it).
pub struct Issued {
    pub voter: RegisteredVoter,
    pub code: String,
}

/// A trustee's enrolment with `key` for the invitation `token`: its seat, and its proof
/// of possession over the challenge the server gives.
pub async fn trustee_enrolment(key: &SigningKey, token: &str, api: &Api) -> TrusteeEnrolment {
    let info = api
        .trustee_invitation(token)
        .await
        .unwrap_or_else(|r| panic!("the trustee invitation was refused: {r:?}"));
    let challenge = hex::decode(&info.challenge).expect("the challenge is hex");
    TrusteeEnrolment {
        seat: Seat::of(key),
        proof: ledger::prove_possession(key, &challenge),
    }
}

/// The counts a tally decrypts to with these trustees' key shares (as many as the
/// threshold asks: every one given here makes a share).
pub fn decrypted(
    genesis: &ledger::Genesis,
    tally: &ledger::Tally,
    trustees: &[(SigningKey, ledger::ceremony::Trustee)],
) -> Vec<u64> {
    let shares: Vec<_> = trustees
        .iter()
        .map(|(_, side)| {
            ledger::secret::DecryptionShare::make(
                side.key_share().expect("the trustee's key share"),
                &tally.sums,
                &mut rand::rngs::OsRng,
            )
            .expect("a decryption share")
        })
        .collect();
    ledger::secret::find_counts(&genesis.trustees.keys(), &tally.sums, &shares, tally.total)
        .expect("the counts")
}

/// Runs the `ballotchain` binary with these arguments, to the end.
pub fn ballotchain(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run ballotchain")
}

/// What a run of the binary printed, standard output then standard error.
pub fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// An encrypted ballot for the candidate at `choice` (ballot order) under `genesis`'s
/// election key, as a voter's device makes it.
pub fn ballot_for(genesis: &ledger::Genesis, choice: usize) -> Vec<u8> {
    ledger::secret::Ballot::encrypt(
        &genesis.trustees.election_key,
        genesis.candidates.len(),
        choice,
        &mut rand::rngs::OsRng,
    )
    .expect("a candidate on the ballot")
    .encode()
    .expect("a ballot encodes")
}

/// A fresh Ed25519 signing key from 32 random bytes, made here as a validator makes theirs.
pub fn new_key() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    SigningKey::from_bytes(&seed)
}

/// The public half of a signing key, as the API and the genesis block carry it.
pub fn public_of(key: &SigningKey) -> PublicKey {
    PublicKey(key.verifying_key().to_bytes())
}

/// A key with its proof of possession over an invitation's challenge (64 hex digits).
pub fn key_proof(key: &SigningKey, challenge: &str) -> KeyProof {
    let challenge = hex::decode(challenge).expect("the challenge is hex");
    KeyProof {
        public_key: public_of(key),
        proof: ledger::prove_possession(key, &challenge),
    }
}

/// The body of `POST …/approve`: the validator's approval of `hash`, signed with `key`.
pub fn signed_approval(key: &SigningKey, hash: BlockHash) -> SignedApproval {
    let a = Approval::sign(key, hash);
    SignedApproval {
        validator: a.validator,
        signature: a.signature,
    }
}

/// The body of `POST …/reject`: the validator's rejection of `hash`, signed with `key`.
pub fn signed_rejection(key: &SigningKey, hash: BlockHash, reason: &str) -> SignedRejection {
    let r = Rejection::sign(key, hash, reason);
    SignedRejection {
        validator: r.validator,
        signature: r.signature,
        reason: r.reason,
    }
}

impl Api {
    /// Nobody signed in.
    pub fn anonymous(s: &Server) -> Self {
        Self {
            http: client(),
            base: format!("{}/api", s.base),
        }
    }

    /// Signed in as `username` (checked).
    pub async fn signed_in(s: &Server, username: &str, password: &str) -> Self {
        Self {
            http: login(s, username, password).await,
            base: format!("{}/api", s.base),
        }
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        req: RequestBuilder,
        ok: u16,
    ) -> Result<T, Refusal> {
        let r = req.send().await.expect("the server answers");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if status.as_u16() == ok {
            return Ok(serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{status} body does not parse ({e}): {text}")));
        }
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{status} is not an error body ({e}): {text}"));
        Err(Refusal { status, body })
    }

    async fn setup<T: DeserializeOwned>(&self, what: &str, req: RequestBuilder, ok: u16) -> T {
        self.answer(req, ok)
            .await
            .unwrap_or_else(|r| panic!("set-up call {what} was refused: {r:?}"))
    }

    fn post(&self, path: &str, body: impl serde::Serialize) -> RequestBuilder {
        self.http.post(format!("{}{path}", self.base)).json(&body)
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    /// `POST /elections` (set-up).
    pub async fn create_election(
        &self,
        title: &str,
        difficulty: u8,
        quorum: u16,
    ) -> ElectionDetail {
        let new = NewElection {
            title: title.into(),
            description: String::new(),
            difficulty_bits: Some(difficulty),
            quorum: Some(quorum),
        };
        self.setup("create election", self.post("/elections", new), 201)
            .await
    }

    /// `POST /elections/{id}/candidates` (set-up).
    pub async fn add_candidate(&self, id: ElectionId, name: &str) -> ledger::Candidate {
        let path = format!("/elections/{id}/candidates");
        self.setup(
            "add candidate",
            self.post(&path, json!({ "name": name })),
            201,
        )
        .await
    }

    /// `POST /elections/{id}/voters` with `count` voters (set-up), each by the key of a
    /// code made here; the voters and their codes, in order.
    pub async fn register_voters(&self, id: ElectionId, count: usize) -> Vec<Issued> {
        let codes: Vec<VotingCode> = (0..count).map(|_| new_code()).collect();
        let voters: Vec<NewVoter> = codes
            .iter()
            .enumerate()
            .map(|(i, code)| NewVoter {
                name: format!("Voter {i}"),
                external_id: None,
                public_key: code.public_key(id),
            })
            .collect();
        let registered: Registration = self
            .setup(
                "register voters",
                self.post(&format!("/elections/{id}/voters"), &voters),
                201,
            )
            .await;
        assert_eq!(registered.voters.len(), count);
        registered
            .voters
            .into_iter()
            .zip(codes)
            .map(|(voter, code)| {
                assert_eq!(voter.public_key, code.public_key(id));
                Issued {
                    voter,
                    code: code.to_string(),
                }
            })
            .collect()
    }

    /// `POST /elections/{id}/voters` with JSON voters.
    pub async fn register(
        &self,
        id: ElectionId,
        voters: &[NewVoter],
    ) -> Result<Registration, Refusal> {
        self.answer(self.post(&format!("/elections/{id}/voters"), voters), 201)
            .await
    }

    /// `POST /elections/{id}/voters` with a keys file (`text/csv`).
    pub async fn upload_keys(&self, id: ElectionId, csv: &str) -> Result<Registration, Refusal> {
        let req = self
            .http
            .post(format!("{}/elections/{id}/voters", self.base))
            .header("content-type", "text/csv")
            .body(csv.to_owned());
        self.answer(req, 201).await
    }

    /// `DELETE /elections/{id}/voters/{voter}`.
    pub async fn remove_voter(&self, id: ElectionId, voter: VoterId) -> Result<Roll, Refusal> {
        let url = format!("{}/elections/{id}/voters/{voter}", self.base);
        self.answer(self.http.delete(url), 200).await
    }

    /// `PUT /elections/{id}/voters/{voter}/key`.
    pub async fn replace_voter_key(
        &self,
        id: ElectionId,
        voter: VoterId,
        key: PublicKey,
    ) -> Result<RegisteredVoter, Refusal> {
        let url = format!("{}/elections/{id}/voters/{voter}/key", self.base);
        let change = KeyChange { public_key: key };
        self.answer(self.http.put(url).json(&change), 200).await
    }

    /// `GET /elections/{id}`.
    pub async fn election(&self, id: ElectionId) -> Result<ElectionDetail, Refusal> {
        self.answer(self.get(&format!("/elections/{id}")), 200)
            .await
    }

    /// `POST /invitations`.
    pub async fn invite(&self, username: &str, role: Role) -> Result<IssuedInvitation, Refusal> {
        let new = NewInvitation {
            username: username.into(),
            role,
        };
        self.answer(self.post("/invitations", new), 201).await
    }

    /// `GET /invitations/{token}`.
    pub async fn invitation(&self, token: &str) -> Result<InvitationInfo, Refusal> {
        self.answer(self.get(&format!("/invitations/{token}")), 200)
            .await
    }

    /// `POST /invitations/{token}/accept`.
    pub async fn accept(&self, token: &str, acceptance: &Acceptance) -> Result<Account, Refusal> {
        let path = format!("/invitations/{token}/accept");
        self.answer(self.post(&path, acceptance), 201).await
    }

    /// A validator account made the way its holder makes it (set-up): an admin's
    /// invitation, then the invitee's acceptance with their password and a key made here,
    /// proven by signing the invitation's challenge. The account and its signing key.
    pub async fn invite_validator(&self, username: &str, password: &str) -> (Account, SigningKey) {
        let issued = self
            .invite(username, Role::Validator)
            .await
            .unwrap_or_else(|r| panic!("set-up call invite {username} was refused: {r:?}"));
        let invitee = Api {
            http: client(),
            base: self.base.clone(),
        };
        let info: InvitationInfo = invitee
            .setup(
                "invitation",
                invitee.get(&format!("/invitations/{}", issued.token)),
                200,
            )
            .await;
        let key = new_key();
        let acceptance = Acceptance {
            password: Some(password.into()),
            key: Some(key_proof(&key, &info.challenge)),
        };
        let account = invitee
            .accept(&issued.token, &acceptance)
            .await
            .unwrap_or_else(|r| panic!("set-up call accept {username} was refused: {r:?}"));
        (account, key)
    }

    /// `DELETE /elections/{id}/validators/{username}/key`.
    pub async fn withdraw_key(
        &self,
        id: ElectionId,
        username: &str,
    ) -> Result<IssuedInvitation, Refusal> {
        let url = format!("{}/elections/{id}/validators/{username}/key", self.base);
        self.answer(self.http.delete(url), 201).await
    }

    /// `POST /elections/{id}/validators` (set-up).
    pub async fn enrol(&self, id: ElectionId, username: &str) -> ElectionDetail {
        let path = format!("/elections/{id}/validators");
        self.setup(
            "enrol validator",
            self.post(&path, json!({ "username": username })),
            201,
        )
        .await
    }

    /// `POST /elections/{id}/trustees`.
    pub async fn invite_trustee(
        &self,
        id: ElectionId,
        name: &str,
    ) -> Result<TrusteeInvitation, Refusal> {
        let path = format!("/elections/{id}/trustees");
        self.answer(self.post(&path, json!({ "name": name })), 201)
            .await
    }

    /// `DELETE /elections/{id}/trustees/{trustee}`.
    pub async fn replace_trustee(
        &self,
        id: ElectionId,
        trustee: TrusteeId,
    ) -> Result<TrusteeInvitation, Refusal> {
        let url = format!("{}/elections/{id}/trustees/{trustee}", self.base);
        self.answer(self.http.delete(url), 201).await
    }

    /// `GET /trustee-invitations/{token}`.
    pub async fn trustee_invitation(&self, token: &str) -> Result<TrusteeInvitationInfo, Refusal> {
        self.answer(self.get(&format!("/trustee-invitations/{token}")), 200)
            .await
    }

    /// `POST /trustee-invitations/{token}/accept`.
    pub async fn enrol_trustee(
        &self,
        token: &str,
        enrolment: &TrusteeEnrolment,
    ) -> Result<TrusteeInfo, Refusal> {
        let path = format!("/trustee-invitations/{token}/accept");
        self.answer(self.post(&path, enrolment), 201).await
    }

    /// `GET /elections/{id}/ceremony`.
    pub async fn board(&self, id: ElectionId) -> CeremonyBoard {
        self.setup(
            "ceremony board",
            self.get(&format!("/elections/{id}/ceremony")),
            200,
        )
        .await
    }

    /// `POST /elections/{id}/ceremony`.
    pub async fn start_ceremony(
        &self,
        id: ElectionId,
        threshold: u16,
    ) -> Result<CeremonyBoard, Refusal> {
        let path = format!("/elections/{id}/ceremony");
        self.answer(self.post(&path, json!({ "threshold": threshold })), 201)
            .await
    }

    /// `POST /elections/{id}/ceremony/messages`.
    pub async fn post_messages(
        &self,
        id: ElectionId,
        messages: &[CeremonyMessage],
    ) -> Result<CeremonyBoard, Refusal> {
        let path = format!("/elections/{id}/ceremony/messages");
        self.answer(self.post(&path, messages), 201).await
    }

    /// A trustee enrolled the way its holder enrols (set-up): the officer's invitation,
    /// then the invitee's identity key made here, proven over the challenge, with the
    /// share-receiving key it binds. The trustee's identity key.
    pub async fn enrolled_trustee(&self, id: ElectionId, name: &str) -> SigningKey {
        let issued = self
            .invite_trustee(id, name)
            .await
            .unwrap_or_else(|r| panic!("set-up call invite trustee {name} was refused: {r:?}"));
        let key = new_key();
        Api {
            http: client(),
            base: self.base.clone(),
        }
        .enrol_trustee(
            &issued.token,
            &trustee_enrolment(&key, &issued.token, self).await,
        )
        .await
        .unwrap_or_else(|r| panic!("set-up call enrol trustee {name} was refused: {r:?}"));
        key
    }

    /// The whole key ceremony of `election` with these trustees (identity keys in seat
    /// order) and threshold, each trustee stepping in turn on the board as a trustee's
    /// machine does (set-up). Their key shares, and the board at the end.
    pub async fn run_ceremony(
        &self,
        id: ElectionId,
        trustees: &[SigningKey],
        threshold: u16,
    ) -> (Vec<ledger::ceremony::Trustee>, CeremonyBoard) {
        let board = self
            .start_ceremony(id, threshold)
            .await
            .unwrap_or_else(|r| panic!("set-up call start ceremony was refused: {r:?}"));
        let ceremony = board.ceremony.expect("a ceremony runs");
        let seats: Vec<_> = ceremony.seats.iter().map(|s| s.seat.clone()).collect();
        let mut sides = Vec::new();
        for (position, key) in trustees.iter().enumerate() {
            let (side, first) = ledger::ceremony::Trustee::join(
                key,
                id,
                ceremony.id,
                position as u16,
                &seats,
                threshold,
                &mut rand::rngs::OsRng,
            )
            .expect("join the ceremony");
            self.post_messages(id, &[first])
                .await
                .expect("post a commitment");
            sides.push(side);
        }
        for _ in 0..3 {
            for (side, key) in sides.iter_mut().zip(trustees) {
                let board = self.board(id).await;
                let messages = board.ceremony.expect("a ceremony runs").messages;
                let out = side
                    .step(key, &messages, &mut rand::rngs::OsRng)
                    .expect("a ceremony step");
                if !out.is_empty() {
                    self.post_messages(id, &out).await.expect("post a step");
                }
            }
        }
        let board = self.board(id).await;
        (sides, board)
    }

    /// One trustee, "trustee1" (threshold 1), and its key ceremony complete (set-up):
    /// opening needs the election key. Its identity key and side of the ceremony.
    pub async fn trustees_ready(&self, id: ElectionId) -> (SigningKey, ledger::ceremony::Trustee) {
        let trustee = self.enrolled_trustee(id, "trustee1").await;
        let (sides, board) = self
            .run_ceremony(id, std::slice::from_ref(&trustee), 1)
            .await;
        assert!(board.ceremony.is_some_and(|c| c.election_key.is_some()));
        (
            trustee,
            sides.into_iter().next().expect("the trustee's side"),
        )
    }

    /// `GET /elections/{id}/genesis`.
    pub async fn genesis(&self, id: ElectionId) -> ledger::Genesis {
        self.setup(
            "genesis",
            self.get(&format!("/elections/{id}/genesis")),
            200,
        )
        .await
    }

    /// `POST /elections/{id}/final`.
    pub async fn finalise(&self, id: ElectionId, early: bool) -> Result<TallyReport, Refusal> {
        let path = format!("/elections/{id}/final");
        self.answer(self.post(&path, json!({ "early": early })), 200)
            .await
    }

    /// `POST /elections/{id}/tally/shares`.
    pub async fn post_share(
        &self,
        id: ElectionId,
        share: &ledger::result::SignedShare,
    ) -> Result<TallyReport, Refusal> {
        let path = format!("/elections/{id}/tally/shares");
        self.answer(self.post(&path, share), 201).await
    }

    /// `POST /elections/{id}/open` (set-up).
    pub async fn open(&self, id: ElectionId) -> ElectionDetail {
        self.setup(
            "open",
            self.post(&format!("/elections/{id}/open"), json!({})),
            200,
        )
        .await
    }

    /// `POST /elections/{id}/open`, which may be refused.
    pub async fn try_open(&self, id: ElectionId) -> Result<ElectionDetail, Refusal> {
        self.answer(self.post(&format!("/elections/{id}/open"), json!({})), 200)
            .await
    }

    /// `POST /elections/{id}/close`.
    pub async fn close(&self, id: ElectionId) -> Result<ElectionDetail, Refusal> {
        self.answer(self.post(&format!("/elections/{id}/close"), json!({})), 200)
            .await
    }

    /// `POST /elections/{id}/votes` with a code.
    pub async fn cast(
        &self,
        id: ElectionId,
        code: &str,
        candidate: CandidateId,
    ) -> Result<CastReceipt, Refusal> {
        let body = json!({ "code": code, "candidate_id": candidate });
        self.answer(self.post(&format!("/elections/{id}/votes"), body), 202)
            .await
    }

    /// `GET /elections/{id}/receipts/{receipt}`.
    pub async fn receipt(&self, id: ElectionId, receipt: &TxId) -> Result<ReceiptReport, Refusal> {
        self.answer(
            self.get(&format!("/elections/{id}/receipts/{receipt}")),
            200,
        )
        .await
    }

    /// `GET /elections/{id}/work`.
    pub async fn work(&self, id: ElectionId) -> Result<WorkTemplate, Refusal> {
        self.answer(self.get(&format!("/elections/{id}/work")), 200)
            .await
    }

    /// `POST /elections/{id}/blocks`.
    pub async fn submit(&self, id: ElectionId, block: &Block) -> Result<SubmitOutcome, Refusal> {
        self.answer(self.post(&format!("/elections/{id}/blocks"), block), 202)
            .await
    }

    /// `GET /elections/{id}/blocks?status=awaiting`.
    pub async fn awaiting(&self, id: ElectionId) -> Vec<BlockSummary> {
        let path = format!("/elections/{id}/blocks?status=awaiting");
        self.setup("awaiting blocks", self.get(&path), 200).await
    }

    /// `POST /elections/{id}/blocks/{hash}/approve`, signed with `key`.
    pub async fn approve(
        &self,
        id: ElectionId,
        hash: &BlockHash,
        key: &SigningKey,
    ) -> Result<BlockSummary, Refusal> {
        let path = format!("/elections/{id}/blocks/{hash}/approve");
        self.answer(self.post(&path, signed_approval(key, *hash)), 200)
            .await
    }

    /// `POST /elections/{id}/blocks/{hash}/reject`, signed with `key`.
    pub async fn reject(
        &self,
        id: ElectionId,
        hash: &BlockHash,
        key: &SigningKey,
        reason: &str,
    ) -> Result<BlockSummary, Refusal> {
        let path = format!("/elections/{id}/blocks/{hash}/reject");
        self.answer(self.post(&path, signed_rejection(key, *hash, reason)), 200)
            .await
    }

    /// `GET /elections/{id}/blocks/{hash or height}`.
    pub async fn block(&self, id: ElectionId, block: &str) -> Result<BlockDetail, Refusal> {
        self.answer(self.get(&format!("/elections/{id}/blocks/{block}")), 200)
            .await
    }

    /// `GET /elections/{id}/tally`.
    pub async fn tally(&self, id: ElectionId) -> Result<TallyReport, Refusal> {
        self.answer(self.get(&format!("/elections/{id}/tally")), 200)
            .await
    }

    /// `GET /elections/{id}/export`.
    pub async fn export(&self, id: ElectionId) -> Result<ledger::ChainExport, Refusal> {
        self.answer(self.get(&format!("/elections/{id}/export")), 200)
            .await
    }
}

/// The validator's account, made by invitation the first time it is asked for on this
/// server (set-up); its signing key, which the test keeps.
pub async fn ensure_validator(s: &Server, api: &Api, username: &str) -> SigningKey {
    if let Some(key) = s.keys.lock().unwrap().get(username) {
        return key.clone();
    }
    let (_, key) = api.invite_validator(username, VALIDATOR_PASSWORD).await;
    s.remember_key(username, &key);
    key
}

/// An open election with `voters` voters, validators v1, v2 (quorum 2), difficulty 8, and
/// one trustee (threshold 1) whose key ceremony is complete.
pub struct Setup {
    pub admin: Client,
    pub election: i64,
    pub codes: Vec<String>,
    pub candidates: Vec<i64>,
    /// The signing keys of validator1 and validator2, in that order.
    pub validators: Vec<SigningKey>,
    /// The trustee's identity key and its side of the ceremony (its key share).
    pub trustees: Vec<(SigningKey, ledger::ceremony::Trustee)>,
}

pub async fn open_election(
    s: &Server,
    admin: &Client,
    title: &str,
    voters: usize,
    open: bool,
) -> Setup {
    let api = Api {
        http: admin.clone(),
        base: format!("{}/api", s.base),
    };
    let id = api.create_election(title, 8, 2).await.id;
    let mut candidates = Vec::new();
    for name in ["Ada", "Grace", "Alan"] {
        candidates.push(i64::from(api.add_candidate(id, name).await.id.0));
    }
    let codes = if voters == 0 {
        Vec::new()
    } else {
        api.register_voters(id, voters)
            .await
            .into_iter()
            .map(|c| c.code)
            .collect()
    };
    let mut validators = Vec::new();
    for name in ["validator1", "validator2"] {
        validators.push(ensure_validator(s, &api, name).await);
        api.enrol(id, name).await;
    }
    let trustee = api.enrolled_trustee(id, "trustee1").await;
    let (sides, _) = api
        .run_ceremony(id, std::slice::from_ref(&trustee), 1)
        .await;
    if open {
        api.open(id).await;
    }
    Setup {
        admin: admin.clone(),
        election: id.0 as i64,
        codes,
        candidates,
        validators,
        trustees: vec![(
            trustee,
            sides.into_iter().next().expect("the trustee's side"),
        )],
    }
}

/// An admin's API client from a signed-in cookie client.
pub fn api_of(s: &Server, http: &Client) -> Api {
    Api {
        http: http.clone(),
        base: format!("{}/api", s.base),
    }
}

/// `POST …/blocks/{hash}/approve` with `key`'s signature and no session.
pub async fn approve_as(
    s: &Server,
    election: i64,
    hash: &str,
    key: &SigningKey,
) -> (StatusCode, Value) {
    let hash: BlockHash = hash.parse().expect("a block hash");
    post(
        &client(),
        s.url(&format!("/api/elections/{election}/blocks/{hash}/approve")),
        serde_json::to_value(signed_approval(key, hash)).unwrap(),
    )
    .await
}

/// `POST …/blocks/{hash}/reject` with `key`'s signature over the reason, and no session.
pub async fn reject_as(
    s: &Server,
    election: i64,
    hash: &str,
    key: &SigningKey,
    reason: &str,
) -> (StatusCode, Value) {
    let hash: BlockHash = hash.parse().expect("a block hash");
    post(
        &client(),
        s.url(&format!("/api/elections/{election}/blocks/{hash}/reject")),
        serde_json::to_value(signed_rejection(key, hash, reason)).unwrap(),
    )
    .await
}

/// A fresh server with an admin account, signed in.
pub async fn server_with_admin(dir: &Path) -> (Server, Client) {
    server_with_admin_using(dir, &[]).await
}

/// The same, the server started with more `serve` options.
pub async fn server_with_admin_using(dir: &Path, options: &[&str]) -> (Server, Client) {
    create_admin(&Db::of(dir), "admin");
    let s = Server::start_with(dir, options);
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

/// Row counts of every table (as the schema lists them), to show a refused request
/// changed nothing.
pub async fn table_counts(db: &Db) -> Vec<(String, i64)> {
    let pool = db.pool().await;
    let mut out = Vec::new();
    // Every table the schema has, read from the schema itself; but the sessions, which
    // the tests' own sign-ins between two counts make.
    let tables = engine::tables(&pool).await.unwrap();
    for t in tables.into_iter().filter(|t| t != "tower_sessions") {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}"))
            .fetch_one(&pool)
            .await
            .unwrap();
        out.push((t, n));
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
    for (name, query) in [
        (
            "invitations:used",
            "SELECT count(*) FROM invitations WHERE used_at IS NOT NULL",
        ),
        (
            "accounts:keyed",
            "SELECT count(*) FROM accounts WHERE public_key IS NOT NULL",
        ),
    ] {
        let n: i64 = sqlx::query_scalar(query).fetch_one(&pool).await.unwrap();
        out.push((name.into(), n));
    }
    pool.close().await;
    out
}

/// A server on 127.0.0.1 that answers a `GET` of each path given with its body, whatever
/// the request asks, and counts every other request (answered 500): an operator's server
/// that lies, for the clients that must catch it. It serves a bounded number of requests.
pub struct LyingServer {
    pub base: String,
    posts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// One path a [`LyingServer`] answers: the path, the content type and the body.
pub type Lie = (String, &'static str, Vec<u8>);

impl LyingServer {
    pub fn start(answers: Vec<Lie>) -> Self {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let posts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = posts.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(32) {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
                let answer = answers
                    .iter()
                    .find(|(p, _, _)| request.starts_with("GET ") && *p == path);
                let reply = match answer {
                    Some((_, kind, body)) => {
                        let mut reply = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        reply.extend_from_slice(body);
                        reply
                    }
                    None => {
                        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
                    }
                };
                let _ = stream.write_all(&reply);
            }
        });
        Self { base, posts }
    }

    /// A path answered with this JSON.
    pub fn json(path: &str, body: &Value) -> Lie {
        (
            path.to_owned(),
            "application/json",
            body.to_string().into_bytes(),
        )
    }

    /// A path answered with these bytes (a compact encoding).
    pub fn bytes(path: &str, body: Vec<u8>) -> Lie {
        (path.to_owned(), "application/octet-stream", body)
    }

    /// The requests it did not answer (every post among them).
    pub fn posts(&self) -> usize {
        self.posts.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// An open event stream, read as it comes.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
    /// Heartbeats read so far.
    pub heartbeats: usize,
}

impl EventStream {
    pub async fn open(
        s: &Server,
        id: ledger::ElectionId,
        since: Option<&str>,
    ) -> reqwest::Response {
        let mut request = client().get(s.url(&wire::paths::events(id)));
        if let Some(since) = since {
            request = request.header("last-event-id", since);
        }
        request.send().await.expect("the stream answers")
    }

    pub async fn follow(s: &Server, id: ledger::ElectionId, since: Option<&str>) -> Self {
        let response = Self::open(s, id, since).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
            heartbeats: 0,
        }
    }

    /// The next event, or `None` when none comes within `wait` (or the stream ended).
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<wire::LiveEvent> {
        self.read(wait).await.ok().flatten()
    }

    /// The next event within `wait` (heartbeats counted, not returned): `Ok(None)` when
    /// none came in that time with the stream open, `Err(())` when the stream ended.
    async fn read(&mut self, wait: std::time::Duration) -> Result<Option<wire::LiveEvent>, ()> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                let id = block
                    .lines()
                    .find_map(|l| l.strip_prefix("id:"))
                    .map(str::trim_start);
                if data.is_empty() {
                    self.heartbeats += 1;
                    continue;
                }
                let event: wire::LiveEvent = serde_json::from_str(&data).expect("an event's JSON");
                assert_eq!(Some(event.id.as_str()), id, "the SSE id is the event's");
                return Ok(Some(event));
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(_) => return Err(()),
                Err(_) => return Ok(None),
            }
        }
    }

    /// Whether the stream stays open with no event for `wait` (heartbeats only).
    pub async fn stays_quiet(&mut self, wait: std::time::Duration) -> bool {
        matches!(self.read(wait).await, Ok(None))
    }

    /// Reads to the stream's end (heartbeats and events skipped): whether the server ended
    /// it properly rather than the connection being cut.
    pub async fn ends_cleanly(&mut self) -> bool {
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(60), self.response.chunk())
                .await
            {
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => return true,
                Ok(Err(_)) | Err(_) => return false,
            }
        }
    }

    /// Every event until none comes for a while.
    pub async fn drain(&mut self) -> Vec<wire::LiveEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next(std::time::Duration::from_millis(700)).await {
            events.push(event);
        }
        events
    }

    /// Events until one of `kind` (that one included), within 10 s.
    pub async fn until(&mut self, kind: &str) -> Vec<wire::LiveEvent> {
        let mut events = Vec::new();
        while let Some(event) = self.next(std::time::Duration::from_secs(10)).await {
            let done = event.change.kind() == kind;
            events.push(event);
            if done {
                return events;
            }
        }
        panic!("no {kind} event came; got {events:?}");
    }
}
