//! The genesis block: the election's rules and registry, frozen when voting opens.

use crate::ceremony::{CeremonyMessage, Confirmation, Round};
use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{sha256, BlockHash, GroupKey, PublicKey, Signature, Transcript};
use crate::secret::TrusteeKeys;
use serde::{Deserialize, Serialize};

/// Identifies an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ElectionId(pub u64);

/// Identifies a candidate within an election.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CandidateId(pub u32);

impl std::fmt::Display for ElectionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for CandidateId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Version of the genesis rules this crate applies. Version 2 made a quorum of at least
/// [`MIN_QUORUM`] validators, all listed, a rule of the chain; version 3 seals the
/// trustees who hold the election key between them ([`Trustees`]).
pub const GENESIS_VERSION: u32 = 3;

/// Fewest distinct validators that must approve each block: with one, the approver could
/// be the server's operator alone.
pub const MIN_QUORUM: u16 = 2;

/// A genesis block this software does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// Made under other rules.
    #[error("the genesis block has version {found}; this software checks chains of version {GENESIS_VERSION} only")]
    WrongVersion {
        /// The version in the block.
        found: u32,
    },
    /// A quorum below [`MIN_QUORUM`].
    #[error("the quorum is {0}; at least {MIN_QUORUM} validators must approve each block")]
    QuorumTooSmall(u16),
    /// Fewer validators than the quorum: no block could ever be appended.
    #[error("the quorum is {quorum} but the genesis block lists {validators} validator(s)")]
    TooFewValidators {
        /// The quorum.
        quorum: u16,
        /// Validators listed.
        validators: usize,
    },
    /// No trustee holds the election key.
    #[error("the genesis block names no trustee")]
    NoTrustees,
    /// A threshold outside 1..=trustees.
    #[error("the threshold is {threshold} of {trustees} trustee(s)")]
    Threshold {
        /// The threshold.
        threshold: u16,
        /// Trustees listed.
        trustees: usize,
    },
    /// One identity key on two seats.
    #[error("trustee {0}'s identity key is listed twice")]
    TrusteeTwice(usize),
    /// The trustees' verification keys do not form a key set.
    #[error("the trustees' keys do not combine: {0}")]
    TrusteeKeys(String),
    /// An election key other than the one the trustees' keys combine to: whoever made it
    /// could read every ballot.
    #[error("the election key is not the one the trustees' keys combine to")]
    ElectionKey,
    /// A confirmation its trustee did not sign.
    #[error("trustee {0}'s confirmation of the key ceremony is not signed by their identity key")]
    Confirmation(usize),
}

/// A trustee as the genesis block seals it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteeRecord {
    /// The identity key that signed the trustee's ceremony messages.
    pub identity: PublicKey,
    /// The public half of the trustee's key share.
    pub verification_key: GroupKey,
    /// The trustee's signature of its round-4 message: the ceremony's transcript and this
    /// verification key.
    pub confirmation: Signature,
}

/// The trustees who hold the election key between them, and the proof that the key is
/// theirs: every trustee confirmed the same ceremony transcript with its verification key,
/// and the election key is what those keys combine to. Anyone can check both from these
/// bytes alone ([`Genesis::check_rules`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trustees {
    /// The ceremony's id, which every confirmation signs.
    pub ceremony: u64,
    /// How many trustees' decryption shares it takes to decrypt the tally.
    pub threshold: u16,
    /// The transcript of rounds 1–3 every trustee confirmed.
    pub transcript: Transcript,
    /// The key ballots are encrypted to.
    pub election_key: GroupKey,
    /// In seat order (a trustee's index is its position here).
    pub trustees: Vec<TrusteeRecord>,
}

impl Trustees {
    /// From a complete ceremony: its trustees' identity keys in seat order, and their
    /// round-4 messages. Fails unless every confirmation is there, signed, and of one
    /// transcript, and the verification keys combine.
    pub fn from_ceremony(
        ceremony: u64,
        threshold: u16,
        identities: &[PublicKey],
        confirmations: &[CeremonyMessage],
    ) -> Result<Self, GenesisError> {
        let mut trustees = Vec::with_capacity(identities.len());
        let mut transcript = None;
        for (index, identity) in identities.iter().enumerate() {
            let m = confirmations
                .iter()
                .find(|m| m.round == Round::Confirmations && usize::from(m.from) == index)
                .filter(|m| m.is_signed_by(identity))
                .ok_or(GenesisError::Confirmation(index))?;
            let c =
                Confirmation::decode(&m.payload).map_err(|_| GenesisError::Confirmation(index))?;
            if *transcript.get_or_insert(c.transcript) != c.transcript {
                return Err(GenesisError::Confirmation(index));
            }
            trustees.push(TrusteeRecord {
                identity: *identity,
                verification_key: GroupKey(c.verification_key),
                confirmation: m.signature,
            });
        }
        let keys = TrusteeKeys {
            threshold,
            keys: trustees.iter().map(|t| t.verification_key.0).collect(),
        };
        let election_key = keys
            .election_key()
            .map_err(|e| GenesisError::TrusteeKeys(e.to_string()))?;
        Ok(Self {
            ceremony,
            threshold,
            transcript: Transcript(transcript.ok_or(GenesisError::NoTrustees)?),
            election_key: GroupKey(election_key),
            trustees,
        })
    }

