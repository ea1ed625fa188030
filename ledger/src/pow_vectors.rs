//! Fixed proof-of-work test vectors: a sample header and its block hash at several
//! nonces. The native tests check them here; the browser miner's kernels are checked
//! against the same list in every worker at start (crate `miner`).

use crate::block::{BlockHeader, MinerTag};
use crate::hash::{BlockHash, MerkleRoot};
use crate::id::ElectionId;

/// A header with every field set to something recognisable.
pub fn sample_header() -> BlockHeader {
    BlockHeader {
        version: 1,
        election: ElectionId(42),
        index: 7,
        prev: BlockHash([0x11; 32]),
        merkle_root: MerkleRoot([0x22; 32]),
        timestamp: 1_764_000_000_000,
        difficulty: 16,
        miner_tag: MinerTag::from_text("vector"),
        nonce: 0,
    }
}

/// Nonces and the block hash `sample_header()` has with each (checked by this crate's tests).
pub const POW_VECTORS: &[(u64, &str)] = &[
    (
        0,
        "0aa35e16e5caecf4cd34cd1af638439a8dae5082aa7a7999e613859129c9b1ae",
    ),
    (
        1,
        "a465a181b51bf500634de7fb41ba1aa2b7a96ed6e321f082e3b3392b667aaf83",
    ),
    (
        2,
        "4b7be149b11b64ec6582994cfe52d835b4aa50a83c4317b486dc803d0e594179",
    ),
    (
        3,
        "7a7b62d87fe387a2c958ea4cfa695d1452b13f4a4823ef9dbb0a29d20d49299d",
    ),
    (
        4,
        "b7b2f7045781214c7d3afeea7140d858e48e3e789f21dc912305e627086d93fa",
    ),
    (
        5,
        "3fa1bc442fcab57ec6bc77e55c8b45495ff314bc28977bb7e5c6ded782025a35",
    ),
    (
        6,
        "6987c1c0c24ce49212ead9f32063472c5cbdaca07ae172943825141663d273dc",
    ),
    (
        7,
        "2920f6aec51dc0fc6c3a36b390b2b2d2979a3be6c20271df9ff4144d184371e9",
    ),
    (
        8,
        "26cb7be8e4b73ff090e86d12e31b3c2e0c08b71713ab9d025220478e7ba30e96",
    ),
    (
        255,
        "faea3dca510b84680dc2288c9ea362a5e82784ddc9302dfe131526e28020361f",
    ),
    (
        65_536,
        "3ce632eb38e3563ec838ccf23ed60404ea5ee209b52d4a9c0252708392a5cb31",
    ),
    (
        1 << 32,
        "41d6039dca1e005cec4de6aeea67b634a05905a153e849e19644a9acd167fbb8",
    ),
    (
        u64::MAX - 1,
        "0e4221ce385c3978eb85db581ac339132781ae3e615e9f89b9334468e3af42ae",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::PowSearch;

    #[test]
    fn the_vectors_are_ledgers_hashes() {
        let mut header = sample_header();
        for (nonce, want) in POW_VECTORS {
            header.nonce = *nonce;
            assert_eq!(header.hash().to_string(), *want);
            assert_eq!(
                PowSearch::new(&header).hash_with_nonce(*nonce).to_string(),
                *want
            );
        }
    }
}
