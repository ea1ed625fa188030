//! The voter's ballot, in its own worker: the choice is sealed here (encrypted under the
//! election key, once the worker has checked that key is the one the sealed trustees' keys
//! combine to, each confirmation signed, with the proofs that it is exactly one
//! candidate), then either cast (the key made from the voting code signs the vote and is
//! gone) or audited (cast-or-audit: the choice and the seed of every random value are
//! revealed, and the sealed ballot is never cast). The worker learns which only after
//! sealing. The page gets the sealed ballot's hash, then the signed vote or the audit,
//! never the key; the server never sees the choice of a ballot cast this way.

use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use ledger::audit::BallotAudit;
use ledger::{CandidateId, ElectionId, SealedTrustees, TxId, Vote, VotingCode};
use serde::{Deserialize, Serialize};

/// What the ballot page asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum BallotRequest {
    /// Seals the choice with a fresh seed and keeps it here until it is cast or audited.
    Seal {
        election: ElectionId,
        /// The genesis block's format version and trustees, with the election key.
        sealed: SealedTrustees,
        /// The ballot, in the genesis block's order.
        candidates: Vec<CandidateId>,
        /// The choice: one of `candidates`.
        candidate: CandidateId,
    },
    /// Signs the sealed ballot with the key the code (as the voter typed it) gives, then
    /// forgets both.
    Cast { code: String, timestamp: u64 },
    /// Reveals the sealed ballot for audit and forgets it: it is never cast.
    Audit,
    /// Checks an audit someone revealed, against the sealed trustees' election key.
    Check {
        sealed: SealedTrustees,
        audit: BallotAudit,
    },
}

/// What the ballot worker answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum BallotAnswer {
    /// The ballot is sealed: its bytes' hash (a cast vote's receipt shows the same), and
    /// the milliseconds encrypting and proving took here.
    Sealed {
        hash: TxId,
        millis: f64,
    },
    Signed(Vote),
    Audited(BallotAudit),
    /// An audit's verdict: `Ok` when the ballot is the encryption of its claimed choice.
    Checked(Result<(), String>),
    /// No ballot is sealed (cast or audited already).
    NotSealed,
    /// The code is not a voting code (mistyped); the sealed ballot stays.
    MalformedCode,
    /// The choice is not on the ballot.
    NoCandidate,
    /// The election key served is not the trustees' (a confirmation that does not sign the
    /// whole sealed set, a threshold not above half, a genesis of another format version):
    /// whoever made it could read the ballot, so nothing is encrypted.
    UntrustedKey(String),
}

/// The ballot worker, with the ballot it sealed.
#[derive(Default)]
pub struct BallotWorker {
    sealed: Option<BallotAudit>,
}

impl Job for BallotWorker {
    type Request = BallotRequest;
    type Answer = BallotAnswer;
    type Codec = crate::Json;
    const BUNDLE: &'static str = "ballot";
}

impl BallotWorker {
    /// Answers one request.
    pub fn answer(&mut self, request: BallotRequest) -> BallotAnswer {
        match request {
            BallotRequest::Seal {
                election,
                sealed,
                candidates,
                candidate,
            } => {
                self.sealed = None;
                if let Err(e) = sealed.check(election) {
                    return BallotAnswer::UntrustedKey(e.to_string());
                }
                let trustees = sealed.trustees;
                let Some(choice) = candidates.iter().position(|c| *c == candidate) else {
                    return BallotAnswer::NoCandidate;
                };
                let started = crate::now_ms();
                let mut seed = [0u8; 32];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
                let ballot = match ledger::audit::encrypt_seeded(
                    &trustees.election_key,
                    candidates.len(),
                    choice,
                    seed,
                ) {
                    Ok(ballot) => ballot,
                    Err(e) => return BallotAnswer::UntrustedKey(e.to_string()),
                };
                let ballot = match ballot.encode() {
                    Ok(bytes) => bytes,
                    Err(e) => return BallotAnswer::UntrustedKey(e.to_string()),
                };
                let sealed = BallotAudit {
                    election,
                    candidates,
                    choice: candidate,
                    seed,
                    ballot,
                };
                let hash = sealed.ballot_hash();
                self.sealed = Some(sealed);
                BallotAnswer::Sealed {
                    hash,
                    millis: crate::now_ms() - started,
                }
            }
            BallotRequest::Cast { code, timestamp } => {
                let Ok(code) = VotingCode::parse(&code) else {
                    return BallotAnswer::MalformedCode;
                };
                let Some(sealed) = self.sealed.take() else {
                    return BallotAnswer::NotSealed;
                };
                BallotAnswer::Signed(Vote::sign(
                    &code.signing_key(sealed.election),
                    sealed.election,
                    sealed.ballot,
                    timestamp,
                ))
            }
            BallotRequest::Audit => match self.sealed.take() {
                Some(sealed) => BallotAnswer::Audited(sealed),
                None => BallotAnswer::NotSealed,
            },
            BallotRequest::Check { sealed, audit } => BallotAnswer::Checked(
                sealed
                    .check(audit.election)
                    .map_err(|e| format!("the election key is not the trustees': {e}"))
                    .and_then(|()| {
                        audit
                            .check(&sealed.trustees.election_key)
                            .map_err(|e| e.to_string())
                    }),
            ),
        }
    }
}

