//! Vote transactions: one signed ballot, identified by the hash of its encoding.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::genesis::{CandidateId, ElectionId};
use crate::hash::{sha256, PublicKey, Signature, TxId};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Domain separation so a vote signature can never be replayed as anything else.
const VOTE_DOMAIN: &[u8] = b"ballotchain/vote/v1";

/// Length of a vote's canonical encoding.
pub const VOTE_LEN: usize = 8 + 32 + 4 + 8 + 64;

/// A signed ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The election voted in.
    pub election: ElectionId,
    /// The voter's public key, as registered in the genesis block.
    pub voter: PublicKey,
    /// The chosen candidate.
    pub candidate: CandidateId,
    /// When the ballot was signed, milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Ed25519 signature by `voter` over the signed bytes.
    pub signature: Signature,
}

impl Vote {
    /// Signs a ballot with the voter's key.
    pub fn sign(
        key: &SigningKey,
        election: ElectionId,
        candidate: CandidateId,
        timestamp: u64,
    ) -> Self {
        let voter = PublicKey(key.verifying_key().to_bytes());
        let message = signed_bytes(election, &voter, candidate, timestamp);
        Self {
            election,
            voter,
            candidate,
            timestamp,
            signature: Signature(key.sign(&message).to_bytes()),
        }
    }

    /// The bytes the voter signs: a domain tag and every field but the signature.
    pub fn message(&self) -> Vec<u8> {
        signed_bytes(self.election, &self.voter, self.candidate, self.timestamp)
    }

    /// Whether the signature is the voter's over this ballot (strict Ed25519 rules).
    pub fn signature_is_valid(&self) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.voter.0) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&self.signature.0);
        key.verify_strict(&self.message(), &sig).is_ok()
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
            .u32(self.candidate.0)
            .u64(self.timestamp)
            .raw(&self.signature.0);
    }

    pub(crate) fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(Self {
            election: ElectionId(r.u64()?),
            voter: PublicKey(r.array()?),
            candidate: CandidateId(r.u32()?),
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

fn signed_bytes(
    election: ElectionId,
    voter: &PublicKey,
    candidate: CandidateId,
    timestamp: u64,
) -> Vec<u8> {
    let mut w = Writer::default();
    w.raw(VOTE_DOMAIN)
        .u64(election.0)
        .raw(&voter.0)
        .u32(candidate.0)
        .u64(timestamp);
    w.bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::VotingCode;

    #[test]
    fn a_signed_vote_verifies_and_any_field_change_breaks_it() {
        let code = VotingCode::from_entropy([4; 15]);
        let key = code.signing_key(ElectionId(1));
        let vote = Vote::sign(&key, ElectionId(1), CandidateId(2), 1000);
        assert!(vote.signature_is_valid());
        assert_eq!(vote.encode().len(), VOTE_LEN);
        assert_eq!(Vote::decode(&vote.encode()).unwrap(), vote);

        let mut other = vote.clone();
        other.candidate = CandidateId(3);
        assert!(!other.signature_is_valid());
        assert_ne!(other.tx_id(), vote.tx_id());
        let mut other = vote.clone();
        other.election = ElectionId(2);
        assert!(!other.signature_is_valid());
        let mut other = vote.clone();
        other.timestamp += 1;
        assert!(!other.signature_is_valid());
        let mut other = vote;
        other.voter = PublicKey([0; 32]);
        assert!(!other.signature_is_valid());
    }
}
