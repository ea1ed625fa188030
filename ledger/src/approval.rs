//! Validator approvals: an Ed25519 signature over a block hash.

use crate::hash::{BlockHash, PublicKey, Signature};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

const APPROVAL_DOMAIN: &[u8] = b"ballotchain/approval/v1";

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

fn message(block: &BlockHash) -> Vec<u8> {
    [APPROVAL_DOMAIN, &block.0].concat()
}

impl Approval {
    /// Signs an approval of `block`.
    pub fn sign(key: &SigningKey, block: BlockHash) -> Self {
        Self {
            block,
            validator: PublicKey(key.verifying_key().to_bytes()),
            signature: Signature(key.sign(&message(&block)).to_bytes()),
        }
    }

    /// Whether the signature is the validator's over this block hash.
    pub fn signature_is_valid(&self) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.validator.0) else {
            return false;
        };
        key.verify_strict(
            &message(&self.block),
            &ed25519_dalek::Signature::from_bytes(&self.signature.0),
        )
        .is_ok()
    }
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
}