impl Worker for BallotWorker {
    type Message = ();
    type Input = (u32, BallotRequest);
    type Output = (u32, BallotAnswer);

    fn create(_: &WorkerScope<Self>) -> Self {
        Self::default()
    }

    fn update(&mut self, _: &WorkerScope<Self>, _: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (id, request): Self::Input, who: HandlerId) {
        let answer = self.answer(request);
        scope.respond(who, (id, answer));
    }
}

/// Why the ballot worker sealed, signed or revealed nothing: what the ballot page matches
/// on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BallotError {
    /// No ballot is sealed (cast or audited already).
    #[error("no ballot is sealed here: it was cast or audited already")]
    NotSealed,
    /// The code is not a voting code (mistyped); the sealed ballot stays.
    #[error("this is not a voting code")]
    MalformedCode,
    /// The choice is not on the ballot.
    #[error("the choice is not on the ballot")]
    NoCandidate,
    /// The election key served is not the trustees': nothing was encrypted.
    #[error("the election key cannot be trusted: {0}")]
    UntrustedKey(String),
    /// An audit that does not hold: the ballot is not the encryption of its choice, or
    /// not under the trustees' key.
    #[error("{0}")]
    Audit(String),
    /// The worker is gone, or answered out of turn (an older copy of its bundle).
    #[error("{0}")]
    Worker(String),
}

/// Asks the ballot worker (spawned on first use); its refusals are errors.
async fn call(request: BallotRequest) -> Result<BallotAnswer, BallotError> {
    match crate::ask::<BallotWorker>(request)
        .await
        .map_err(BallotError::Worker)?
    {
        BallotAnswer::NotSealed => Err(BallotError::NotSealed),
        BallotAnswer::MalformedCode => Err(BallotError::MalformedCode),
        BallotAnswer::NoCandidate => Err(BallotError::NoCandidate),
        BallotAnswer::UntrustedKey(why) => Err(BallotError::UntrustedKey(why)),
        BallotAnswer::Checked(Err(why)) => Err(BallotError::Audit(why)),
        answer => Ok(answer),
    }
}

fn out_of_turn() -> BallotError {
    BallotError::Worker(
        "the ballot worker answered another request (an older copy of it?): reload the page".into(),
    )
}

/// Seals the choice `candidate` ([`BallotRequest::Seal`]): the sealed ballot's hash and
/// the milliseconds encrypting and proving took.
pub async fn seal(
    election: ElectionId,
    sealed: SealedTrustees,
    candidates: Vec<CandidateId>,
    candidate: CandidateId,
) -> Result<(TxId, f64), BallotError> {
    match call(BallotRequest::Seal {
        election,
        sealed,
        candidates,
        candidate,
    })
    .await?
    {
        BallotAnswer::Sealed { hash, millis } => Ok((hash, millis)),
        _ => Err(out_of_turn()),
    }
}

/// Signs the sealed ballot with the key the code gives, then forgets both.
pub async fn cast(code: String, timestamp: u64) -> Result<Vote, BallotError> {
    match call(BallotRequest::Cast { code, timestamp }).await? {
        BallotAnswer::Signed(vote) => Ok(vote),
        _ => Err(out_of_turn()),
    }
}

/// Reveals the sealed ballot for audit and forgets it: it is never cast.
pub async fn audit() -> Result<BallotAudit, BallotError> {
    match call(BallotRequest::Audit).await? {
        BallotAnswer::Audited(audit) => Ok(audit),
        _ => Err(out_of_turn()),
    }
}

