//! Key files, the validator's signatures and the trustee's side of the key ceremony, in
//! their own worker: the key is made or opened here, stays unlocked here while the page
//! lives, and only its public half, its (encrypted) key file and the signed messages it
//! makes go back to the page. A trustee's side of the ceremony is kept sealed in the key
//! file, under the same passphrase, between turns.

use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use keyfile::KeyFile;
use ledger::ceremony::{CeremonyMessage, KeptSide, Seat};
use ledger::{Approval, BlockHash, ElectionId, PublicKey, Rejection, Signature};
use serde::{Deserialize, Serialize};

/// What the page asks of its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum KeyRequest {
    /// Makes a new key, sealed in a key file under this passphrase, and keeps it unlocked.
    Generate { label: String, passphrase: String },
    /// Opens this key file (its JSON text) with its passphrase and keeps the key unlocked.
    Open { file: String, passphrase: String },
    /// Reads a key file's public half without opening it.
    Inspect { file: String },
    /// Forgets the unlocked key.
    Lock,
    /// Signs an enrolment challenge: proof that the holder of the key sent it.
    Prove { challenge: Vec<u8> },
    /// Approves a block.
    Approve { block: BlockHash },
    /// Rejects a block, with a reason.
    Reject { block: BlockHash, reason: String },
    /// A trustee's enrolment: the seat (identity key and the share-receiving key it
    /// binds) with a proof of possession over the invitation's challenge.
    Enrol { challenge: Vec<u8> },
    /// A trustee's turn on a ceremony's board (its seats in trustee order): the side kept
    /// in the key file is taken up or started, and what this trustee can send now is
    /// made and sealed into the key file before the page posts it.
    Turn {
        election: ElectionId,
        ceremony: u64,
        seats: Vec<Seat>,
        threshold: u16,
        board: Vec<CeremonyMessage>,
    },
    /// The board has the turn's messages: they leave the key file's outbox.
    Posted,
    /// The election key this trustee's own key share gives (its side of the ceremony
    /// finished): what the trustee compares with what the board says.
    ElectionKey,
    /// Checks that the genesis block's sealed trustees are this trustee's own set: the
    /// genesis format and rules, this trustee's key at its seat, and exactly the seats,
    /// threshold and keys its ceremony made (`KeptSide::check_sealed`). Answers the
    /// election key, or why not (an alarm for the trustee to raise).
    CheckSealed {
        election: ElectionId,
        sealed: ledger::SealedTrustees,
    },
    /// A trustee's signed decryption share of the sums of `election` up to the final head
    /// `head`, as this browser's own verified copy of the chain has them; the sealed
    /// trustees are the copy's genesis block's. The head and sums are sealed into the key
    /// file first: the trustee decrypts one count only.
    Share {
        election: ElectionId,
        trustees: ledger::genesis::Trustees,
        head: BlockHash,
        sums: ledger::secret::EncryptedSums,
    },
}

/// What the key worker answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum KeyAnswer {
    /// The key is unlocked here: its key file (the JSON text to download or remember) and
    /// public half.
    Unlocked { file: String, public: PublicKey },
    /// A key file's public half.
    Inspected { public: PublicKey },
    /// No key is unlocked any more.
    Locked,
    /// A proof of possession.
    Proof(Signature),
    /// A signed approval.
    Approval(Approval),
    /// A signed rejection.
    Rejection(Rejection),
    /// A trustee's enrolment.
    Enrolment(wire::TrusteeEnrolment),
    /// A decryption share, with the key file that records it.
    Share {
        share: ledger::result::SignedShare,
        file: String,
    },
    /// The election key this trustee's key share gives.
    ElectionKey(ledger::GroupKey),
    /// A turn taken: the messages to post, the key file with the side sealed in it, and
    /// whether this turn joined the ceremony.
    Turn {
        posts: Vec<CeremonyMessage>,
        file: String,
        joined: bool,
    },
}

