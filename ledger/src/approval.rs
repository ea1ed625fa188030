//! Validators' signed statements: approving a block, rejecting it with a reason, and
//! proving they hold a key when they enrol. Each signature covers its own domain tag, so
//! a signature made for one purpose never passes for another.

use crate::hash::{BlockHash, PublicKey, Signature};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

const APPROVAL_DOMAIN: &[u8] = b"ballotchain/approval/v1";
const REJECTION_DOMAIN: &[u8] = b"ballotchain/rejection/v1";
const POSSESSION_DOMAIN: &[u8] = b"ballotchain/possession/v1";

/// A validator's signed statement that a block passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The approved block.
    pub block: BlockHash,
    /// The validator's public key, as listed in the genesis block.
    pub validator: PublicKey,
    /// Signature over the domain tag and the block hash.
    pub signature: Signature,
}

/// A validator's signed refusal of a block, with the reason it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The rejected block.
    pub block: BlockHash,
    /// The validator's public key, as listed in the genesis block.
    pub validator: PublicKey,
    /// Why, in the validator's words (signed as given).
    pub reason: String,
    /// Signature over the domain tag, the block hash and the reason.
    pub signature: Signature,
}

fn approval_message(block: &BlockHash) -> Vec<u8> {
    [APPROVAL_DOMAIN, &block.0].concat()
}

fn rejection_message(block: &BlockHash, reason: &str) -> Vec<u8> {
    [REJECTION_DOMAIN, &block.0, reason.as_bytes()].concat()
}

fn possession_message(challenge: &[u8]) -> Vec<u8> {
    [POSSESSION_DOMAIN, challenge].concat()
}

pub(crate) fn sign(key: &SigningKey, message: &[u8]) -> (PublicKey, Signature) {
    (
        PublicKey(key.verifying_key().to_bytes()),
        Signature(key.sign(message).to_bytes()),
    )
}

/// Whether `signature` is `key`'s over `message` (strict: no malleable encodings).
pub(crate) fn verifies(key: &PublicKey, message: &[u8], signature: &Signature) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&key.0) else {
        return false;
    };
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&signature.0))
        .is_ok()
}

impl Approval {
    /// Signs an approval of `block`.
    pub fn sign(key: &SigningKey, block: BlockHash) -> Self {
        let (validator, signature) = sign(key, &approval_message(&block));
        Self {
            block,
            validator,
            signature,
        }
    }

    /// Whether the signature is the validator's over this block hash.
    pub fn signature_is_valid(&self) -> bool {
        verifies(
            &self.validator,
            &approval_message(&self.block),
            &self.signature,
        )
    }
}

impl Rejection {
    /// Signs a rejection of `block` for `reason`.
    pub fn sign(key: &SigningKey, block: BlockHash, reason: &str) -> Self {
        let (validator, signature) = sign(key, &rejection_message(&block, reason));
        Self {
            block,
            validator,
            reason: reason.to_owned(),
            signature,
        }
    }

    /// Whether the signature is the validator's over this block hash and this reason.
    pub fn signature_is_valid(&self) -> bool {
        verifies(
            &self.validator,
            &rejection_message(&self.block, &self.reason),
            &self.signature,
        )
    }
}

/// Proof that the holder of `key` signed the server's enrolment `challenge`.
pub fn prove_possession(key: &SigningKey, challenge: &[u8]) -> Signature {
    sign(key, &possession_message(challenge)).1
}

/// Whether `proof` shows that whoever sent `key` holds its secret half: a signature by
/// `key` over this `challenge`.
pub fn possession_is_proven(key: &PublicKey, challenge: &[u8], proof: &Signature) -> bool {
    verifies(key, &possession_message(challenge), proof)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approval_is_bound_to_its_block() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let approval = Approval::sign(&key, BlockHash([1; 32]));
        assert!(approval.signature_is_valid());
        let mut moved = approval.clone();
        moved.block = BlockHash([2; 32]);
        assert!(!moved.signature_is_valid());
    }

    #[test]
    fn rejection_is_bound_to_its_block_and_reason() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let rejection = Rejection::sign(&key, BlockHash([1; 32]), "bad votes");
        assert!(rejection.signature_is_valid());
        let mut reworded = rejection.clone();
        reworded.reason = "fine".into();
        assert!(!reworded.signature_is_valid());
        let mut moved = rejection.clone();
        moved.block = BlockHash([2; 32]);
        assert!(!moved.signature_is_valid());
    }

    #[test]
    fn signatures_do_not_cross_purposes() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let block = BlockHash([1; 32]);
        let approval = Approval::sign(&key, block);
        // An approval's signature is neither a rejection nor a proof of possession.
        let as_rejection = Rejection {
            block,
            validator: approval.validator,
            reason: String::new(),
            signature: approval.signature,
        };
        assert!(!as_rejection.signature_is_valid());
        assert!(!possession_is_proven(
            &approval.validator,
            &block.0,
            &approval.signature
        ));
    }

    #[test]
    fn possession_is_bound_to_its_challenge_and_key() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = PublicKey(key.verifying_key().to_bytes());
        let proof = prove_possession(&key, &[3; 32]);
        assert!(possession_is_proven(&public, &[3; 32], &proof));
        assert!(!possession_is_proven(&public, &[4; 32], &proof));
        let other = PublicKey(SigningKey::from_bytes(&[8; 32]).verifying_key().to_bytes());
        assert!(!possession_is_proven(&other, &[3; 32], &proof));
    }
}
