//! A copy of the chain kept away from the server (the headless validator's state file, a
//! validator's browser) follows the served chain from its own head: the served chain must
//! still hold that head, and every block this copy saw its own approval append, before the
//! blocks after it are verified and added.

use crate::export::{replay_block, ApprovedBlock, ExportError};
use crate::hash::BlockHash;
use crate::validate::{ChainState, Signatures};

/// Why the served chain cannot extend a copy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowError {
    /// The served chain ends below a block the copy holds.
    #[error("the server's chain no longer holds block {height} ({hash}), which this copy holds: it ends at block {ends_at}; blocks were removed")]
    Removed {
        /// Height of the block the copy holds.
        height: u64,
        /// Its hash.
        hash: BlockHash,
        /// Height of the served chain's last block.
        ends_at: u64,
    },
    /// The served chain holds another block where the copy holds one.
    #[error("the server's chain no longer holds block {height} ({hash}), which this copy holds: its block {height} is {found}; the chain was rewritten")]
    Rewritten {
        /// Height of the block the copy holds.
        height: u64,
        /// Its hash.
        hash: BlockHash,
        /// The served chain's block at that height.
        found: BlockHash,
    },
    /// A served block after the copy's head breaks a rule or lacks its approvals.
    #[error("the served chain: {0}")]
    Invalid(#[from] ExportError),
}

impl FollowError {
    /// Whether the served chain lost what the copy holds (an alarm for a person), rather
    /// than serving a block that does not verify.
    pub fn is_rollback(&self) -> bool {
        !matches!(self, Self::Invalid(_))
    }
}