/// Why the key worker did not do what the page asked: what the pages match on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum KeyError {
    /// No key is unlocked in the worker.
    #[error("unlock your key first")]
    Locked,
    /// The passphrase does not open the key file (or the file was altered: the two look
    /// the same).
    #[error("wrong passphrase, or the key file was altered")]
    WrongPassphrase,
    /// A passphrase too short to seal a key under.
    #[error("{0}")]
    WeakPassphrase(String),
    /// Not a key file, or what it keeps does not read.
    #[error("{0}")]
    NotAKeyFile(String),
    /// The key file keeps no key ceremony.
    #[error("this key file keeps no key ceremony: it holds no key share")]
    NoCeremony,
    /// This trustee's side of the ceremony is not finished.
    #[error("your side of the key ceremony is not finished: it holds no key share yet")]
    Unfinished,
    /// The ceremony's board or seats refused (a message, a key, a threshold).
    #[error("ceremony {ceremony}: {reason}")]
    Ceremony { ceremony: u64, reason: String },
    /// The genesis block's sealed trustees are not this trustee's own set: an alarm.
    #[error("{0}")]
    Sealed(String),
    /// No decryption share of these sums from this key file.
    #[error("{0}")]
    Share(String),
    /// The key file could not be saved with its new state: nothing changed.
    #[error("{0}")]
    Unsaved(String),
    /// The worker is gone, or answered out of turn (an older copy of its bundle).
    #[error("{0}")]
    Worker(String),
}

impl From<keyfile::KeyFileError> for KeyError {
    fn from(e: keyfile::KeyFileError) -> Self {
        use keyfile::KeyFileError as F;
        match e {
            F::WrongPassphrase => Self::WrongPassphrase,
            F::WeakPassphrase => Self::WeakPassphrase(e.to_string()),
            F::Format(_) => Self::NotAKeyFile(e.to_string()),
            F::Randomness(_) | F::Unsaved(_) => Self::Unsaved(e.to_string()),
        }
    }
}

/// The key worker.
pub struct KeyWorker {
    key: Option<ed25519_dalek::SigningKey>,
    /// The key file and its passphrase while the key is unlocked, to seal a trustee's
    /// side into it after each turn, and that side.
    sealing: Option<Sealing>,
}

struct Sealing {
    file: KeyFile,
    passphrase: zeroize::Zeroizing<String>,
    kept: Option<KeptSide>,
}

impl Job for KeyWorker {
    type Request = KeyRequest;
    type Answer = Result<KeyAnswer, KeyError>;
    type Codec = crate::Json;
    const BUNDLE: &'static str = "keys";
}

impl KeyWorker {
    /// Keeps this key unlocked, with its file, passphrase and kept side to seal into.
    fn unlock(
        &mut self,
        file: KeyFile,
        key: ed25519_dalek::SigningKey,
        passphrase: String,
        kept: Option<KeptSide>,
    ) -> Result<KeyAnswer, KeyError> {
        let answer = KeyAnswer::Unlocked {
            file: file.to_json()?,
            public: file.public_key,
        };
        self.key = Some(key);
        self.sealing = Some(Sealing {
            file,
            passphrase: passphrase.into(),
            kept,
        });
        Ok(answer)
    }

