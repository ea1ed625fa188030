//! Trustees and the key ceremony's bulletin board.
//!
//! The officer invites trustees to seats of an election and starts a ceremony with a
//! threshold. The trustees post their signed messages here; the node checks each one
//! against the sender's enrolled identity key, stores it once, and shows the board to
//! anyone. It never holds a trustee's secret: their state between rounds stays in their
//! key files. Until the election is sealed the officer may restart the ceremony or replace
//! a trustee; both end the ceremony under way.

use crate::elections::clean_text;
use crate::invitations::{random, token_hash, INVITATION_HOURS};
use crate::{db_time, now_ms, stored_u64, EngineError, Node, Result};
use ledger::ceremony::{
    check_ceremony, check_message, CeremonyError, CeremonyMessage, Round, Seat,
};
use ledger::{
    possession_is_proven, ElectionId, GroupKey, PublicKey, ReceivingKey, Signature, Trustees,
};
use sqlx::AnyConnection;
use std::collections::HashMap;
use wire::{
    threshold_warning, CeremonyBoard, CeremonyInfo, CeremonySeat, ElectionState, NewTrustee,
    TrusteeEnrolment, TrusteeId, TrusteeInfo, TrusteeInvitation, TrusteeInvitationInfo, Waiting,
};

/// Most trustees an election may have: the ceremony's messages grow with the square.
pub const MAX_TRUSTEES: usize = 16;

const ROUNDS: [Round; 4] = [
    Round::Commitments,
    Round::Polynomials,
    Round::Shares,
    Round::Confirmations,
];

#[derive(sqlx::FromRow)]
struct TrusteeRow {
    id: TrusteeId,
    name: String,
    identity_key: Option<PublicKey>,
    receiving_key: Option<ReceivingKey>,
    receiving_proof: Option<Signature>,
    enrolled_at: Option<i64>,
}

impl TrusteeRow {
    fn seat(&self) -> Option<Seat> {
        Some(Seat {
            identity: self.identity_key?,
            receiving: self.receiving_key?,
            receiving_proof: self.receiving_proof?,
        })
    }

    fn info(self) -> Result<TrusteeInfo> {
        Ok(TrusteeInfo {
            seat: self.seat(),
            id: self.id,
            name: self.name,
            enrolled_at: self
                .enrolled_at
                .map(|t| stored_u64("enrolment time", t))
                .transpose()?,
        })
    }
}

const TRUSTEE_COLUMNS: &str =
    "id, name, identity_key, receiving_key, receiving_proof, enrolled_at FROM trustees";

/// The seats that count (not replaced), in the order they were made.
async fn seats_of(conn: &mut AnyConnection, election: ElectionId) -> Result<Vec<TrusteeRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TRUSTEE_COLUMNS} WHERE election_id = $1 AND replaced_at IS NULL ORDER BY id"
    ))
    .bind(election)
    .fetch_all(conn)
    .await?)
}

/// A ceremony the board holds, with its trustees in order.
struct Running {
    id: u64,
    threshold: u16,
    seats: Vec<CeremonySeat>,
}

impl Running {
    fn identities(&self) -> Vec<PublicKey> {
        self.seats.iter().map(|s| s.seat.identity).collect()
    }
}

/// A full board's verdict (its election key, or what is wrong), kept against the digest of
/// everything the check read.
pub(crate) struct BoardVerdict {
    digest: [u8; 32],
    verdict: (Option<GroupKey>, Option<String>),
}

/// The digest of everything a board's check reads.
fn board_digest(
    election: ElectionId,
    ceremony: u64,
    identities: &[PublicKey],
    threshold: u16,
    messages: &[CeremonyMessage],
) -> Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(&(election, ceremony, identities, threshold, messages))
        .map_err(|e| EngineError::Internal(format!("the ceremony board does not encode: {e}")))?;
    Ok(Sha256::digest(bytes).into())
}

