//! Secret ballots, the cryptography: exponential ElGamal on Ristretto from elastic-elgamal
//! 0.3 (the same curve25519-dalek 4 as ed25519-dalek), wrapped so that no call can panic
//! on bad input and every byte form is fixed.
//!
//! - The trustees' keys ([`TrusteeKeys`]): the threshold and each trustee's verification
//!   key; the election public key is what they combine to
//!   (`PublicKeySet::from_participants`), so nobody can substitute a key of their own.
//! - A [`Ballot`]: one ciphertext per candidate, with a proof that each encrypts 0 or 1
//!   and a proof that they sum to 1.
//! - [`EncryptedSums`]: the ciphertexts added up per candidate.
//! - A trustee's [`DecryptionShare`] of every sum, with a proof per sum; with `threshold`
//!   valid shares the sums are decrypted to group elements, and the counts are found by
//!   baby-step giant-step ([`find_counts`]) or claimed counts are checked
//!   ([`check_counts`]): `count·G` must be the decrypted element. No table of every
//!   possible count is built.

use crate::encoding::{le_u64_at, DecodeError, Reader, Writer};
use crate::hash::GroupKey;
use elastic_elgamal::app::{ChoiceParams, EncryptedChoice, SingleChoice};
use elastic_elgamal::group::{ElementOps, Group, Ristretto, ScalarOps};
use elastic_elgamal::sharing::{ActiveParticipant, Params, PublicKeySet};
use elastic_elgamal::{CandidateDecryption, Ciphertext, LogEqualityProof, PublicKey};
use rand_core::{CryptoRng, RngCore};
use std::collections::{HashMap, HashSet};

/// The group every secret-ballot value lives in.
pub type G = Ristretto;

/// Why a secret-ballot value is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// A threshold that breaks [`check_threshold`]: not above half the trustees, or above
    /// all of them.
    #[error(
        "the threshold must be more than half of the {trustees} trustee(s) and at most all of them ({} to {trustees}), not {threshold}",
        lowest_threshold(*trustees)
    )]
    Threshold { threshold: u16, trustees: usize },
    /// A trustee's key is not a valid group element.
    #[error("trustee {index}'s key is not a valid Ristretto point")]
    TrusteeKey { index: usize },
    /// A ballot over no candidate, or a choice that is not one of them.
    #[error("choice {choice} is not one of the {candidates} candidates")]
    Choice { choice: usize, candidates: usize },
    /// A ballot whose proofs do not hold.
    #[error("the ballot's proofs do not hold: {0}")]
    Proof(String),
    /// Bytes that are not what they claim to be.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// Sums or shares over another number of candidates.
    #[error("{what} cover {found} candidates, not {expected}")]
    Candidates {
        what: &'static str,
        expected: usize,
        found: usize,
    },
    /// A share from no trustee of this key set, or a second share from one.
    #[error("share from trustee {trustee}: {reason}")]
    Trustee { trustee: u16, reason: String },
    /// A share whose proof does not hold for a sum.
    #[error("trustee {trustee}'s share of candidate {candidate}'s sum does not verify")]
    Share { trustee: u16, candidate: usize },
    /// Fewer valid shares than the threshold.
    #[error("{have} valid shares, the threshold is {need}")]
    TooFewShares { have: usize, need: u16 },
    /// A decrypted sum that is no count up to the bound.
    #[error("candidate {candidate}'s sum is no count from 0 to {max}")]
    NoCount { candidate: usize, max: u64 },
    /// A claimed count that does not decrypt to the sum.
    #[error("candidate {candidate}'s claimed count {count} is not what the sum decrypts to")]
    WrongCount { candidate: usize, count: u64 },
}

type Result<T, E = SecretError> = std::result::Result<T, E>;

fn malformed(what: &'static str, reason: impl ToString) -> SecretError {
    SecretError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

/// The trustees' public keys: the threshold, and each trustee's verification key (the
/// public key of its share), in trustee order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrusteeKeys {
    pub threshold: u16,
    pub keys: Vec<GroupKey>,
}

/// The lowest threshold [`check_threshold`] allows for `trustees` trustees: more than half.
pub fn lowest_threshold(trustees: usize) -> usize {
    trustees / 2 + 1
}

