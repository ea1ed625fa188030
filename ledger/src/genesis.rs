//! The genesis block: the election's rules and registry, frozen when voting opens.

use crate::ceremony::{CeremonyMessage, Round};
use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{sha256, BlockHash, GroupKey, PublicKey, Signature, Transcript};
pub use crate::id::{CandidateId, ElectionId};
use crate::sealed_set::{SealedSeat, SealedSet};
use crate::secret::{check_threshold, TrusteeKeys};
use serde::{Deserialize, Serialize};

/// Version of the genesis rules this crate applies. Version 2 made a quorum of at least
/// [`MIN_QUORUM`] validators, all listed, a rule of the chain; version 3 sealed the
/// trustees who hold the election key between them; version 4 has every trustee sign the
/// whole sealed set ([`SealedSet`]) and a threshold above half the trustees. Earlier
/// versions are refused, not read: a version-3 trustee confirmation signed only its own
/// key, so an operator could seal a seat of its own beside genuine confirmations and
/// label the forgery as old.
pub const GENESIS_VERSION: u32 = 4;

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
    /// A threshold not above half the trustees, or above all of them.
    #[error("the threshold is {threshold} of {trustees} trustee(s): it must be more than half of them and at most all")]
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
    /// A trustee's confirmation that is not their identity key's signature over exactly the
    /// sealed set: the seats, threshold, keys or election key were changed after they
    /// confirmed, or they never confirmed these.
    #[error("trustee {0}'s confirmation is not their signature over exactly this sealed set of trustees, threshold and keys")]
    Confirmation(usize),
}

/// A trustee as the genesis block seals it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteeRecord {
    /// The identity key that signed the trustee's ceremony messages.
    pub identity: PublicKey,
    /// The public half of the trustee's key share.
    pub verification_key: GroupKey,
    /// The trustee's signature of its round-4 message: the whole sealed set
    /// ([`Trustees::sealed_set`]).
    pub confirmation: Signature,
}