/// The election's ceremony that has not been ended, if any.
async fn running(conn: &mut AnyConnection, election: ElectionId) -> Result<Option<Running>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, threshold FROM ceremonies WHERE election_id = $1 AND ended_at IS NULL",
    )
    .bind(election)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((id, threshold)) = row else {
        return Ok(None);
    };
    let rows: Vec<(i64, TrusteeId, String, PublicKey, ReceivingKey, Signature)> = sqlx::query_as(
        "SELECT cs.position, t.id, t.name, t.identity_key, t.receiving_key, t.receiving_proof
         FROM ceremony_seats cs JOIN trustees t ON t.id = cs.trustee_id
         WHERE cs.ceremony_id = $1 ORDER BY cs.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let seats = rows
        .into_iter()
        .map(
            |(position, trustee, name, identity, receiving, receiving_proof)| {
                Ok(CeremonySeat {
                    position: u16::try_from(position).map_err(|_| {
                        EngineError::Internal(format!("stored position {position}"))
                    })?,
                    trustee,
                    name,
                    seat: Seat {
                        identity,
                        receiving,
                        receiving_proof,
                    },
                })
            },
        )
        .collect::<Result<_>>()?;
    Ok(Some(Running {
        id: stored_u64("ceremony id", id)?,
        threshold: u16::try_from(threshold)
            .map_err(|_| EngineError::Internal(format!("stored threshold {threshold}")))?,
        seats,
    }))
}

fn round_of(stored: i64) -> Result<Round> {
    ROUNDS
        .into_iter()
        .find(|r| *r as i64 == stored)
        .ok_or_else(|| EngineError::Internal(format!("stored round {stored}")))
}