/// The threshold rule: more than half of the `trustees` trustees (`2·t > n`) and at most all
/// of them. With `t ≤ n/2` two disjoint groups of trustees could each decrypt a count of
/// their own (one of them shown a copy of the chain cut a block short), and the difference
/// between the two counts would reveal the ballots in between; above half, any two groups
/// share a trustee, who decrypts one count only.
pub fn check_threshold(threshold: u16, trustees: usize) -> Result<()> {
    let t = usize::from(threshold);
    if trustees == 0 || 2 * t <= trustees || t > trustees {
        return Err(SecretError::Threshold {
            threshold,
            trustees,
        });
    }
    Ok(())
}

impl TrusteeKeys {
    /// The key set they form, checked: a threshold by [`check_threshold`] and every key a
    /// valid point.
    pub fn key_set(&self) -> Result<PublicKeySet<G>> {
        let n = self.keys.len();
        check_threshold(self.threshold, n)?;
        let keys = self
            .keys
            .iter()
            .enumerate()
            .map(|(index, k)| {
                PublicKey::<G>::from_bytes(&k.0).map_err(|_| SecretError::TrusteeKey { index })
            })
            .collect::<Result<Vec<_>>>()?;
        PublicKeySet::from_participants(Params::new(n, usize::from(self.threshold)), keys)
            .map_err(|e| malformed("trustee keys", e))
    }

    /// The election public key the trustees' keys combine to.
    pub fn election_key(&self) -> Result<GroupKey> {
        let set = self.key_set()?;
        group_key(set.shared_key())
    }
}

/// The bytes of a public key of the group.
pub fn group_key(key: &PublicKey<G>) -> Result<GroupKey> {
    GroupKey::from_slice(key.as_bytes()).ok_or_else(|| malformed("public key", "not 32 bytes"))
}

fn election_key(key: &GroupKey) -> Result<PublicKey<G>> {
    PublicKey::<G>::from_bytes(&key.0).map_err(|e| malformed("election key", e))
}

/// An encrypted ballot: one ciphertext per candidate, in ballot order, with its proofs.
#[derive(Debug, Clone)]
pub struct Ballot(EncryptedChoice<G, SingleChoice>);

impl Ballot {
    /// Encrypts the choice of candidate `choice` (an index in ballot order) among
    /// `candidates` under the election key.
    pub fn encrypt<R: CryptoRng + RngCore>(
        election: &GroupKey,
        candidates: usize,
        choice: usize,
        rng: &mut R,
    ) -> Result<Self> {
        if choice >= candidates {
            return Err(SecretError::Choice { choice, candidates });
        }
        let params = ChoiceParams::single(election_key(election)?, candidates);
        Ok(Self(EncryptedChoice::single(&params, choice, rng)))
    }

    /// Encrypts any marks, one per candidate, with their range proofs and a sum proof: what
    /// a broken or dishonest client could send. Unless exactly one mark is set, the sum
    /// proof does not verify, and [`Self::verify`] refuses the ballot.
    pub fn encrypt_marks<R: CryptoRng + RngCore>(
        election: &GroupKey,
        marks: &[bool],
        rng: &mut R,
    ) -> Result<Self> {
        if marks.is_empty() {
            return Err(SecretError::Choice {
                choice: 0,
                candidates: 0,
            });
        }
        let params = ChoiceParams::single(election_key(election)?, marks.len());
        Ok(Self(EncryptedChoice::new(&params, marks, rng)))
    }

    /// Checks both proofs against the election key and the number of candidates.
    pub fn verify(&self, election: &GroupKey, candidates: usize) -> Result<()> {
        if candidates == 0 {
            return Err(SecretError::Choice {
                choice: 0,
                candidates,
            });
        }
        let params = ChoiceParams::single(election_key(election)?, candidates);
        self.0
            .verify(&params)
            .map(|_| ())
            .map_err(|e| SecretError::Proof(e.to_string()))
    }

    /// The ciphertexts, one per candidate (their proofs checked or not: see [`Self::verify`]).
    pub fn ciphertexts(&self) -> &[Ciphertext<G>] {
        self.0.choices_unchecked()
    }