    /// The trustees' public keys.
    pub fn keys(&self) -> TrusteeKeys {
        TrusteeKeys {
            threshold: self.threshold,
            keys: self.trustees.iter().map(|t| t.verification_key.0).collect(),
        }
    }

    /// The rules: a threshold of 1..=n distinct trustees, each confirmation signed by its
    /// trustee over this ceremony, transcript and verification key, and the election key
    /// the one their keys combine to.
    /// (What the ballot page's worker and `ballotchain vote` check before encrypting
    /// anything under the election key.)
    pub fn check(&self, election: ElectionId) -> Result<(), GenesisError> {
        let n = self.trustees.len();
        if n == 0 {
            return Err(GenesisError::NoTrustees);
        }
        if self.threshold == 0 || usize::from(self.threshold) > n {
            return Err(GenesisError::Threshold {
                threshold: self.threshold,
                trustees: n,
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (index, t) in self.trustees.iter().enumerate() {
            if !seen.insert(t.identity) {
                return Err(GenesisError::TrusteeTwice(index));
            }
            let confirmation = CeremonyMessage {
                election,
                ceremony: self.ceremony,
                round: Round::Confirmations,
                from: index as u16,
                to: None,
                payload: Confirmation {
                    transcript: self.transcript.0,
                    verification_key: t.verification_key.0,
                }
                .encode(),
                signature: t.confirmation,
            };
            if !confirmation.is_signed_by(&t.identity) {
                return Err(GenesisError::Confirmation(index));
            }
        }
        let combined = self
            .keys()
            .election_key()
            .map_err(|e| GenesisError::TrusteeKeys(e.to_string()))?;
        if combined != self.election_key.0 {
            return Err(GenesisError::ElectionKey);
        }
        Ok(())
    }

    fn write(&self, w: &mut Writer) {
        w.u64(self.ceremony)
            .u16(self.threshold)
            .raw(&self.transcript.0)
            .raw(&self.election_key.0)
            .u32(self.trustees.len() as u32);
        for t in &self.trustees {
            w.raw(&t.identity.0)
                .raw(&t.verification_key.0)
                .raw(&t.confirmation.0);
        }
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let ceremony = r.u64()?;
        let threshold = r.u16()?;
        let transcript = Transcript(r.array()?);
        let election_key = GroupKey(r.array()?);
        let n = r.u32()?;
        let trustees = (0..n)
            .map(|_| {
                Ok(TrusteeRecord {
                    identity: PublicKey(r.array()?),
                    verification_key: GroupKey(r.array()?),
                    confirmation: Signature(r.array()?),
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(Self {
            ceremony,
            threshold,
            transcript,
            election_key,
            trustees,
        })
    }
}

/// A candidate on the ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Candidate {
    /// Ballot identifier.
    pub id: CandidateId,
    /// Name shown to voters.
    pub name: String,
    /// Party or description.
    pub description: String,
}

/// Block 0 of an election's chain. Its hash identifies the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Format version.
    pub version: u32,
    /// The election.
    pub election: ElectionId,
    /// Title shown to voters.
    pub title: String,
    /// The ballot.
    pub candidates: Vec<Candidate>,
    /// Public keys of eligible voters, sorted (names never reach the chain).
    pub voters: Vec<PublicKey>,
    /// Public keys of the validators whose approvals count, sorted.
    pub validators: Vec<PublicKey>,
    /// Distinct validator approvals needed to append a block.
    pub quorum: u16,
    /// Proof of work: leading zero bits every block hash must have.
    pub difficulty: u8,
    /// When voting opened, milliseconds since the Unix epoch.
    pub opened_at: u64,
    /// The trustees and the election key ballots are encrypted to.
    pub trustees: Trustees,
}

/// The voter roll's fingerprint: SHA-256 over a domain tag and the voters' public keys in
/// ascending order, in hex. The officer's page and `ballotchain codes` show it for the keys
/// they registered; the explorer shows it for the genesis block's registry. A key added by
/// anyone else changes it.
///
/// Hashed as it goes: a sealed roll (already in order) of a million keys is not copied.
pub fn roll_hash(keys: &[PublicKey]) -> String {
    use sha2::Digest;
    let sorted;
    let keys = if keys.is_sorted() {
        keys
    } else {
        let mut copy = keys.to_vec();
        copy.sort();
        sorted = copy;
        &sorted
    };
    let mut hash = sha2::Sha256::new();
    hash.update(b"ballotchain/roll/v1");
    for key in keys {
        hash.update(key.0);
    }
    hex::encode(hash.finalize())
}

impl Genesis {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u32(self.version).u64(self.election.0).text(&self.title);
        w.u32(self.candidates.len() as u32);
        for c in &self.candidates {
            w.u32(c.id.0).text(&c.name).text(&c.description);
        }
        w.u32(self.voters.len() as u32);
        for v in &self.voters {
            w.raw(&v.0);
        }
        w.u32(self.validators.len() as u32);
        for v in &self.validators {
            w.raw(&v.0);
        }
        w.u16(self.quorum).u8(self.difficulty).u64(self.opened_at);
        self.trustees.write(&mut w);
        w.bytes
    }

    /// Decodes the canonical encoding; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u32()?;
        // An earlier version's fields differ: say so, rather than fail somewhere inside.
        if version != GENESIS_VERSION {
            return Err(DecodeError::Version {
                found: version,
                expected: GENESIS_VERSION,
            });
        }
        let election = ElectionId(r.u64()?);
        let title = r.text()?;
        let n = r.u32()?;
        let mut candidates = Vec::new();
        for _ in 0..n {
            candidates.push(Candidate {
                id: CandidateId(r.u32()?),
                name: r.text()?,
                description: r.text()?,
            });
        }
        let keys = |r: &mut Reader| -> Result<Vec<PublicKey>, DecodeError> {
            let n = r.u32()?;
            (0..n).map(|_| Ok(PublicKey(r.array()?))).collect()
        };
        let voters = keys(&mut r)?;
        let validators = keys(&mut r)?;
        let quorum = r.u16()?;
        let difficulty = r.u8()?;
        let opened_at = r.u64()?;
        let trustees = Trustees::read(&mut r)?;
        r.finish()?;
        Ok(Self {
            version,
            election,
            title,
            candidates,
            voters,
            validators,
            quorum,
            difficulty,
            opened_at,
            trustees,
        })
    }

    /// Hash of block 0: SHA-256 of the canonical encoding.
    pub fn hash(&self) -> BlockHash {
        BlockHash(sha256(&self.encode()))
    }

    /// The candidate with this id, if on the ballot.
    pub fn candidate(&self, id: CandidateId) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.id == id)
    }

    /// The genesis rules: this version, a quorum of at least [`MIN_QUORUM`], at least as
    /// many distinct validators as the quorum, and trustees whose confirmations are signed
    /// and whose keys combine to the election key ([`Trustees`]).
    pub fn check_rules(&self) -> Result<(), GenesisError> {
        if self.version != GENESIS_VERSION {
            return Err(GenesisError::WrongVersion {
                found: self.version,
            });
        }
        if self.quorum < MIN_QUORUM {
            return Err(GenesisError::QuorumTooSmall(self.quorum));
        }
        let distinct: std::collections::HashSet<_> = self.validators.iter().collect();
        if distinct.len() < usize::from(self.quorum) {
            return Err(GenesisError::TooFewValidators {
                quorum: self.quorum,
                validators: distinct.len(),
            });
        }
        self.trustees.check(self.election)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn the_roll_hash_ignores_order_and_sees_an_added_key() {
        let (a, b, c) = (PublicKey([1; 32]), PublicKey([2; 32]), PublicKey([3; 32]));
        assert_eq!(roll_hash(&[a, b]), roll_hash(&[b, a]));
        assert_ne!(roll_hash(&[a, b]), roll_hash(&[a, b, c]));
        assert_eq!(roll_hash(&[]).len(), 64);
        // The tag, then the keys in ascending order, whichever order they came in.
        let mut tagged = b"ballotchain/roll/v1".to_vec();
        tagged.extend_from_slice(&[[1u8; 32], [2; 32], [3; 32]].concat());
        let expected = hex::encode(crate::hash::sha256(&tagged));
        assert_eq!(roll_hash(&[c, a, b]), expected);
        assert_eq!(roll_hash(&[a, b, c]), expected);
    }

    pub fn sample() -> Genesis {
        Genesis {
            version: GENESIS_VERSION,
            election: ElectionId(9),
            title: "Board".into(),
            candidates: vec![
                Candidate {
                    id: CandidateId(1),
                    name: "Ada".into(),
                    description: "".into(),
                },
                Candidate {
                    id: CandidateId(2),
                    name: "Grace".into(),
                    description: "Navy".into(),
                },
            ],
            voters: vec![PublicKey([1; 32]), PublicKey([2; 32])],
            validators: vec![PublicKey([3; 32]), PublicKey([4; 32])],
            quorum: 2,
            difficulty: 4,
            opened_at: 1_700_000_000_000,
            trustees: crate::ceremony::tests::sealed(ElectionId(9), 3, 2, 1).0,
        }
    }

    #[test]
    fn a_genesis_needs_this_version_a_quorum_of_two_and_enough_validators() {
        let g = sample();
        assert_eq!(g.check_rules(), Ok(()));
        let old = Genesis {
            version: 1,
            ..sample()
        };
        let err = old.check_rules().unwrap_err();
        assert_eq!(err, GenesisError::WrongVersion { found: 1 });
        assert!(err.to_string().contains("version 1"), "{err}");
        let lone = Genesis {
            quorum: 1,
            ..sample()
        };
        assert_eq!(lone.check_rules(), Err(GenesisError::QuorumTooSmall(1)));
        let twice = Genesis {
            validators: vec![PublicKey([3; 32]), PublicKey([3; 32])],
            ..sample()
        };
        assert_eq!(
            twice.check_rules(),
            Err(GenesisError::TooFewValidators {
                quorum: 2,
                validators: 1
            })
        );
    }

    #[test]
    fn the_trustees_sealed_must_have_confirmed_and_their_keys_must_make_the_election_key() {
        let g = sample();
        let (other, _, _) = crate::ceremony::tests::sealed(ElectionId(9), 3, 2, 2);
        let lone = crate::ceremony::tests::sealed(ElectionId(9), 1, 1, 3).0;
        assert_eq!(
            Genesis {
                trustees: lone.clone(),
                ..sample()
            }
            .check_rules(),
            Ok(())
        );
        let with = |change: &dyn Fn(&mut Trustees)| {
            let mut g = g.clone();
            change(&mut g.trustees);
            g.check_rules()
        };
        // An operator's own key in place of the trustees' combined key.
        assert_eq!(
            with(&|t| t.election_key = other.election_key),
            Err(GenesisError::ElectionKey)
        );
        // A verification key swapped (its confirmation no longer signs it).
        assert_eq!(
            with(&|t| t.trustees[1].verification_key = other.trustees[1].verification_key),
            Err(GenesisError::Confirmation(1))
        );
        // A trustee of another ceremony, or one seat taken by another's record.
        assert_eq!(
            with(&|t| t.trustees[2] = other.trustees[2].clone()),
            Err(GenesisError::Confirmation(2))
        );
        assert_eq!(
            with(&|t| t.ceremony += 1),
            Err(GenesisError::Confirmation(0))
        );
        assert_eq!(
            with(&|t| t.trustees[1] = t.trustees[0].clone()),
            Err(GenesisError::TrusteeTwice(1))
        );
        assert_eq!(
            with(&|t| t.threshold = 4),
            Err(GenesisError::Threshold {
                threshold: 4,
                trustees: 3
            })
        );
        assert_eq!(with(&|t| t.trustees.clear()), Err(GenesisError::NoTrustees));
        // The same trustees sealed in another election do not count.
        assert_eq!(
            Genesis {
                election: ElectionId(10),
                ..g.clone()
            }
            .check_rules(),
            Err(GenesisError::Confirmation(0))
        );
        assert_ne!(lone, g.trustees);
    }

    #[test]
    fn genesis_round_trips_and_any_change_changes_its_hash() {
        let g = sample();
        assert_eq!(Genesis::decode(&g.encode()).unwrap(), g);
        let mut other = g.clone();
        other.quorum = 3;
        assert_ne!(other.hash(), g.hash());
        let mut bytes = g.encode();
        bytes.push(0);
        assert_eq!(Genesis::decode(&bytes), Err(DecodeError::Trailing(1)));
        // A genesis block of version 2 (before secret ballots) is refused by its version.
        let mut old = g.encode();
        old[..4].copy_from_slice(&2u32.to_le_bytes());
        let err = Genesis::decode(&old).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Version {
                found: 2,
                expected: GENESIS_VERSION
            }
        );
        assert!(err.to_string().contains("version 2"), "{err}");
    }
}