/// Checks an audit someone revealed against the sealed trustees' election key.
pub async fn check(sealed: SealedTrustees, audit: BallotAudit) -> Result<(), BallotError> {
    match call(BallotRequest::Check { sealed, audit }).await? {
        BallotAnswer::Checked(Ok(())) => Ok(()),
        _ => Err(out_of_turn()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One trustee's ceremony in election 7, as its genesis block seals it.
    fn sealed() -> (ledger::Trustees, Vec<ledger::ceremony::Trustee>) {
        let identity = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let (board, sides) = ledger::ceremony::run_all(
            ElectionId(7),
            1,
            std::slice::from_ref(&identity),
            1,
            &mut rand_core::OsRng,
        )
        .unwrap();
        let public = ledger::PublicKey(identity.verifying_key().to_bytes());
        (
            ledger::Trustees::from_ceremony(ElectionId(7), 1, 1, &[public], &board).unwrap(),
            sides,
        )
    }

    #[test]
    fn a_sealed_ballot_is_cast_or_audited_never_both_and_a_foreign_key_seals_nothing() {
        use ledger::secret::{find_counts, DecryptionShare, EncryptedSums};
        let (trustees, sides) = sealed();
        let code = VotingCode::from_entropy([4; ledger::code::CODE_BYTES]);
        let candidates = vec![CandidateId(1), CandidateId(2), CandidateId(5)];
        let in_genesis = |trustees: &ledger::Trustees, version| SealedTrustees {
            version,
            trustees: trustees.clone(),
        };
        let seal = |trustees: &ledger::Trustees, election, candidate| BallotRequest::Seal {
            election,
            sealed: in_genesis(trustees, ledger::GENESIS_VERSION),
            candidates: candidates.clone(),
            candidate,
        };
        let cast = |code: &str| BallotRequest::Cast {
            code: code.to_owned(),
            timestamp: 5,
        };
        let mut w = BallotWorker::default();
        assert!(matches!(
            w.answer(cast(&code.to_string())),
            BallotAnswer::NotSealed
        ));
        let BallotAnswer::Sealed { hash, .. } =
            w.answer(seal(&trustees, ElectionId(7), CandidateId(2)))
        else {
            panic!("the choice is sealed")
        };
        // A typo in the code keeps the sealed ballot.
        assert!(matches!(
            w.answer(cast("not a code")),
            BallotAnswer::MalformedCode
        ));
        let BallotAnswer::Signed(vote) = w.answer(cast(&code.to_string())) else {
            panic!("the code signs")
        };
        assert!(vote.signature_is_valid());
        assert_eq!(vote.voter, code.public_key(ElectionId(7)));
        assert_eq!(ledger::TxId(ledger::hash::sha256(&vote.ballot)), hash);
        // Cast: it cannot be audited any more.
        assert!(matches!(
            w.answer(BallotRequest::Audit),
            BallotAnswer::NotSealed
        ));
        // The ballot proves one candidate, and only the trustee's share reads it.
        let ballot = vote.read_ballot().unwrap();
        ballot.verify(&trustees.election_key, 3).unwrap();
        let mut sums = EncryptedSums::new(3);
        sums.add(&ballot).unwrap();
        let share =
            DecryptionShare::make(sides[0].key_share().unwrap(), &sums, &mut rand_core::OsRng)
                .unwrap();
        assert_eq!(
            find_counts(&trustees.keys(), &sums, &[share], 1).unwrap(),
            [0, 1, 0]
        );

        // Audited: the choice and seed re-make the bytes, and it can no longer be cast.
        let BallotAnswer::Sealed { hash, .. } =
            w.answer(seal(&trustees, ElectionId(7), CandidateId(5)))
        else {
            panic!("sealed again")
        };
        let BallotAnswer::Audited(audit) = w.answer(BallotRequest::Audit) else {
            panic!("audited")
        };
        assert_eq!((audit.choice, audit.ballot_hash()), (CandidateId(5), hash));
        assert!(matches!(
            w.answer(cast(&code.to_string())),
            BallotAnswer::NotSealed
        ));
        let check =
            |w: &mut BallotWorker, audit: &BallotAudit| match w.answer(BallotRequest::Check {
                sealed: in_genesis(&trustees, ledger::GENESIS_VERSION),
                audit: audit.clone(),
            }) {
                BallotAnswer::Checked(verdict) => verdict,
                other => panic!("{other:?}"),
            };
        assert_eq!(check(&mut w, &audit), Ok(()));
        let lying = BallotAudit {
            choice: CandidateId(1),
            ..audit
        };
        assert!(check(&mut w, &lying)
            .unwrap_err()
            .contains("NOT the encryption"));

        // An election key the trustees did not make (an operator's own) seals nothing.
        let mut foreign = trustees.clone();
        foreign.election_key = trustees.trustees[0].verification_key;
        if foreign.election_key != trustees.election_key {
            assert!(matches!(
                w.answer(seal(&foreign, ElectionId(7), CandidateId(2))),
                BallotAnswer::UntrustedKey(_)
            ));
        }
        assert!(matches!(
            w.answer(seal(&trustees, ElectionId(8), CandidateId(2))),
            BallotAnswer::UntrustedKey(_)
        ));
        // A genesis block of version 3 (whose confirmations signed only their own keys)
        // seals nothing and checks no audit, however sound its trustees look.
        let BallotAnswer::UntrustedKey(why) = w.answer(BallotRequest::Seal {
            election: ElectionId(7),
            sealed: in_genesis(&trustees, 3),
            candidates: candidates.clone(),
            candidate: CandidateId(2),
        }) else {
            panic!("a version-3 genesis seals nothing")
        };
        assert!(why.contains("version 3"), "{why}");
        let BallotAnswer::Checked(Err(why)) = w.answer(BallotRequest::Check {
            sealed: in_genesis(&trustees, 3),
            audit: BallotAudit {
                choice: CandidateId(5),
                ..lying.clone()
            },
        }) else {
            panic!("a version-3 genesis checks no audit")
        };
        assert!(why.contains("version 3"), "{why}");
        assert!(matches!(
            w.answer(seal(&trustees, ElectionId(7), CandidateId(3))),
            BallotAnswer::NoCandidate
        ));
        assert!(matches!(
            w.answer(cast(&code.to_string())),
            BallotAnswer::NotSealed
        ));
    }
}
