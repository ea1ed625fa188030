//! Merkle tree over a block's receipts, with inclusion proofs.
//!
//! Leaves and inner nodes are hashed with different prefixes (0x00, 0x01) so an inner
//! node can never pass for a leaf; an odd node is carried up unchanged rather than
//! paired with itself, so no two different vote lists share a root.

use crate::hash::{sha256, MerkleRoot, TxId};
use serde::{Deserialize, Serialize};

fn leaf(tx: &TxId) -> [u8; 32] {
    let mut buf = [0u8; 33];
    buf[1..].copy_from_slice(&tx.0);
    sha256(&buf)
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    sha256(&buf)
}

fn levels(txs: &[TxId]) -> Vec<Vec<[u8; 32]>> {
    let mut levels = vec![txs.iter().map(leaf).collect::<Vec<_>>()];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let below = levels.last().expect("at least one level");
        let up = below
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => node(l, r),
                [only] => *only,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
        levels.push(up);
    }
    levels
}

/// The root over receipts in order; all zeros for no receipts.
pub fn merkle_root(txs: &[TxId]) -> MerkleRoot {
    MerkleRoot(
        levels(txs)
            .last()
            .and_then(|l| l.first().copied())
            .unwrap_or([0; 32]),
    )
}

/// Evidence that a receipt is in a block: the sibling hashes from leaf to root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// Position of the receipt among the block's votes.
    pub index: usize,
    /// Number of votes in the block.
    pub leaves: usize,
    /// Sibling hashes (hex), bottom up; levels where the node had no sibling are skipped.
    pub siblings: Vec<String>,
}

impl MerkleProof {
    /// Proof for the receipt at `index`, or `None` if out of range.
    pub fn new(txs: &[TxId], index: usize) -> Option<Self> {
        if index >= txs.len() {
            return None;
        }
        let mut siblings = Vec::new();
        let mut i = index;
        for level in levels(txs).iter().take_while(|l| l.len() > 1) {
            let sib = i ^ 1;
            if sib < level.len() {
                siblings.push(hex::encode(level[sib]));
            }
            i /= 2;
        }
        Some(Self {
            index,
            leaves: txs.len(),
            siblings,
        })
    }

    /// Whether this proof links `tx` to `root`.
    pub fn verify(&self, tx: &TxId, root: &MerkleRoot) -> bool {
        if self.index >= self.leaves {
            return false;
        }
        let mut acc = leaf(tx);
        let (mut i, mut width) = (self.index, self.leaves);
        let mut sibs = self.siblings.iter();
        while width > 1 {
            let sib = i ^ 1;
            if sib < width {
                let Some(hex_sib) = sibs.next() else {
                    return false;
                };
                let mut s = [0u8; 32];
                if hex::decode_to_slice(hex_sib, &mut s).is_err() {
                    return false;
                }
                acc = if i % 2 == 0 {
                    node(&acc, &s)
                } else {
                    node(&s, &acc)
                };
            }
            i /= 2;
            width = width.div_ceil(2);
        }
        sibs.next().is_none() && acc == root.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txs(n: u8) -> Vec<TxId> {
        (0..n).map(|i| TxId([i; 32])).collect()
    }

    #[test]
    fn every_receipt_has_a_proof_that_verifies_only_for_itself() {
        for n in 1..=9u8 {
            let list = txs(n);
            let root = merkle_root(&list);
            for (i, tx) in list.iter().enumerate() {
                let proof = MerkleProof::new(&list, i).unwrap();
                assert!(proof.verify(tx, &root), "n={n} i={i}");
                assert!(!proof.verify(&TxId([99; 32]), &root));
            }
        }
    }

    #[test]
    fn order_and_duplication_change_the_root() {
        let list = txs(3);
        let mut swapped = list.clone();
        swapped.swap(0, 1);
        assert_ne!(merkle_root(&list), merkle_root(&swapped));
        let mut dup = list.clone();
        dup.push(list[2]);
        assert_ne!(merkle_root(&list), merkle_root(&dup));
        assert_eq!(merkle_root(&[]), MerkleRoot([0; 32]));
    }
}