/// Every message posted to a ceremony, in the order posted.
async fn messages_of(
    conn: &mut AnyConnection,
    election: ElectionId,
    ceremony: u64,
) -> Result<Vec<CeremonyMessage>> {
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT round, sender, recipient, payload, signature FROM ceremony_messages
         WHERE ceremony_id = $1 ORDER BY id",
    )
    .bind(db_time(ceremony))
    .fetch_all(conn)
    .await?;
    let index = |v: i64| {
        u16::try_from(v).map_err(|_| EngineError::Internal(format!("stored trustee index {v}")))
    };
    rows.into_iter()
        .map(|row| {
            Ok(CeremonyMessage {
                election,
                ceremony,
                round: round_of(row.round)?,
                from: index(row.sender)?,
                to: row.recipient.map(index).transpose()?,
                payload: row.payload,
                signature: row.signature,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    round: i64,
    sender: i64,
    recipient: Option<i64>,
    payload: Vec<u8>,
    signature: Signature,
}

/// A seat's invitation as stored: the token only as its hash.
#[derive(sqlx::FromRow)]
struct SeatInvitation {
    id: TrusteeId,
    name: String,
    election_id: ElectionId,
    title: String,
    challenge: Vec<u8>,
    expires_at: i64,
    enrolled_at: Option<i64>,
    replaced_at: Option<i64>,
}

impl SeatInvitation {
    /// The invitation if it still works: not used, not replaced, not expired.
    fn usable(self) -> Result<Self> {
        if self.enrolled_at.is_some() {
            return Err(EngineError::Gone(
                "this invitation has been used already".into(),
            ));
        }
        if self.replaced_at.is_some() {
            return Err(EngineError::Gone(
                "this seat was given to someone else by the election office".into(),
            ));
        }
        if self.expires_at <= db_time(now_ms()) {
            return Err(EngineError::Gone(
                "this invitation has expired; ask the election office for a new one".into(),
            ));
        }
        Ok(self)
    }
}

/// The earliest round some trustee has not finished posting, and who.
fn waiting(n: u16, messages: &[CeremonyMessage]) -> Option<Waiting> {
    ROUNDS.into_iter().find_map(|round| {
        let owed = if round == Round::Shares { n - 1 } else { 1 };
        let trustees: Vec<u16> = (0..n)
            .filter(|&from| {
                let sent = messages
                    .iter()
                    .filter(|m| m.round == round && m.from == from)
                    .count();
                sent < usize::from(owed)
            })
            .collect();
        (!trustees.is_empty()).then_some(Waiting { round, trustees })
    })
}

/// Why the board refuses a message, in the engine's terms.
fn refused(err: CeremonyError) -> EngineError {
    match err {
        CeremonyError::Signature { .. } => EngineError::BadSignature(err.to_string()),
        CeremonyError::Foreign { .. } => EngineError::WrongState(format!(
            "{err}: that ceremony was ended; read the board again and start from round 1"
        )),
        _ => EngineError::Invalid(err.to_string()),
    }
}

/// The trustees the genesis block of `election` seals: its running ceremony, complete and
/// sound. Otherwise why opening must wait, naming whom it waits for.
pub(crate) async fn sealed_trustees(
    conn: &mut AnyConnection,
    election: ElectionId,
) -> Result<Trustees> {
    let not_yet = EngineError::WrongState;
    let Some(run) = running(conn, election).await? else {
        return Err(not_yet(
            "the trustees' key ceremony has not started: invite the trustees and start it".into(),
        ));
    };
    let messages = messages_of(conn, election, run.id).await?;
    if let Some(w) = waiting(run.seats.len() as u16, &messages) {
        let names: Vec<&str> = w
            .trustees
            .iter()
            .filter_map(|&p| run.seats.get(usize::from(p)).map(|s| s.name.as_str()))
            .collect();
        return Err(not_yet(format!(
            "the trustees' key ceremony is not complete: {} waits for {}",
            w.round,
            names.join(", ")
        )));
    }
    let identities = run.identities();
    check_ceremony(election, run.id, &identities, run.threshold, &messages).map_err(|e| {
        not_yet(format!(
            "the trustees' key ceremony failed ({e}); restart it"
        ))
    })?;
    Trustees::from_ceremony(election, run.id, run.threshold, &identities, &messages).map_err(|e| {
        not_yet(format!(
            "the trustees' key ceremony failed ({e}); restart it"
        ))
    })
}

/// Ends the running ceremony of `election`, if any.
async fn end_running(conn: &mut AnyConnection, election: ElectionId) -> Result<bool> {
    let ended = sqlx::query(
        "UPDATE ceremonies SET ended_at = $1 WHERE election_id = $2 AND ended_at IS NULL",
    )
    .bind(db_time(now_ms()))
    .bind(election)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(ended > 0)
}

/// Stores a fresh seat with its invitation and returns the invitation, the only time its
/// token exists outside the link.
async fn new_seat(
    conn: &mut AnyConnection,
    election: ElectionId,
    name: &str,
) -> Result<TrusteeInvitation> {
    let now = now_ms();
    let expires_at = now + INVITATION_HOURS * 3_600_000;
    let token = hex::encode(random::<32>());
    let id: TrusteeId = sqlx::query_scalar(
        "INSERT INTO trustees (election_id, name, token_hash, challenge, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(election)
    .bind(name)
    .bind(token_hash(&token))
    .bind(random::<32>().to_vec())
    .bind(db_time(expires_at))
    .bind(db_time(now))
    .fetch_one(conn)
    .await
    .map_err(|e| {
        EngineError::on_unique(e, format!("a trustee named {name:?} has a seat already"))
    })?;
    Ok(TrusteeInvitation {
        trustee: id,
        name: name.to_owned(),
        election,
        path: format!("/trustee/{token}"),
        token,
        expires_at,
    })
}

impl Node {
    /// Invites a trustee to a new seat of an election in set-up. A ceremony under way
    /// ends: it does not include the new seat.
    pub async fn invite_trustee(
        &self,
        election: ElectionId,
        new: &NewTrustee,
    ) -> Result<TrusteeInvitation> {
        let name = clean_text("name", &new.name, 200)?;
        let mut tx = self.inner.write.begin().await?;
        self.require_setup_in(&mut tx, election).await?;
        if seats_of(&mut tx, election).await?.len() >= MAX_TRUSTEES {
            return Err(EngineError::Invalid(format!(
                "an election has at most {MAX_TRUSTEES} trustees"
            )));
        }
        let issued = new_seat(&mut tx, election, &name).await?;
        let ended = end_running(&mut tx, election).await?;
        tx.commit().await?;
        tracing::info!(election = election.0, trustee = %issued.trustee, ended, "trustee invited");
        self.changed(election, wire::Change::Ceremony).await;
        Ok(issued)
    }

    /// Replaces a trustee before sealing (a lost key file, or someone who will not take
    /// part): the seat is withdrawn for good, a new one of the same name is invited, and
    /// the ceremony under way ends.
    pub async fn replace_trustee(
        &self,
        election: ElectionId,
        trustee: TrusteeId,
    ) -> Result<TrusteeInvitation> {
        let mut tx = self.inner.write.begin().await?;
        self.require_setup_in(&mut tx, election).await?;
        let name: Option<String> = sqlx::query_scalar(
            "UPDATE trustees SET replaced_at = $1 WHERE id = $2 AND election_id = $3 AND replaced_at IS NULL
             RETURNING name",
        )
        .bind(db_time(now_ms()))
        .bind(trustee)
        .bind(election)
        .fetch_optional(&mut *tx)
        .await?;
        let name = name.ok_or(EngineError::NotFound("trustee of this election"))?;
        let issued = new_seat(&mut tx, election, &name).await?;
        end_running(&mut tx, election).await?;
        tx.commit().await?;
        tracing::info!(election = election.0, replaced = %trustee, trustee = %issued.trustee, "trustee replaced");
        self.changed(election, wire::Change::Ceremony).await;
        Ok(issued)
    }

    /// What a trustee's invitation asks. Used, replaced or expired: [`EngineError::Gone`].
    pub async fn trustee_invitation(&self, token: &str) -> Result<TrusteeInvitationInfo> {
        let seat = self.seat_invitation(token).await?.usable()?;
        Ok(TrusteeInvitationInfo {
            trustee: seat.id,
            name: seat.name,
            election: seat.election_id,
            title: seat.title,
            challenge: hex::encode(seat.challenge),
            expires_at: stored_u64("expiry", seat.expires_at)?,
        })
    }

    async fn seat_invitation(&self, token: &str) -> Result<SeatInvitation> {
        sqlx::query_as(
            "SELECT t.id, t.name, t.election_id, e.title, t.challenge, t.expires_at, t.enrolled_at, t.replaced_at
             FROM trustees t JOIN elections e ON e.id = t.election_id WHERE t.token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("invitation"))
    }

    /// Enrols a trustee's identity and share-receiving keys through their invitation: the
    /// identity key signed the challenge and bound the receiving key. Nothing changes
    /// unless all of it holds; the invitation then stops working.
    pub async fn enrol_trustee(
        &self,
        token: &str,
        enrolment: &TrusteeEnrolment,
    ) -> Result<TrusteeInfo> {
        let stored = self.seat_invitation(token).await?.usable()?;
        let (id, election) = (stored.id, stored.election_id);
        let challenge = stored.challenge;
        let seat = &enrolment.seat;
        if !possession_is_proven(&seat.identity, &challenge, &enrolment.proof) {
            return Err(EngineError::BadSignature(
                "the proof of possession does not verify: it must be the identity key's signature over this invitation's challenge".into(),
            ));
        }
        if !seat.is_bound() {
            return Err(EngineError::BadSignature(
                "the share-receiving key is not bound: the identity key must sign it".into(),
            ));
        }
        let mut tx = self.inner.write.begin().await?;
        self.require_setup_in(&mut tx, election).await?;
        let now = db_time(now_ms());
        let done = sqlx::query(
            "UPDATE trustees SET identity_key = $1, receiving_key = $2, receiving_proof = $3, enrolled_at = $4
             WHERE id = $5 AND identity_key IS NULL AND replaced_at IS NULL AND expires_at > $6",
        )
        .bind(seat.identity)
        .bind(seat.receiving)
        .bind(seat.receiving_proof)
        .bind(now)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            EngineError::on_unique(
                e,
                "this identity key has a trustee's seat already (a key serves one seat, ever); make a new one",
            )
        })?
        .rows_affected();
        if done != 1 {
            return Err(EngineError::Gone(
                "this invitation has been used already".into(),
            ));
        }
        let row: TrusteeRow = sqlx::query_as(&format!("SELECT {TRUSTEE_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(election = election.0, trustee = %id, "trustee enrolled");
        self.changed(election, wire::Change::Ceremony).await;
        row.info()
    }

    /// Starts the key ceremony with every trustee's seat, all enrolled, in the order they
    /// were made; a ceremony under way ends. Refuses a threshold that is not above half
    /// the trustees or is above all of them (`ledger::secret::check_threshold`); the board
    /// warns when it is n.
    pub async fn start_ceremony(
        &self,
        election: ElectionId,
        threshold: u16,
    ) -> Result<CeremonyBoard> {
        let mut tx = self.inner.write.begin().await?;
        self.require_setup_in(&mut tx, election).await?;
        let seats = seats_of(&mut tx, election).await?;
        if seats.is_empty() {
            return Err(EngineError::WrongState(
                "invite the trustees before starting the key ceremony".into(),
            ));
        }
        let waiting: Vec<&str> = seats
            .iter()
            .filter(|s| s.identity_key.is_none())
            .map(|s| s.name.as_str())
            .collect();
        if !waiting.is_empty() {
            return Err(EngineError::WrongState(format!(
                "waiting for {} to accept their trustee invitation",
                waiting.join(", ")
            )));
        }
        ledger::secret::check_threshold(threshold, seats.len())
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        end_running(&mut tx, election).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ceremonies (election_id, threshold, started_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(election)
        .bind(i64::from(threshold))
        .bind(db_time(now_ms()))
        .fetch_one(&mut *tx)
        .await?;
        for (position, seat) in seats.iter().enumerate() {
            sqlx::query(
                "INSERT INTO ceremony_seats (ceremony_id, position, trustee_id) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(position as i64)
            .bind(seat.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        tracing::info!(
            election = election.0,
            ceremony = id,
            threshold,
            trustees = seats.len(),
            "key ceremony started"
        );
        self.changed(election, wire::Change::Ceremony).await;
        self.ceremony_board(election).await
    }

    /// The bulletin board: every seat, and the ceremony under way (or complete) with its
    /// messages and progress.
    pub async fn ceremony_board(&self, election: ElectionId) -> Result<CeremonyBoard> {
        self.state_of(election).await?;
        let mut conn = self.inner.read.acquire().await?;
        let trustees = seats_of(&mut conn, election)
            .await?
            .into_iter()
            .map(TrusteeRow::info)
            .collect::<Result<_>>()?;
        let ceremony = match running(&mut conn, election).await? {
            None => None,
            Some(run) => {
                let messages = messages_of(&mut conn, election, run.id).await?;
                let n = run.seats.len();
                let waiting = waiting(n as u16, &messages);
                let (election_key, problem) = if waiting.is_some() {
                    (None, None)
                } else {
                    self.board_verdict(election, &run, &messages).await?
                };
                Some(CeremonyInfo {
                    id: run.id,
                    threshold: run.threshold,
                    warning: threshold_warning(run.threshold, n),
                    seats: run.seats,
                    messages,
                    waiting,
                    election_key,
                    problem,
                })
            }
        };
        Ok(CeremonyBoard {
            election,
            trustees,
            ceremony,
        })
    }

    /// The verdict on a full board (every message in): its election key, or what is wrong
    /// with it. Checked once per board: the verdict is kept against a digest of all the
    /// check reads (election, ceremony, seats, threshold, every message), so repeated
    /// reads of an unchanged board cost a hash, and a board changed in any way, by a post,
    /// a restart or an edit of the database, is checked again.
    async fn board_verdict(
        &self,
        election: ElectionId,
        run: &Running,
        messages: &[CeremonyMessage],
    ) -> Result<(Option<GroupKey>, Option<String>)> {
        let (id, threshold, identities) = (run.id, run.threshold, run.identities());
        let digest = board_digest(election, id, &identities, threshold, messages)?;
        if let Some(kept) = self.boards().get(&election).filter(|v| v.digest == digest) {
            return Ok(kept.verdict.clone());
        }
        // Every signature and the key set: off the runtime.
        let board = messages.to_vec();
        let checked = tokio::task::spawn_blocking(move || {
            check_ceremony(election, id, &identities, threshold, &board).map(|set| set.election_key)
        })
        .await
        .map_err(EngineError::join)?;
        self.inner
            .board_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let verdict = match checked {
            Ok(key) => (Some(key), None),
            Err(e) => (None, Some(e.to_string())),
        };
        self.boards().insert(
            election,
            BoardVerdict {
                digest,
                verdict: verdict.clone(),
            },
        );
        Ok(verdict)
    }

    fn boards(&self) -> std::sync::MutexGuard<'_, HashMap<ElectionId, BoardVerdict>> {
        self.inner
            .boards
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many times a full ceremony board has been checked since the node started: a
    /// board read again unchanged is not checked again.
    pub fn board_checks(&self) -> u64 {
        self.inner
            .board_checks
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Posts a trustee's messages to the running ceremony: each of this election and
    /// ceremony, addressed as its round wants, signed by its sender's identity key, and
    /// not posted before. All or nothing.
    pub async fn post_ceremony_messages(
        &self,
        election: ElectionId,
        messages: &[CeremonyMessage],
    ) -> Result<CeremonyBoard> {
        if messages.is_empty() || messages.len() > MAX_TRUSTEES {
            return Err(EngineError::Invalid(format!(
                "send from 1 to {MAX_TRUSTEES} messages at a time"
            )));
        }
        let mut tx = self.inner.write.begin().await?;
        self.require_setup_in(&mut tx, election).await?;
        let run = running(&mut tx, election)
            .await?
            .ok_or_else(|| EngineError::WrongState("no key ceremony is running".into()))?;
        let identities = run.identities();
        let now = db_time(now_ms());
        for m in messages {
            check_message(election, run.id, &identities, m).map_err(refused)?;
            sqlx::query(
                "INSERT INTO ceremony_messages (ceremony_id, round, sender, recipient, payload, signature, posted_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(db_time(run.id))
            .bind(m.round as i64)
            .bind(i64::from(m.from))
            .bind(m.to.map(i64::from))
            .bind(&m.payload)
            .bind(m.signature)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                EngineError::on_unique(
                    e,
                    format!("trustee {} has posted {} already", m.from, m.round),
                )
            })?;
        }
        tx.commit().await?;
        tracing::info!(
            election = election.0,
            ceremony = run.id,
            posted = messages.len(),
            "ceremony messages posted"
        );
        self.changed(election, wire::Change::Ceremony).await;
        self.ceremony_board(election).await
    }

    /// Refuses unless the election is in set-up, read inside the caller's transaction.
    async fn require_setup_in(&self, conn: &mut AnyConnection, election: ElectionId) -> Result<()> {
        let state: Option<ElectionState> =
            sqlx::query_scalar("SELECT state FROM elections WHERE id = $1")
                .bind(election)
                .fetch_optional(conn)
                .await?;
        match state {
            None => Err(EngineError::NotFound("election")),
            Some(ElectionState::Setup) => Ok(()),
            Some(_) => Err(EngineError::WrongState(
                "the election is sealed: its trustees and their ceremony can no longer change"
                    .into(),
            )),
        }
    }
}