    fn answer(&mut self, request: KeyRequest) -> Result<KeyAnswer, KeyError> {
        let unlocked =
            |key: &Option<ed25519_dalek::SigningKey>| key.clone().ok_or(KeyError::Locked);
        Ok(match request {
            KeyRequest::Generate { label, passphrase } => {
                let (file, key) = KeyFile::generate(&label, &passphrase)?;
                self.unlock(file, key, passphrase, None)?
            }
            KeyRequest::Open { file, passphrase } => {
                let file = KeyFile::from_json(&file)?;
                let (key, state) = file.open_with_state(&passphrase)?;
                let kept = state
                    .map(|s| KeptSide::from_bytes(&s))
                    .transpose()
                    .map_err(KeyError::NotAKeyFile)?;
                self.unlock(file, key, passphrase, kept)?
            }
            KeyRequest::Inspect { file } => KeyAnswer::Inspected {
                public: KeyFile::from_json(&file)?.public_key,
            },
            KeyRequest::Lock => {
                self.key = None;
                self.sealing = None;
                KeyAnswer::Locked
            }
            KeyRequest::Prove { challenge } => {
                KeyAnswer::Proof(ledger::prove_possession(&unlocked(&self.key)?, &challenge))
            }
            KeyRequest::Approve { block } => {
                KeyAnswer::Approval(Approval::sign(&unlocked(&self.key)?, block))
            }
            KeyRequest::Reject { block, reason } => {
                KeyAnswer::Rejection(Rejection::sign(&unlocked(&self.key)?, block, &reason))
            }
            KeyRequest::Enrol { challenge } => {
                let key = unlocked(&self.key)?;
                KeyAnswer::Enrolment(wire::TrusteeEnrolment {
                    seat: Seat::of(&key),
                    proof: ledger::prove_possession(&key, &challenge),
                })
            }
            KeyRequest::Turn {
                election,
                ceremony,
                seats,
                threshold,
                board,
            } => {
                let key = unlocked(&self.key)?;
                let sealing = self.sealing.as_mut().ok_or(KeyError::Locked)?;
                let turn = KeptSide::turn(
                    sealing.kept.clone(),
                    &key,
                    election,
                    ceremony,
                    &seats,
                    threshold,
                    &board,
                )
                .map_err(|e| KeyError::Ceremony {
                    ceremony,
                    reason: e.to_string(),
                })?;
                let posts = turn.kept.outbox.clone();
                let file = sealing.seal(turn.kept)?;
                KeyAnswer::Turn {
                    posts,
                    file,
                    joined: turn.joined,
                }
            }
            KeyRequest::Share {
                election,
                trustees,
                head,
                sums,
            } => {
                let key = unlocked(&self.key)?;
                let sealing = self.sealing.as_mut().ok_or(KeyError::Locked)?;
                let mut kept = sealing.kept.clone().ok_or(KeyError::NoCeremony)?;
                let share = kept
                    .decrypt_share(
                        &key,
                        election,
                        &trustees,
                        &head,
                        &sums,
                        &mut rand_core::OsRng,
                    )
                    .map_err(|e| KeyError::Share(e.to_string()))?;
                let file = sealing.seal(kept)?;
                KeyAnswer::Share { share, file }
            }
            KeyRequest::ElectionKey => {
                let sealing = self.sealing.as_ref().ok_or(KeyError::Locked)?;
                let key = sealing
                    .kept
                    .as_ref()
                    .and_then(|k| k.trustee.election_key())
                    .ok_or(KeyError::Unfinished)?;
                KeyAnswer::ElectionKey(key)
            }
            KeyRequest::CheckSealed { election, sealed } => {
                let key = unlocked(&self.key)?;
                let sealing = self.sealing.as_ref().ok_or(KeyError::Locked)?;
                let kept = sealing.kept.as_ref().ok_or_else(|| {
                    KeyError::Sealed(
                        "this key file keeps no key ceremony, yet the genesis block is to seal this trustee"
                            .into(),
                    )
                })?;
                // The format version here; the trustees' rules inside `check_sealed`.
                ledger::check_version(sealed.version).map_err(|e| {
                    KeyError::Sealed(format!(
                        "the genesis block's sealed trustees break a rule: {e}"
                    ))
                })?;
                let me = PublicKey(key.verifying_key().to_bytes());
                kept.check_sealed(&me, election, &sealed.trustees)
                    .map_err(|e| KeyError::Sealed(e.to_string()))?;
                KeyAnswer::ElectionKey(sealed.trustees.election_key)
            }
            KeyRequest::Posted => {
                let sealing = self.sealing.as_mut().ok_or(KeyError::Locked)?;
                let mut kept = sealing.kept.clone().ok_or(KeyError::NoCeremony)?;
                kept.outbox.clear();
                let file = sealing.seal(kept)?;
                KeyAnswer::Unlocked {
                    file,
                    public: sealing.file.public_key,
                }
            }
        })
    }
}

impl Sealing {
    /// Seals `kept` into the key file (its JSON text, returned once it reads back and
    /// opens with the passphrase to exactly this state) and keeps both; on any failure
    /// the file and side kept here stay as they were.
    fn seal(&mut self, kept: KeptSide) -> Result<String, KeyError> {
        let state = kept
            .to_bytes()
            .map_err(|e| KeyError::Unsaved(e.to_string()))?;
        let json = self.file.sealed_json(&self.passphrase, &state)?;
        self.file = KeyFile::from_json(&json)?;
        self.kept = Some(kept);
        Ok(json)
    }
}

impl Worker for KeyWorker {
    type Message = ();
    type Input = (u32, KeyRequest);
    type Output = (u32, Result<KeyAnswer, KeyError>);

    fn create(_: &WorkerScope<Self>) -> Self {
        Self {
            key: None,
            sealing: None,
        }
    }

    fn update(&mut self, _: &WorkerScope<Self>, _: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (id, request): Self::Input, who: HandlerId) {
        let answer = self.answer(request);
        scope.respond(who, (id, answer));
    }
}