/// The trustees who hold the election key between them, and the proof that the key is
/// theirs: every trustee signed this whole set (the threshold, every seat's identity and
/// verification key in order, the transcript and the election key) as its own key share
/// gave it, and the election key is what the verification keys combine to. Anyone can
/// check both from these bytes alone ([`Trustees::check`]).
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
    /// From a complete ceremony of `election`: its trustees' identity keys in seat order,
    /// and their round-4 messages. Fails unless every trustee's confirmation is there,
    /// signed by them, and of one and the same sealed set, which lists these seats in this
    /// order with this ceremony and threshold, and keeps the rules ([`Trustees::check`]).
    pub fn from_ceremony(
        election: ElectionId,
        ceremony: u64,
        threshold: u16,
        identities: &[PublicKey],
        confirmations: &[CeremonyMessage],
    ) -> Result<Self, GenesisError> {
        let mut set: Option<SealedSet> = None;
        let mut signatures = Vec::with_capacity(identities.len());
        for (index, identity) in identities.iter().enumerate() {
            let m = confirmations
                .iter()
                .find(|m| {
                    m.round == Round::Confirmations
                        && usize::from(m.from) == index
                        && m.election == election
                        && m.ceremony == ceremony
                })
                .filter(|m| m.is_signed_by(identity))
                .ok_or(GenesisError::Confirmation(index))?;
            let confirmed =
                SealedSet::decode(&m.payload).map_err(|_| GenesisError::Confirmation(index))?;
            if *set.get_or_insert_with(|| confirmed.clone()) != confirmed {
                return Err(GenesisError::Confirmation(index));
            }
            signatures.push(m.signature);
        }
        let set = set.ok_or(GenesisError::NoTrustees)?;
        if set.election != election
            || set.ceremony != ceremony
            || set.threshold != threshold
            || set.identities() != identities
        {
            return Err(GenesisError::Confirmation(0));
        }
        let trustees = Self {
            ceremony,
            threshold,
            transcript: set.transcript,
            election_key: set.election_key,
            trustees: set
                .seats
                .iter()
                .zip(signatures)
                .map(|(seat, confirmation)| TrusteeRecord {
                    identity: seat.identity,
                    verification_key: seat.verification_key,
                    confirmation,
                })
                .collect(),
        };
        trustees.check(election)?;
        Ok(trustees)
    }

    /// The trustees' public keys.
    pub fn keys(&self) -> TrusteeKeys {
        TrusteeKeys {
            threshold: self.threshold,
            keys: self.trustees.iter().map(|t| t.verification_key).collect(),
        }
    }

    /// The set every trustee's confirmation must sign, as these trustees seal it in
    /// `election`.
    pub fn sealed_set(&self, election: ElectionId) -> SealedSet {
        SealedSet {
            election,
            ceremony: self.ceremony,
            threshold: self.threshold,
            seats: self
                .trustees
                .iter()
                .map(|t| SealedSeat {
                    identity: t.identity,
                    verification_key: t.verification_key,
                })
                .collect(),
            transcript: self.transcript,
            election_key: self.election_key,
        }
    }

    /// The rules, cheapest first: at least one trustee; a threshold above half of them and
    /// at most all ([`check_threshold`]); distinct identity keys; from every listed
    /// trustee, a confirmation that is its identity key's signature over exactly this
    /// sealed set ([`Trustees::sealed_set`]); and an election key that is what the
    /// verification keys combine to.
    /// (What the ballot page's worker and `ballotchain vote` check before encrypting
    /// anything under the election key, and every copy of the chain checks of its genesis.)
    pub fn check(&self, election: ElectionId) -> Result<(), GenesisError> {
        let n = self.trustees.len();
        if n == 0 {
            return Err(GenesisError::NoTrustees);
        }
        check_threshold(self.threshold, n).map_err(|_| GenesisError::Threshold {
            threshold: self.threshold,
            trustees: n,
        })?;
        let mut seen = std::collections::HashSet::new();
        for (index, t) in self.trustees.iter().enumerate() {
            if !seen.insert(t.identity) {
                return Err(GenesisError::TrusteeTwice(index));
            }
        }
        let payload = self.sealed_set(election).encode();
        for (index, t) in self.trustees.iter().enumerate() {
            let confirmation = CeremonyMessage {
                election,
                ceremony: self.ceremony,
                round: Round::Confirmations,
                from: index as u16,
                to: None,
                payload: payload.clone(),
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
        if combined != self.election_key {
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

/// What a voter's device needs of the genesis block before it encrypts under the election
/// key (or checks an audit against it): the genesis format version and the sealed
/// trustees, without the roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedTrustees {
    /// The genesis block's format version.
    pub version: u32,
    /// The trustees and the election key, as sealed.
    pub trustees: Trustees,
}

impl SealedTrustees {
    /// The genesis format this software reads ([`GENESIS_VERSION`]) and the trustees' rules
    /// ([`Trustees::check`]).
    pub fn check(&self, election: ElectionId) -> Result<(), GenesisError> {
        check_version(self.version)?;
        self.trustees.check(election)
    }
}

/// Refuses a genesis block of another format version than [`GENESIS_VERSION`].
pub fn check_version(version: u32) -> Result<(), GenesisError> {
    if version != GENESIS_VERSION {
        return Err(GenesisError::WrongVersion { found: version });
    }
    Ok(())
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
pub fn roll_hash(keys: &[PublicKey]) -> crate::hash::RollHash {
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
    crate::hash::RollHash(hash.finalize().into())
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

    /// The version and sealed trustees a voter's device checks before encrypting.
    pub fn sealed_trustees(&self) -> SealedTrustees {
        SealedTrustees {
            version: self.version,
            trustees: self.trustees.clone(),
        }
    }

    /// The candidate with this id, if on the ballot.
    pub fn candidate(&self, id: CandidateId) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.id == id)
    }

    /// The genesis rules: this version, a quorum of at least [`MIN_QUORUM`], at least as
    /// many distinct validators as the quorum, and trustees who each signed the whole
    /// sealed set and whose keys combine to the election key ([`Trustees::check`]).
    pub fn check_rules(&self) -> Result<(), GenesisError> {
        check_version(self.version)?;
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
        assert_eq!(roll_hash(&[]).to_string().len(), 64);
        // The tag, then the keys in ascending order, whichever order they came in.
        let mut tagged = b"ballotchain/roll/v1".to_vec();
        tagged.extend_from_slice(&[[1u8; 32], [2; 32], [3; 32]].concat());
        let expected = hex::encode(crate::hash::sha256(&tagged));
        assert_eq!(roll_hash(&[c, a, b]).to_string(), expected);
        assert_eq!(roll_hash(&[a, b, c]).to_string(), expected);
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
            trustees: crate::testing::sealed_trustees(ElectionId(9), 3, 2, 1).0,
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
        let (other, _, _) = crate::testing::sealed_trustees(ElectionId(9), 3, 2, 2);
        let lone = crate::testing::sealed_trustees(ElectionId(9), 1, 1, 3).0;
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
        // Every confirmation signs the whole set: whatever changes, the first trustee's
        // signature no longer holds. An operator's own key in place of the trustees'
        // combined key; a verification key swapped; a seat taken by another ceremony's
        // record; another ceremony id; the seats reordered; a seat added or removed.
        let refused = |change: &dyn Fn(&mut Trustees), case: &str| {
            assert_eq!(with(change), Err(GenesisError::Confirmation(0)), "{case}");
        };
        refused(&|t| t.election_key = other.election_key, "election key");
        refused(
            &|t| t.trustees[1].verification_key = other.trustees[1].verification_key,
            "verification key",
        );
        refused(&|t| t.trustees[2] = other.trustees[2].clone(), "seat");
        refused(&|t| t.ceremony += 1, "ceremony");
        refused(&|t| t.trustees.swap(1, 2), "reordered");
        refused(&|t| t.transcript = other.transcript, "transcript");
        refused(
            &|t| {
                t.trustees.push(other.trustees[0].clone());
                t.threshold = 3;
            },
            "seat added",
        );
        refused(&|t| t.trustees.truncate(2), "seat removed");
        refused(&|t| t.threshold = 3, "threshold");
        assert_eq!(
            with(&|t| t.trustees[1] = t.trustees[0].clone()),
            Err(GenesisError::TrusteeTwice(1))
        );
        // A threshold at or below half the trustees, or above all of them.
        for threshold in [0, 1, 4] {
            assert_eq!(
                with(&|t| t.threshold = threshold),
                Err(GenesisError::Threshold {
                    threshold,
                    trustees: 3
                })
            );
        }
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

    /// The review's attack: after an honest 2-of-3 ceremony of A, B and C, the operator
    /// seals A's and B's genuine confirmations with a seat D of its own, threshold 3, D's
    /// verification key chosen so that the three keys combine to an election key whose
    /// secret the operator knows. The keys do combine to it; the genesis check refuses it,
    /// since A and B signed the set with C and threshold 2.
    #[test]
    fn genuine_confirmations_beside_a_seat_of_the_operators_own_are_refused() {
        use elastic_elgamal::group::{ElementOps, Group, ScalarOps};
        use rand::rngs::OsRng;
        type Element = <crate::secret::G as ElementOps>::Element;
        type Scalar = <crate::secret::G as ScalarOps>::Scalar;
        let g = sample();
        let honest = &g.trustees;
        assert_eq!(g.check_rules(), Ok(()));
        let point = |bytes: &[u8; 32]| {
            crate::secret::G::deserialize_element(bytes).expect("a verification key")
        };
        let bytes = |e: &Element| {
            let mut out = [0u8; 32];
            crate::secret::G::serialize_element(e, &mut out);
            out
        };
        // The operator's own secret and key; with t = n = 3 the election key is
        // 3·A − 3·B + D (Lagrange at 0 over seats 1, 2, 3), so D = K − 3·A + 3·B.
        let secret = <crate::secret::G as ScalarOps>::generate_scalar(&mut OsRng);
        let known = crate::secret::G::mul_generator(&secret);
        let three = Scalar::from(3u64);
        let (a, b) = (
            point(&honest.trustees[0].verification_key.0),
            point(&honest.trustees[1].verification_key.0),
        );
        let d = known - a * three + b * three;
        let operator = ed25519_dalek::SigningKey::generate(&mut OsRng);
        let mut forged = honest.clone();
        forged.threshold = 3;
        forged.election_key = GroupKey(bytes(&known));
        forged.trustees[2] = TrusteeRecord {
            identity: PublicKey(operator.verifying_key().to_bytes()),
            verification_key: GroupKey(bytes(&d)),
            confirmation: Signature([0; 64]),
        };
        // D's own confirmation, signed by the operator over the forged set.
        forged.trustees[2].confirmation = CeremonyMessage::sign(
            &operator,
            g.election,
            forged.ceremony,
            Round::Confirmations,
            2,
            None,
            forged.sealed_set(g.election).encode(),
        )
        .signature;
        // Under the old rules this passed: the keys combine to the operator's key.
        assert_eq!(forged.keys().election_key(), Ok(GroupKey(bytes(&known))));
        let attack = Genesis {
            trustees: forged.clone(),
            ..g.clone()
        };
        assert_eq!(attack.check_rules(), Err(GenesisError::Confirmation(0)));
        assert_eq!(
            attack.sealed_trustees().check(g.election),
            Err(GenesisError::Confirmation(0))
        );
        // The same with the threshold left at 2 of 3.
        let mut forged2 = forged;
        forged2.threshold = 2;
        assert_eq!(
            forged2.check(g.election),
            Err(GenesisError::Confirmation(0))
        );
    }

    #[test]
    fn the_trustees_are_sealed_only_from_confirmations_of_one_and_the_same_set() {
        use crate::ceremony::tests::{public, CEREMONY};
        use rand::SeedableRng;
        let election = ElectionId(9);
        let mut rng = rand::rngs::StdRng::seed_from_u64(21);
        let ids: Vec<_> = (0..3)
            .map(|_| ed25519_dalek::SigningKey::generate(&mut rng))
            .collect();
        let (board, _) = crate::ceremony::run_all(election, CEREMONY, &ids, 2, &mut rng).unwrap();
        let sealed = Trustees::from_ceremony(election, CEREMONY, 2, &public(&ids), &board).unwrap();
        assert_eq!(sealed.check(election), Ok(()));
        // Trustee 1 confirms another set (another threshold), signed by its own key.
        let at = board
            .iter()
            .position(|m| m.round == Round::Confirmations && m.from == 1)
            .unwrap();
        let mut set = SealedSet::decode(&board[at].payload).unwrap();
        set.threshold = 3;
        let mut differing = board.clone();
        differing[at] = CeremonyMessage::sign(
            &ids[1],
            election,
            CEREMONY,
            Round::Confirmations,
            1,
            None,
            set.encode(),
        );
        assert_eq!(
            Trustees::from_ceremony(election, CEREMONY, 2, &public(&ids), &differing),
            Err(GenesisError::Confirmation(1))
        );
        // Seats listed in another order, another threshold or election than confirmed.
        let mut swapped = public(&ids);
        swapped.swap(0, 1);
        assert!(Trustees::from_ceremony(election, CEREMONY, 2, &swapped, &board).is_err());
        assert_eq!(
            Trustees::from_ceremony(election, CEREMONY, 3, &public(&ids), &board),
            Err(GenesisError::Confirmation(0))
        );
        assert!(
            Trustees::from_ceremony(ElectionId(8), CEREMONY, 2, &public(&ids), &board).is_err()
        );
        assert!(
            Trustees::from_ceremony(election, CEREMONY, 2, &public(&ids[..2]), &board).is_err()
        );
    }

    #[test]
    fn a_version_three_genesis_is_refused_by_its_version_everywhere() {
        let g = sample();
        for version in [2, 3] {
            let old = Genesis {
                version,
                ..g.clone()
            };
            assert_eq!(
                old.check_rules(),
                Err(GenesisError::WrongVersion { found: version })
            );
            assert_eq!(
                old.sealed_trustees().check(g.election),
                Err(GenesisError::WrongVersion { found: version })
            );
            let mut bytes = g.encode();
            bytes[..4].copy_from_slice(&version.to_le_bytes());
            assert_eq!(
                Genesis::decode(&bytes),
                Err(DecodeError::Version {
                    found: version,
                    expected: 4
                })
            );
        }
        assert_eq!(g.sealed_trustees().check(g.election), Ok(()));
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