    /// The ciphertexts' bytes: two ballots with the same are copies of each other, whatever
    /// their proofs.
    pub fn ciphertext_bytes(&self) -> Vec<u8> {
        self.ciphertexts()
            .iter()
            .flat_map(|c| c.to_bytes())
            .collect()
    }

    /// The ballot's bytes (what the voter signs and the chain keeps): bincode of the
    /// crate's serde form, a u32 length first. An error rather than an empty ballot.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let inner = bincode::serialize(&self.0).map_err(|e| SecretError::Malformed {
            what: "ballot",
            reason: format!("it does not encode: {e}"),
        })?;
        let mut w = Writer::default();
        w.var_bytes(&inner);
        Ok(w.bytes)
    }

    /// Reads [`Self::encode`]'s bytes; nothing may trail.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let inner = r
            .var_bytes()
            .map_err(|e: DecodeError| malformed("ballot", e))?;
        r.finish().map_err(|e| malformed("ballot", e))?;
        check_layout(inner)?;
        crate::encoding::from_untrusted_bincode(inner)
            .map(Self)
            .map_err(|e| malformed("ballot", e))
    }
}

/// Checks the two sequence lengths inside a ballot's bincode against the bytes there are,
/// before the crate's deserializer sees them: it reserves room for as many proof scalars
/// as the length prefix claims, so a forged prefix would otherwise allocate without bound.
///
/// The layout (bincode, fixed-size integers; each group element and scalar is a u64
/// length and 32 bytes): `n` ciphertexts (u64, then 80 bytes each), the range proof's
/// common challenge (40 bytes), `m` ring responses (u64, then 40 bytes each), the sum
/// proof (80 bytes). The deserializer stops at the first element whose length is not 32,
/// so when it reaches `m`, it is where this reads it.
fn check_layout(inner: &[u8]) -> Result<()> {
    let refused = |why: &str| malformed("ballot", why);
    let word = |at: u64| le_u64_at(inner, at).ok_or_else(|| refused("cut short"));
    let total = inner.len() as u64;
    let n = word(0)?;
    let responses_at = n
        .checked_mul(80)
        .and_then(|c| c.checked_add(8 + 40))
        .filter(|&at| at < total)
        .ok_or_else(|| refused("more ciphertexts than bytes"))?;
    let m = word(responses_at)?;
    let expected = m
        .checked_mul(40)
        .and_then(|r| r.checked_add(responses_at + 8 + 80));
    if expected != Some(total) {
        return Err(refused(
            "its proofs do not have the length its ciphertexts need",
        ));
    }
    Ok(())
}

/// The encrypted sums per candidate: what anyone computes from the appended ballots, and
/// what the trustees decrypt.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EncryptedSums(Vec<Ciphertext<G>>);

impl PartialEq for EncryptedSums {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for EncryptedSums {}

impl EncryptedSums {
    /// Sums of nothing (encryptions of zero) for `candidates` candidates.
    pub fn new(candidates: usize) -> Self {
        Self(vec![Ciphertext::zero(); candidates])
    }

    /// Adds one ballot (its proofs checked by the caller).
    pub fn add(&mut self, ballot: &Ballot) -> Result<()> {
        let found = ballot.ciphertexts().len();
        if found != self.0.len() {
            return Err(SecretError::Candidates {
                what: "the ballot's ciphertexts",
                expected: self.0.len(),
                found,
            });
        }
        for (sum, c) in self.0.iter_mut().zip(ballot.ciphertexts()) {
            *sum += *c;
        }
        Ok(())
    }

    /// Adds other sums of the same ballot (partial sums of several blocks, say).
    pub fn merge(&mut self, other: &EncryptedSums) -> Result<()> {
        if other.0.len() != self.0.len() {
            return Err(SecretError::Candidates {
                what: "the sums added",
                expected: self.0.len(),
                found: other.0.len(),
            });
        }
        for (sum, c) in self.0.iter_mut().zip(&other.0) {
            *sum += *c;
        }
        Ok(())
    }

    /// How many candidates.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no candidate.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// 64 bytes per candidate: what two parties compare.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|c| c.to_bytes()).collect()
    }