/// A key unlocked in the key worker: its key file (the JSON text to download or remember)
/// and public half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlocked {
    pub file: String,
    pub public: PublicKey,
}

/// A trustee's turn taken in the key worker: the messages to post, the key file with the
/// side sealed in it, and whether this turn joined the ceremony.
#[derive(Debug, Clone)]
pub struct TurnTaken {
    pub posts: Vec<CeremonyMessage>,
    pub file: String,
    pub joined: bool,
}

/// A decryption share made in the key worker, with the key file that records it.
#[derive(Debug, Clone)]
pub struct Shared {
    pub share: ledger::result::SignedShare,
    pub file: String,
}

/// Asks the key worker (spawned on first use).
async fn call(request: KeyRequest) -> Result<KeyAnswer, KeyError> {
    crate::ask::<KeyWorker>(request)
        .await
        .map_err(KeyError::Worker)?
}

/// An answer of another kind than the request's: an older copy of the worker's bundle.
fn out_of_turn() -> KeyError {
    KeyError::Worker(
        "the key worker answered another request (an older copy of it?): reload the page".into(),
    )
}

/// The answer of `request`, of the one kind it has.
macro_rules! answered {
    ($request:expr, $kind:pat => $value:expr) => {
        match call($request).await? {
            $kind => Ok($value),
            _ => Err(out_of_turn()),
        }
    };
}

/// Makes a new key, sealed in a key file under `passphrase`, and keeps it unlocked.
pub async fn generate(label: String, passphrase: String) -> Result<Unlocked, KeyError> {
    answered!(KeyRequest::Generate { label, passphrase },
        KeyAnswer::Unlocked { file, public } => Unlocked { file, public })
}

/// Opens a key file (its JSON text) with its passphrase and keeps the key unlocked.
pub async fn open(file: String, passphrase: String) -> Result<Unlocked, KeyError> {
    answered!(KeyRequest::Open { file, passphrase },
        KeyAnswer::Unlocked { file, public } => Unlocked { file, public })
}

/// A key file's public half, without opening it.
pub async fn inspect(file: String) -> Result<PublicKey, KeyError> {
    answered!(KeyRequest::Inspect { file }, KeyAnswer::Inspected { public } => public)
}

/// Forgets the unlocked key.
pub async fn lock() -> Result<(), KeyError> {
    answered!(KeyRequest::Lock, KeyAnswer::Locked => ())
}

/// The unlocked key's proof of possession over an enrolment challenge.
pub async fn prove(challenge: Vec<u8>) -> Result<Signature, KeyError> {
    answered!(KeyRequest::Prove { challenge }, KeyAnswer::Proof(proof) => proof)
}

/// The unlocked key's approval of a block.
pub async fn approve(block: BlockHash) -> Result<Approval, KeyError> {
    answered!(KeyRequest::Approve { block }, KeyAnswer::Approval(approval) => approval)
}

/// The unlocked key's rejection of a block, with its reason.
pub async fn reject(block: BlockHash, reason: String) -> Result<Rejection, KeyError> {
    answered!(KeyRequest::Reject { block, reason }, KeyAnswer::Rejection(rejection) => rejection)
}

/// A trustee's enrolment with the unlocked key, over the invitation's challenge.
pub async fn enrol(challenge: Vec<u8>) -> Result<wire::TrusteeEnrolment, KeyError> {
    answered!(KeyRequest::Enrol { challenge }, KeyAnswer::Enrolment(enrolment) => enrolment)
}

/// A trustee's turn on a ceremony's board ([`KeyRequest::Turn`]).
pub async fn turn(
    election: ElectionId,
    ceremony: u64,
    seats: Vec<Seat>,
    threshold: u16,
    board: Vec<CeremonyMessage>,
) -> Result<TurnTaken, KeyError> {
    answered!(KeyRequest::Turn { election, ceremony, seats, threshold, board },
        KeyAnswer::Turn { posts, file, joined } => TurnTaken { posts, file, joined })
}

/// The board has the turn's messages: they leave the key file's outbox. The key file
/// after.
pub async fn posted() -> Result<Unlocked, KeyError> {
    answered!(KeyRequest::Posted, KeyAnswer::Unlocked { file, public } => Unlocked { file, public })
}

/// The election key this trustee's own key share gives.
pub async fn election_key() -> Result<ledger::GroupKey, KeyError> {
    answered!(KeyRequest::ElectionKey, KeyAnswer::ElectionKey(key) => key)
}

