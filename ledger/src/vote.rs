//! Vote transactions: one signed, encrypted ballot, identified by the hash of its encoding.
//!
//! The ballot is the voter's choice encrypted under the election key, with its proofs
//! (`secret::Ballot`): one ciphertext per candidate, each proven to hold 0 or 1, and
//! together 1. Nobody reads a choice from a vote; the trustees decrypt only the sums.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::genesis::{ElectionId, Genesis};
use crate::hash::{sha256, PublicKey, Signature, TxId};
use crate::secret::{Ballot, SecretError};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Domain separation so a vote signature can never be replayed as anything else (v2:
/// encrypted ballots).
const VOTE_DOMAIN: &[u8] = b"ballotchain/vote/v2";

/// Longest ballot encoding a vote may carry, bounding what one vote costs to read.
pub const MAX_BALLOT_LEN: usize = 16 * 1024;

/// A signed, encrypted ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The election voted in.
    pub election: ElectionId,
    /// The voter's public key, as registered in the genesis block.
    pub voter: PublicKey,
    /// The encrypted ballot with its proofs (`secret::Ballot::encode`).
    #[serde(with = "crate::hash::var_hex")]
    pub ballot: Vec<u8>,
    /// When the ballot was signed, milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Ed25519 signature by `voter` over the signed bytes.
    pub signature: Signature,
}

impl Vote {
    /// Signs a ballot (its encoding) with the voter's key.
    pub fn sign(key: &SigningKey, election: ElectionId, ballot: Vec<u8>, timestamp: u64) -> Self {
        let voter = PublicKey(key.verifying_key().to_bytes());
        let message = signed_bytes(election, &voter, &ballot, timestamp);
        Self {
            election,
            voter,
            ballot,
            timestamp,
            signature: Signature(key.sign(&message).to_bytes()),
        }
    }

    /// Encrypts the choice of candidate `choice` (an index in the genesis block's ballot
    /// order) under the genesis block's election key, with its proofs, and signs it: the
    /// vote a voter's own device makes. The choice exists only here.
    pub fn cast<R: rand_core::CryptoRng + rand_core::RngCore>(
        key: &SigningKey,
        genesis: &Genesis,
        choice: usize,
        timestamp: u64,
        rng: &mut R,
    ) -> Result<Self, SecretError> {
        let ballot = Ballot::encrypt(
            &genesis.trustees.election_key,
            genesis.candidates.len(),
            choice,
            rng,
        )?;
        Ok(Self::sign(
            key,
            genesis.election,
            ballot.encode()?,
            timestamp,
        ))
    }

    /// The bytes the voter signs: a domain tag and every field but the signature.
    pub fn message(&self) -> Vec<u8> {
        signed_bytes(self.election, &self.voter, &self.ballot, self.timestamp)
    }

    /// Whether the signature is the voter's over this vote (strict Ed25519 rules).
    pub fn signature_is_valid(&self) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.voter.0) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&self.signature.0);
        key.verify_strict(&self.message(), &sig).is_ok()
    }

    /// The ballot, read (its proofs not yet checked: see `secret::Ballot::verify`).
    pub fn read_ballot(&self) -> Result<Ballot, SecretError> {
        Ballot::decode(&self.ballot)
    }

    /// The hash of the ballot's encoding, shown with a receipt and in a block's list
    /// instead of any choice.
    pub fn ballot_hash(&self) -> TxId {
        TxId(sha256(&self.ballot))
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.write(&mut w);
        w.bytes
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.u64(self.election.0)
            .raw(&self.voter.0)
            .var_bytes(&self.ballot)
            .u64(self.timestamp)
            .raw(&self.signature.0);
    }

    pub(crate) fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let election = ElectionId(r.u64()?);
        let voter = PublicKey(r.array()?);
        let ballot = r.var_bytes()?;
        if ballot.len() > MAX_BALLOT_LEN {
            return Err(DecodeError::TooLong(ballot.len() as u32));
        }
        Ok(Self {
            election,
            voter,
            ballot: ballot.to_vec(),
            timestamp: r.u64()?,
            signature: Signature(r.array()?),
        })
    }

    /// Decodes the canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.finish()?;
        Ok(v)
    }

    /// The receipt: SHA-256 of the canonical encoding, signature included.
    pub fn tx_id(&self) -> TxId {
        TxId(sha256(&self.encode()))
    }
}

fn signed_bytes(election: ElectionId, voter: &PublicKey, ballot: &[u8], timestamp: u64) -> Vec<u8> {
    let mut w = Writer::default();
    w.raw(VOTE_DOMAIN)
        .u64(election.0)
        .raw(&voter.0)
        .var_bytes(ballot)
        .u64(timestamp);
    w.bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::VotingCode;
    use rand::rngs::OsRng;

    #[test]
    fn a_signed_vote_verifies_and_any_field_change_breaks_it() {
        let genesis = crate::genesis::tests::sample();
        let code = VotingCode::from_entropy([4; 15]);
        let key = code.signing_key(genesis.election);
        let vote = Vote::cast(&key, &genesis, 1, 1000, &mut OsRng).unwrap();
        assert!(vote.signature_is_valid());
        assert_eq!(Vote::decode(&vote.encode()).unwrap(), vote);
        let ballot = vote.read_ballot().unwrap();
        assert!(ballot
            .verify(&genesis.trustees.election_key, genesis.candidates.len())
            .is_ok());
        // JSON carries the ballot as hex, and reads back the same.
        let json = serde_json::to_string(&vote).unwrap();
        assert_eq!(serde_json::from_str::<Vote>(&json).unwrap(), vote);

        let mut other = vote.clone();
        other.ballot[10] ^= 1;
        assert!(!other.signature_is_valid());
        assert_ne!(other.tx_id(), vote.tx_id());
        let mut other = vote.clone();
        other.election = ElectionId(2);
        assert!(!other.signature_is_valid());
        let mut other = vote.clone();
        other.timestamp += 1;
        assert!(!other.signature_is_valid());
        let mut other = vote.clone();
        other.voter = PublicKey([0; 32]);
        assert!(!other.signature_is_valid());
        // A choice off the ballot is never encrypted.
        assert!(Vote::cast(&key, &genesis, 2, 1000, &mut OsRng).is_err());
        // An encoding whose ballot is longer than a vote may carry does not decode.
        let mut w = Writer::default();
        w.u64(1)
            .raw(&[0; 32])
            .var_bytes(&vec![0; MAX_BALLOT_LEN + 1])
            .u64(0)
            .raw(&[0; 64]);
        assert!(matches!(
            Vote::decode(&w.bytes),
            Err(DecodeError::TooLong(_))
        ));
    }
}