/// Extends `chain` by the served blocks after its head, once the served chain is shown
/// to hold that head.
///
/// - `head` is the served chain's head (height and hash) as the server states it. Shorter
///   than the copy, or as long with another hash: the copy's head is gone.
/// - `served` are the served blocks after the copy's head, in order (possibly none, and
///   possibly fewer than up to `head` when the chain grew meanwhile). The first one's parent
///   must be the copy's head: the served chain is hash-linked to it.
/// - `pins` are blocks (height, hash) this copy saw appended by its own approval, above its
///   head: each must be where it was, in the served blocks or below the served head. (Pins
///   at or below the copy's head were checked when their block was added.)
///
/// - `signatures`: how the votes' signatures are verified (here, or already elsewhere).
///
/// Returns the chain state at the last served block.
pub fn follow(
    chain: &ChainState,
    head: (u64, BlockHash),
    served: &[ApprovedBlock],
    pins: &[(u64, BlockHash)],
    signatures: Signatures,
) -> Result<ChainState, FollowError> {
    let (height, tip) = (chain.height(), chain.tip());
    let (served_height, served_tip) = head;
    if served_height < height {
        return Err(FollowError::Removed {
            height,
            hash: tip,
            ends_at: served_height,
        });
    }
    if served_height == height && served_tip != tip {
        return Err(FollowError::Rewritten {
            height,
            hash: tip,
            found: served_tip,
        });
    }
    if let Some(first) = served.first() {
        let h = &first.block.header;
        if h.index == height + 1 && h.prev != tip {
            return Err(FollowError::Rewritten {
                height,
                hash: tip,
                found: h.prev,
            });
        }
    }
    let ends_at = served_height.max(served.last().map_or(0, |b| b.block.header.index));
    for &(at, hash) in pins.iter().filter(|(at, _)| *at > height) {
        if at > ends_at {
            return Err(FollowError::Removed {
                height: at,
                hash,
                ends_at,
            });
        }
        let found = served
            .iter()
            .find(|b| b.block.header.index == at)
            .map(|b| b.block.hash());
        if let Some(found) = found.filter(|found| *found != hash) {
            return Err(FollowError::Rewritten {
                height: at,
                hash,
                found,
            });
        }
    }
    let mut next = chain.clone();
    for approved in served {
        replay_block(&mut next, approved, signatures)?;
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::Approval;
    use crate::hash::PublicKey;
    use crate::validate::tests::{fixture, mine, vote};
    use ed25519_dalek::SigningKey;
    use std::collections::HashSet;

    /// Following with the signatures verified here.
    fn follow(
        chain: &ChainState,
        head: (u64, BlockHash),
        served: &[ApprovedBlock],
        pins: &[(u64, BlockHash)],
    ) -> Result<ChainState, FollowError> {
        super::follow(chain, head, served, pins, Signatures::Here)
    }

    /// A chain of `blocks` blocks, one vote each, approved by two validators.
    fn chain_of(blocks: usize) -> (ChainState, Vec<ApprovedBlock>) {
        let f = fixture(4);
        let keys: Vec<_> = (1..=2u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect();
        let mut genesis = f.chain.genesis().clone();
        genesis.validators = keys
            .iter()
            .map(|k| PublicKey(k.verifying_key().to_bytes()))
            .collect();
        let mut chain = ChainState::new(genesis);
        let mut appended = Vec::new();
        for code in &f.codes[..blocks] {
            let block = mine(&chain, vec![vote(code, 1)]);
            let approvals = keys
                .iter()
                .map(|k| Approval::sign(k, block.hash()))
                .collect();
            chain.append(&block).unwrap();
            appended.push(ApprovedBlock { block, approvals });
        }
        (chain, appended)
    }

    fn head_of(blocks: &[ApprovedBlock]) -> (u64, BlockHash) {
        let last = &blocks.last().unwrap().block;
        (last.header.index, last.hash())
    }

    #[test]
    fn a_copy_follows_the_blocks_after_its_head() {
        let (full, blocks) = chain_of(3);
        let (one, _) = chain_of(1);
        let next = follow(&one, head_of(&blocks), &blocks[1..], &[]).unwrap();
        assert_eq!((next.height(), next.tip()), (full.height(), full.tip()));
        // Nothing new: the copy stays.
        let same = follow(&full, head_of(&blocks), &[], &[]).unwrap();
        assert_eq!(same.tip(), full.tip());
    }

    #[test]
    fn a_shorter_or_rewritten_served_chain_is_a_rollback() {
        let (full, blocks) = chain_of(3);
        let removed = follow(&full, head_of(&blocks[..2]), &[], &[]).unwrap_err();
        assert!(matches!(
            removed,
            FollowError::Removed {
                height: 3,
                ends_at: 2,
                ..
            }
        ));
        assert!(removed.is_rollback());
        let other = BlockHash([9; 32]);
        let rewritten = follow(&full, (3, other), &[], &[]).unwrap_err();
        assert_eq!(
            rewritten,
            FollowError::Rewritten {
                height: 3,
                hash: full.tip(),
                found: other
            }
        );
        // A served block whose parent is not the copy's head.
        let (two, _) = chain_of(2);
        let mut forged = blocks[2].clone();
        forged.block.header.prev = other;
        let err = follow(&two, (3, forged.block.hash()), &[forged], &[]).unwrap_err();
        assert!(matches!(err, FollowError::Rewritten { height: 2, found, .. } if found == other));
    }

    #[test]
    fn a_pinned_block_must_stay_where_it_was() {
        let (one, _) = chain_of(1);
        let (_, blocks) = chain_of(3);
        let pin = (3, blocks[2].block.hash());
        assert!(follow(&one, head_of(&blocks), &blocks[1..], &[pin]).is_ok());
        let moved = (3, BlockHash([5; 32]));
        assert!(matches!(
            follow(&one, head_of(&blocks), &blocks[1..], &[moved]),
            Err(FollowError::Rewritten { height: 3, .. })
        ));
        assert!(matches!(
            follow(&one, head_of(&blocks[..2]), &blocks[1..2], &[pin]),
            Err(FollowError::Removed {
                height: 3,
                ends_at: 2,
                ..
            })
        ));
    }

    #[test]
    fn signatures_verified_elsewhere_count_only_for_the_blocks_that_passed_there() {
        let (one, _) = chain_of(1);
        let (full, mut blocks) = chain_of(3);
        let verified: HashSet<_> = crate::verified_blocks(
            &one.genesis().trustees.election_key,
            one.genesis().candidates.len(),
            blocks.iter().map(|b| &b.block),
        )
        .into_iter()
        .collect();
        assert_eq!(verified.len(), 3);
        let next = super::follow(
            &one,
            head_of(&blocks),
            &blocks[1..],
            &[],
            Signatures::VerifiedFor(&verified),
        )
        .unwrap();
        assert_eq!(next.tip(), full.tip());
        // A vote whose signature was altered (its block re-rooted and re-mined): left out
        // of the verified blocks, so its signature is verified here, and fails.
        let mut vote = blocks[2].block.votes[0].clone();
        vote.signature.0[0] ^= 1;
        blocks[2].block.votes = vec![vote];
        crate::validate::tests::remine_with_votes(&mut blocks[2].block);
        let verified: HashSet<_> = crate::verified_blocks(
            &one.genesis().trustees.election_key,
            one.genesis().candidates.len(),
            blocks.iter().map(|b| &b.block),
        )
        .into_iter()
        .collect();
        assert!(!verified.contains(&blocks[2].block.hash()));
        let err = super::follow(
            &one,
            head_of(&blocks),
            &blocks[1..],
            &[],
            Signatures::VerifiedFor(&verified),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            FollowError::Invalid(ExportError::Rule {
                index: 3,
                rule: crate::RuleError::BadSignature { .. }
            })
        ));
    }

    #[test]
    fn a_served_block_that_breaks_a_rule_is_not_a_rollback() {
        let (one, _) = chain_of(1);
        let (_, mut blocks) = chain_of(2);
        blocks[1].approvals.truncate(1);
        let err = follow(&one, head_of(&blocks), &blocks[1..], &[]).unwrap_err();
        assert!(matches!(
            err,
            FollowError::Invalid(ExportError::NotEnoughApprovals { index: 2, .. })
        ));
        assert!(!err.is_rollback());
    }

    #[test]
    fn a_kept_copy_reads_back_as_the_same_state_in_text_and_in_bytes() {
        let (full, _) = chain_of(3);
        let f = fixture(4);
        let json: ChainState = serde_json::from_slice(&serde_json::to_vec(&full).unwrap()).unwrap();
        let bytes = bincode::serialize(&full).unwrap();
        let binary: ChainState = bincode::deserialize(&bytes).unwrap();
        for back in [json, binary] {
            assert_eq!((back.height(), back.tip()), (full.height(), full.tip()));
            assert_eq!(back.tally(), full.tally());
            assert_eq!(back.genesis_hash(), full.genesis_hash());
            for code in &f.codes {
                let key = code.public_key(full.genesis().election);
                assert_eq!(back.has_voted(&key), full.has_voted(&key));
                assert!(back.is_voter(&key));
            }
        }
        // Keys are their 32 bytes in a binary form, not 64 hex digits.
        let key = f.codes[0].public_key(full.genesis().election);
        assert_eq!(bincode::serialize(&key).unwrap().len(), 8 + 32);
        assert!(bincode::deserialize::<crate::hash::Signature>(&bytes[..20]).is_err());
    }
}