    /// Reads [`Self::to_bytes`]'s bytes: 64 per candidate, each half a point of the group
    /// (read by the crate itself, from its serde form: a length, then the point's bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if !bytes.len().is_multiple_of(64) {
            return Err(malformed("encrypted sums", "not 64 bytes per candidate"));
        }
        bytes
            .chunks(64)
            .map(|sum| {
                let mut form = Vec::with_capacity(80);
                for point in sum.chunks(32) {
                    form.extend_from_slice(&32u64.to_le_bytes());
                    form.extend_from_slice(point);
                }
                crate::encoding::from_untrusted_bincode::<Ciphertext<G>>(&form)
                    .map_err(|e| malformed("encrypted sums", e))
            })
            .collect::<Result<Vec<_>>>()
            .map(Self)
    }
}

/// [`EncryptedSums`] as hex in text formats (`#[serde(with = "ledger::secret::sums_hex")]`):
/// what a tally report carries.
pub mod sums_hex {
    use super::EncryptedSums;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(sums: &EncryptedSums, s: S) -> Result<S::Ok, S::Error> {
        crate::hash::var_hex::serialize(&sums.to_bytes(), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EncryptedSums, D::Error> {
        let bytes = crate::hash::var_hex::deserialize(d)?;
        EncryptedSums::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// One trustee's share of the decryption of every sum, with a proof per sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptionShare {
    /// The trustee's index in [`TrusteeKeys::keys`].
    pub trustee: u16,
    /// Per candidate: the share (32 bytes) and its proof (64 bytes).
    pub parts: Vec<([u8; 32], [u8; 64])>,
}

impl DecryptionShare {
    /// The share of trustee `participant` (its key share from the key ceremony).
    pub fn make<R: CryptoRng + RngCore>(
        participant: &ActiveParticipant<G>,
        sums: &EncryptedSums,
        rng: &mut R,
    ) -> Result<Self> {
        let parts = sums
            .0
            .iter()
            .map(|sum| {
                let (share, proof) = participant.decrypt_share(*sum, rng);
                let share: [u8; 32] = share
                    .to_bytes()
                    .try_into()
                    .map_err(|_| malformed("decryption share", "not 32 bytes"))?;
                let proof: [u8; 64] = proof
                    .to_bytes()
                    .try_into()
                    .map_err(|_| malformed("decryption proof", "not 64 bytes"))?;
                Ok((share, proof))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            trustee: u16::try_from(participant.index())
                .map_err(|_| malformed("trustee index", participant.index()))?,
            parts,
        })
    }
}

/// The sums decrypted to group elements (`count·G` each), from at least `threshold`
/// shares of distinct trustees whose every proof holds. A share that fails is an error:
/// the caller decides whether to go on without it.
fn decrypt(
    keys: &TrusteeKeys,
    sums: &EncryptedSums,
    shares: &[DecryptionShare],
) -> Result<Vec<<G as ElementOps>::Element>> {
    let set = keys.key_set()?;
    let mut seen = HashSet::new();
    let mut checked = Vec::new();
    for share in shares {
        if !seen.insert(share.trustee) {
            return Err(SecretError::Trustee {
                trustee: share.trustee,
                reason: "a second share".into(),
            });
        }
        checked.push((
            usize::from(share.trustee),
            verified_parts(&set, keys, sums, share)?,
        ));
    }
    let need = keys.threshold;
    if checked.len() < usize::from(need) {
        return Err(SecretError::TooFewShares {
            have: checked.len(),
            need,
        });
    }
    let params = set.params();
    (0..sums.len())
        .map(|candidate| {
            let combined = params
                .combine_shares(checked.iter().map(|(i, v)| (*i, v[candidate])))
                .ok_or(SecretError::TooFewShares {
                    have: checked.len(),
                    need,
                })?;
            Ok(combined.decrypt_to_element(sums.0[candidate]))
        })
        .collect()
}

/// Checks one trustee's share of every sum: from a trustee of this key set, one part per
/// sum, and every part's proof holding for that trustee's verification key.
pub fn verify_share(
    keys: &TrusteeKeys,
    sums: &EncryptedSums,
    share: &DecryptionShare,
) -> Result<()> {
    verified_parts(&keys.key_set()?, keys, sums, share).map(|_| ())
}

/// A share's parts, each checked against its sum and the trustee's verification key.
fn verified_parts(
    set: &PublicKeySet<G>,
    keys: &TrusteeKeys,
    sums: &EncryptedSums,
    share: &DecryptionShare,
) -> Result<Vec<elastic_elgamal::VerifiableDecryption<G>>> {
    let index = usize::from(share.trustee);
    if index >= keys.keys.len() {
        return Err(SecretError::Trustee {
            trustee: share.trustee,
            reason: format!("there are {} trustees", keys.keys.len()),
        });
    }
    if share.parts.len() != sums.len() {
        return Err(SecretError::Candidates {
            what: "the share's parts",
            expected: sums.len(),
            found: share.parts.len(),
        });
    }
    let mut verified = Vec::new();
    for (candidate, ((bytes, proof), sum)) in share.parts.iter().zip(&sums.0).enumerate() {
        let bad = SecretError::Share {
            trustee: share.trustee,
            candidate,
        };
        let candidate_share = CandidateDecryption::<G>::from_bytes(bytes).ok_or(bad.clone())?;
        let proof = LogEqualityProof::<G>::from_bytes(proof).ok_or(bad.clone())?;
        verified.push(
            set.verify_share(candidate_share, *sum, index, &proof)
                .map_err(|_| bad)?,
        );
    }
    Ok(verified)
}

/// `count·G`.
fn times_generator(count: u64) -> <G as ElementOps>::Element {
    G::vartime_mul_generator(&<G as ScalarOps>::Scalar::from(count))
}

fn element_bytes(e: &<G as ElementOps>::Element) -> [u8; 32] {
    let mut out = [0u8; 32];
    G::serialize_element(e, &mut out);
    out
}

/// The count each sum decrypts to, each at most `max` (the number of ballots summed):
/// baby-step giant-step, about 2·√max additions per candidate.
pub fn find_counts(
    keys: &TrusteeKeys,
    sums: &EncryptedSums,
    shares: &[DecryptionShare],
    max: u64,
) -> Result<Vec<u64>> {
    let elements = decrypt(keys, sums, shares)?;
    let m = (max as f64).sqrt().ceil().max(1.0) as u64;
    // Baby steps: j·G for j < m.
    let mut baby = HashMap::with_capacity(m as usize);
    let mut at = G::identity();
    for j in 0..m {
        baby.insert(element_bytes(&at), j);
        at += G::generator();
    }
    let giant = times_generator(m);
    elements
        .iter()
        .enumerate()
        .map(|(candidate, element)| {
            // Giant steps: element − i·m·G, until it is a baby step.
            let mut rest = *element;
            for i in 0..=max / m {
                if let Some(j) = baby.get(&element_bytes(&rest)) {
                    let count = i * m + j;
                    if count <= max {
                        return Ok(count);
                    }
                }
                rest -= giant;
            }
            Err(SecretError::NoCount { candidate, max })
        })
        .collect()
}

/// Checks claimed counts: each sum must decrypt to `count·G`.
pub fn check_counts(
    keys: &TrusteeKeys,
    sums: &EncryptedSums,
    shares: &[DecryptionShare],
    counts: &[u64],
) -> Result<()> {
    if counts.len() != sums.len() {
        return Err(SecretError::Candidates {
            what: "the counts",
            expected: sums.len(),
            found: counts.len(),
        });
    }
    for (candidate, (element, &count)) in
        decrypt(keys, sums, shares)?.iter().zip(counts).enumerate()
    {
        if times_generator(count) != *element {
            return Err(SecretError::WrongCount { candidate, count });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    #[test]
    fn a_threshold_must_be_above_half_the_trustees_and_at_most_all_of_them() {
        let allowed = |n: usize| -> Vec<u16> {
            (0..=n as u16 + 1)
                .filter(|&t| check_threshold(t, n).is_ok())
                .collect()
        };
        assert_eq!(allowed(0), Vec::<u16>::new());
        assert_eq!(allowed(1), [1]);
        assert_eq!(allowed(2), [2]);
        assert_eq!(allowed(3), [2, 3]);
        assert_eq!(allowed(4), [3, 4]);
        assert_eq!(allowed(5), [3, 4, 5]);
        assert_eq!(allowed(16), (9..=16).collect::<Vec<_>>());
        for n in 1..=16 {
            assert_eq!(usize::from(allowed(n)[0]), lowest_threshold(n));
        }
    }

    #[test]
    fn encrypted_sums_read_back_from_their_bytes_and_hex_and_nothing_else_does() {
        let (keys, _) = ceremony(3, 2);
        let mut sums = EncryptedSums::new(3);
        for choice in [0, 2, 2] {
            sums.add(
                &Ballot::encrypt(&keys.election_key().unwrap(), 3, choice, &mut OsRng).unwrap(),
            )
            .unwrap();
        }
        let bytes = sums.to_bytes();
        assert_eq!(EncryptedSums::from_bytes(&bytes).unwrap(), sums);
        assert_eq!(EncryptedSums::from_bytes(&[]).unwrap().len(), 0);
        // Not 64 bytes per candidate, or a half that is no point of the group.
        assert!(EncryptedSums::from_bytes(&bytes[..100]).is_err());
        let mut no_point = bytes.clone();
        no_point[64..96].fill(0xff);
        assert!(EncryptedSums::from_bytes(&no_point).is_err());
        // Hex in JSON, through the serde module.
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Report {
            #[serde(with = "sums_hex")]
            sums: EncryptedSums,
        }
        let json = serde_json::to_string(&Report { sums: sums.clone() }).unwrap();
        assert_eq!(json, format!(r#"{{"sums":"{}"}}"#, hex::encode(&bytes)));
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap().sums, sums);
        assert!(serde_json::from_str::<Report>(r#"{"sums":"zz"}"#).is_err());
    }

    /// A key ceremony of `n` trustees with threshold `t`, through a board: the trustees'
    /// keys as checked, and each trustee's key share.
    fn ceremony(n: usize, t: usize) -> (TrusteeKeys, Vec<ActiveParticipant<G>>) {
        use crate::ceremony::tests::{public, run, CEREMONY, ELECTION};
        let (ids, board, trustees) = run(n, t as u16);
        let keys =
            crate::ceremony::check_ceremony(ELECTION, CEREMONY, &public(&ids), t as u16, &board)
                .unwrap()
                .keys();
        let shares = trustees
            .iter()
            .map(|t| t.key_share().unwrap().clone())
            .collect();
        (keys, shares)
    }

    #[test]
    fn ballots_add_up_and_two_of_three_trustees_decrypt_the_counts() {
        let (keys, trustees) = ceremony(3, 2);
        let election = keys.election_key().unwrap();
        assert_eq!(
            election.as_bytes(),
            trustees[0].key_set().shared_key().as_bytes()
        );
        let choices = [0usize, 2, 1, 2, 2, 0, 2];
        let mut sums = EncryptedSums::new(3);
        let mut seen = HashSet::new();
        for &choice in &choices {
            let ballot = Ballot::encrypt(&election, 3, choice, &mut OsRng).unwrap();
            let bytes = ballot.encode().unwrap();
            let read = Ballot::decode(&bytes).unwrap();
            assert_eq!(read.encode().unwrap(), bytes, "one byte form");
            read.verify(&election, 3).unwrap();
            assert!(seen.insert(read.ciphertext_bytes()), "fresh randomness");
            sums.add(&read).unwrap();
        }
        let share = |i: usize| DecryptionShare::make(&trustees[i], &sums, &mut OsRng).unwrap();
        let (a, c) = (share(0), share(2));
        let n = choices.len() as u64;
        assert_eq!(
            find_counts(&keys, &sums, &[a.clone(), c.clone()], n).unwrap(),
            [2, 1, 4]
        );
        check_counts(&keys, &sums, &[c.clone(), a.clone()], &[2, 1, 4]).unwrap();
        assert_eq!(
            check_counts(&keys, &sums, &[a.clone(), c.clone()], &[2, 2, 3]),
            Err(SecretError::WrongCount {
                candidate: 1,
                count: 2
            })
        );
        // One share is not enough; the same trustee twice is refused, not miscounted.
        assert_eq!(
            find_counts(&keys, &sums, std::slice::from_ref(&a), n),
            Err(SecretError::TooFewShares { have: 1, need: 2 })
        );
        assert!(matches!(
            find_counts(&keys, &sums, &[a.clone(), a.clone()], n),
            Err(SecretError::Trustee { trustee: 0, .. })
        ));
        // A share claimed by another trustee, or altered, does not verify.
        let mut stolen = c.clone();
        stolen.trustee = 1;
        assert_eq!(
            find_counts(&keys, &sums, &[a.clone(), stolen], n),
            Err(SecretError::Share {
                trustee: 1,
                candidate: 0
            })
        );
        let mut altered = c.clone();
        altered.parts[2].0 = a.parts[2].0;
        assert_eq!(
            find_counts(&keys, &sums, &[a.clone(), altered], n),
            Err(SecretError::Share {
                trustee: 2,
                candidate: 2
            })
        );
        let mut foreign = c;
        foreign.trustee = 7;
        assert!(matches!(
            find_counts(&keys, &sums, &[a.clone(), foreign], n),
            Err(SecretError::Trustee { trustee: 7, .. })
        ));
        // A bound below the true count finds none.
        assert_eq!(
            find_counts(&keys, &sums, &[a, share(1)], 3),
            Err(SecretError::NoCount {
                candidate: 2,
                max: 3
            })
        );
    }

    #[test]
    fn a_ballot_under_another_key_or_count_or_with_an_altered_byte_is_refused() {
        let (keys, _) = ceremony(2, 2);
        let election = keys.election_key().unwrap();
        let ballot = Ballot::encrypt(&election, 3, 1, &mut OsRng).unwrap();
        assert!(matches!(
            ballot.verify(&election, 4),
            Err(SecretError::Proof(_))
        ));
        let (other, _) = ceremony(1, 1);
        assert!(matches!(
            ballot.verify(&other.election_key().unwrap(), 3),
            Err(SecretError::Proof(_))
        ));
        assert_eq!(
            Ballot::encrypt(&election, 3, 3, &mut OsRng).unwrap_err(),
            SecretError::Choice {
                choice: 3,
                candidates: 3
            }
        );
        assert!(ballot.verify(&election, 0).is_err());
        let bytes = ballot.encode().unwrap();
        for at in [4, bytes.len() / 2, bytes.len() - 1] {
            let mut altered = bytes.clone();
            altered[at] ^= 1;
            match Ballot::decode(&altered) {
                Ok(b) => assert!(b.verify(&election, 3).is_err(), "byte {at}"),
                Err(e) => assert!(matches!(e, SecretError::Malformed { .. }), "{e}"),
            }
        }
        assert!(Ballot::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Ballot::decode(&longer).is_err());
        // Forged sequence lengths (after the 4-byte outer length): the ciphertexts', and
        // the proof's ring responses' (which the crate would reserve room for) — refused
        // as malformed, with nothing reserved.
        let responses_at = 4 + 8 + 80 * 3 + 40;
        for (at, forged) in [(4, u64::MAX), (4, 1 << 40), (responses_at, u64::MAX / 41)] {
            let mut altered = bytes.clone();
            altered[at..at + 8].copy_from_slice(&forged.to_le_bytes());
            assert!(
                matches!(Ballot::decode(&altered), Err(SecretError::Malformed { .. })),
                "length at {at}"
            );
        }
        assert!(Ballot::decode(&[0, 0, 0, 0]).is_err());
    }

    #[test]
    fn trustee_keys_refuse_a_bad_threshold_or_point() {
        let (keys, _) = ceremony(3, 2);
        for threshold in [0, 1, 4] {
            let bad = TrusteeKeys {
                threshold,
                ..keys.clone()
            };
            assert_eq!(
                bad.key_set().unwrap_err(),
                SecretError::Threshold {
                    threshold,
                    trustees: 3
                }
            );
        }
        let mut bad = keys.clone();
        bad.keys[1] = GroupKey([0xff; 32]);
        assert_eq!(
            bad.election_key().unwrap_err(),
            SecretError::TrusteeKey { index: 1 }
        );
        let err = SecretError::Threshold {
            threshold: 1,
            trustees: 3,
        };
        assert!(err.to_string().contains("more than half"), "{err}");
        assert!(err.to_string().contains("(2 to 3)"), "{err}");
        // Keys of another ceremony combine to another election key.
        let (other, _) = ceremony(3, 2);
        assert_ne!(other.election_key().unwrap(), keys.election_key().unwrap());
    }
}