/// Checks that the genesis block's sealed trustees are this trustee's own set
/// ([`KeyRequest::CheckSealed`]): the election key, or the alarm.
pub async fn check_sealed(
    election: ElectionId,
    sealed: ledger::SealedTrustees,
) -> Result<ledger::GroupKey, KeyError> {
    answered!(KeyRequest::CheckSealed { election, sealed }, KeyAnswer::ElectionKey(key) => key)
}

/// A trustee's signed decryption share ([`KeyRequest::Share`]).
pub async fn share(
    election: ElectionId,
    trustees: ledger::genesis::Trustees,
    head: BlockHash,
    sums: ledger::secret::EncryptedSums,
) -> Result<Shared, KeyError> {
    answered!(KeyRequest::Share { election, trustees, head, sums },
        KeyAnswer::Share { share, file } => Shared { share, file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_signs_only_once_unlocked_and_only_until_locked() {
        let mut w = KeyWorker {
            key: None,
            sealing: None,
        };
        let block = BlockHash([3; 32]);
        assert!(matches!(
            w.answer(KeyRequest::Approve { block }),
            Err(KeyError::Locked)
        ));
        let Ok(KeyAnswer::Unlocked { file, public }) = w.answer(KeyRequest::Generate {
            label: "v".into(),
            passphrase: "a long enough passphrase".into(),
        }) else {
            panic!("a key is made")
        };
        let Ok(KeyAnswer::Approval(a)) = w.answer(KeyRequest::Approve { block }) else {
            panic!("an approval is signed")
        };
        assert!(a.signature_is_valid() && a.validator == public && a.block == block);
        assert!(matches!(w.answer(KeyRequest::Lock), Ok(KeyAnswer::Locked)));
        assert!(w
            .answer(KeyRequest::Reject {
                block,
                reason: "x".into()
            })
            .is_err());
        // The file opens again with its passphrase only, to the same key.
        let wrong = w.answer(KeyRequest::Open {
            file: file.clone(),
            passphrase: "not the passphrase".into(),
        });
        assert_eq!(wrong.unwrap_err(), KeyError::WrongPassphrase);
        assert!(w.answer(KeyRequest::Prove { challenge: vec![1] }).is_err());
        let Ok(KeyAnswer::Unlocked { public: again, .. }) = w.answer(KeyRequest::Open {
            file: file.clone(),
            passphrase: "a long enough passphrase".into(),
        }) else {
            panic!("the file opens")
        };
        assert_eq!(again, public);
        assert!(matches!(
            w.answer(KeyRequest::Inspect { file }),
            Ok(KeyAnswer::Inspected { public: p }) if p == public
        ));
        assert!(w.answer(KeyRequest::Inspect { file: "{}".into() }).is_err());
    }
}

#[cfg(test)]
mod trustee_tests {
    use super::*;

    const PHRASE: &str = "a long enough passphrase";

    fn open(w: &mut KeyWorker, file: &str) {
        let answer = w.answer(KeyRequest::Open {
            file: file.to_owned(),
            passphrase: PHRASE.into(),
        });
        assert!(
            matches!(answer, Ok(KeyAnswer::Unlocked { .. })),
            "{answer:?}"
        );
    }

    #[test]
    fn three_trustees_take_their_turns_with_their_side_sealed_in_their_key_files() {
        let mut files = Vec::new();
        let mut seats = Vec::new();
        for i in 0..3 {
            let mut w = KeyWorker {
                key: None,
                sealing: None,
            };
            let Ok(KeyAnswer::Unlocked { file, .. }) = w.answer(KeyRequest::Generate {
                label: format!("trustee{i}"),
                passphrase: PHRASE.into(),
            }) else {
                panic!("a key is made")
            };
            let Ok(KeyAnswer::Enrolment(e)) = w.answer(KeyRequest::Enrol { challenge: vec![7] })
            else {
                panic!("an enrolment is made")
            };
            assert!(ledger::possession_is_proven(
                &e.seat.identity,
                &[7],
                &e.proof
            ));
            seats.push(e.seat);
            files.push(file);
        }
        let election = ElectionId(5);
        let mut board: Vec<CeremonyMessage> = Vec::new();
        // Each turn opens the key file afresh, as a page visited again would.
        for _ in 0..5 {
            for file in files.iter_mut() {
                let mut w = KeyWorker {
                    key: None,
                    sealing: None,
                };
                open(&mut w, file);
                let answer = w.answer(KeyRequest::Turn {
                    election,
                    ceremony: 1,
                    seats: seats.clone(),
                    threshold: 2,
                    board: board.clone(),
                });
                let Ok(KeyAnswer::Turn {
                    posts,
                    file: sealed,
                    ..
                }) = answer
                else {
                    panic!("a turn is taken: {answer:?}")
                };
                assert!(!sealed.contains("Commitments"), "the side is sealed");
                board.extend(posts);
                let Ok(KeyAnswer::Unlocked { file: posted, .. }) = w.answer(KeyRequest::Posted)
                else {
                    panic!("the outbox empties")
                };
                *file = posted;
            }
        }
        let identities: Vec<_> = seats.iter().map(|s| s.identity).collect();
        ledger::ceremony::check_ceremony(election, 1, &identities, 2, &board).unwrap();

        // The tally: each trustee's key file makes one signed share of one count.
        let sealed =
            ledger::genesis::Trustees::from_ceremony(election, 1, 2, &identities, &board).unwrap();
        // Each trustee's own key is the sealed one, and each finds itself sealed; an altered
        // set, a version-3 genesis or a trustee of no seat raises the alarm.
        let genesis = |version: u32, trustees: &ledger::Trustees| ledger::SealedTrustees {
            version,
            trustees: trustees.clone(),
        };
        for file in &files {
            let mut w = KeyWorker {
                key: None,
                sealing: None,
            };
            open(&mut w, file);
            assert!(matches!(
                w.answer(KeyRequest::ElectionKey),
                Ok(KeyAnswer::ElectionKey(k)) if k == sealed.election_key
            ));
            let check = |w: &mut KeyWorker, sealed: ledger::SealedTrustees| {
                w.answer(KeyRequest::CheckSealed { election, sealed })
            };
            assert!(matches!(
                check(&mut w, genesis(ledger::GENESIS_VERSION, &sealed)),
                Ok(KeyAnswer::ElectionKey(k)) if k == sealed.election_key
            ));
            let old = check(&mut w, genesis(3, &sealed)).unwrap_err();
            assert!(
                matches!(&old, KeyError::Sealed(why) if why.contains("version 3")),
                "{old}"
            );
            let mut fewer = sealed.clone();
            fewer.trustees.pop();
            assert!(check(&mut w, genesis(ledger::GENESIS_VERSION, &fewer)).is_err());
        }
        let mut sums = ledger::secret::EncryptedSums::new(2);
        let ballot =
            ledger::secret::Ballot::encrypt(&sealed.election_key, 2, 1, &mut rand_core::OsRng)
                .unwrap();
        sums.add(&ballot).unwrap();
        let head = BlockHash([9; 32]);
        let mut w = KeyWorker {
            key: None,
            sealing: None,
        };
        open(&mut w, &files[1]);
        let share = |w: &mut KeyWorker, sums: &ledger::secret::EncryptedSums| {
            w.answer(KeyRequest::Share {
                election,
                trustees: sealed.clone(),
                head,
                sums: sums.clone(),
            })
        };
        let Ok(KeyAnswer::Share {
            share: signed,
            file,
        }) = share(&mut w, &sums)
        else {
            panic!("a share is made")
        };
        assert_eq!(signed.trustee, 1);
        assert!(signed.is_signed_by(&identities[1], election, &head, &sums));
        // Reopened from the file it sealed: the same count again, never another.
        open(&mut w, &file);
        assert!(share(&mut w, &sums).is_ok());
        sums.add(&ballot).unwrap();
        let refused = share(&mut w, &sums).unwrap_err();
        assert!(
            matches!(&refused, KeyError::Share(why) if why.contains("only one count")),
            "{refused}"
        );
        // A stranger's key has no seat.
        let mut w = KeyWorker {
            key: None,
            sealing: None,
        };
        w.answer(KeyRequest::Generate {
            label: "stranger".into(),
            passphrase: PHRASE.into(),
        })
        .unwrap();
        let refused = w.answer(KeyRequest::Turn {
            election,
            ceremony: 1,
            seats,
            threshold: 2,
            board,
        });
        assert!(matches!(
            refused.unwrap_err(),
            KeyError::Ceremony { ceremony: 1, reason } if reason.contains("no seat")
        ));
    }
}
