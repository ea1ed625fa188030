//! Proof of work: a block hash must start with `difficulty` zero bits.
//!
//! [`PowSearch`] is the miner's fast path. The first 64 header bytes never change while
//! searching, so they are compressed once (the midstate); each nonce then costs one
//! SHA-256 compression of the last block, which holds the nonce and the padding.

use crate::block::{BlockHeader, HEADER_LEN, NONCE_OFFSET};
use crate::hash::BlockHash;
use sha2::digest::generic_array::GenericArray;
use std::ops::Range;

const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Number of leading zero bits in a hash.
pub fn leading_zero_bits(hash: &[u8; 32]) -> u32 {
    let mut bits = 0;
    for &b in hash {
        if b == 0 {
            bits += 8;
        } else {
            return bits + b.leading_zeros();
        }
    }
    bits
}

/// The proof-of-work rule: at least `difficulty` leading zero bits.
pub fn meets_difficulty(hash: &BlockHash, difficulty: u8) -> bool {
    leading_zero_bits(&hash.0) >= u32::from(difficulty)
}

/// Leading zero bits of a hash given as SHA-256 state words (before byte serialisation).
pub fn state_leading_zero_bits(state: &[u32; 8]) -> u32 {
    let mut bits = 0;
    for &w in state {
        if w == 0 {
            bits += 32;
        } else {
            return bits + w.leading_zeros();
        }
    }
    bits
}

/// What a bounded search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchResult {
    /// A nonce meeting the difficulty, if one was found in the range.
    pub solution: Option<u64>,
    /// Nonces tried (up to and including the solution).
    pub tried: u64,
    /// The most leading zero bits seen, a progress hint for the miner's display.
    pub best_zero_bits: u32,
}

/// A header prepared for nonce search: midstate plus the padded last block.
#[derive(Clone)]
pub struct PowSearch {
    midstate: [u32; 8],
    tail: [u8; 64],
}

/// Offset of the nonce inside the last 64-byte block.
const TAIL_NONCE: usize = NONCE_OFFSET - 64;

impl PowSearch {
    /// Prepares a search over `header` (its nonce field is ignored).
    pub fn new(header: &BlockHeader) -> Self {
        let bytes = header.encode();
        let mut midstate = SHA256_IV;
        sha2::compress256(
            &mut midstate,
            std::slice::from_ref(GenericArray::from_slice(&bytes[..64])),
        );
        let mut tail = [0u8; 64];
        let rest = HEADER_LEN - 64;
        tail[..rest].copy_from_slice(&bytes[64..]);
        tail[rest] = 0x80;
        tail[56..].copy_from_slice(&((HEADER_LEN as u64) * 8).to_be_bytes());
        Self { midstate, tail }
    }

    /// SHA-256 state after the header's first 64 bytes, which the nonce does not touch.
    pub fn midstate(&self) -> [u32; 8] {
        self.midstate
    }

    /// The padded last block with a zero nonce, as 16 big-endian message words; the
    /// nonce's little-endian bytes occupy bytes 45..53 (words 11 to 13).
    pub fn tail_words(&self) -> [u32; 16] {
        let mut words = [0u32; 16];
        for (word, chunk) in words.iter_mut().zip(self.tail.chunks_exact(4)) {
            *word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        words
    }

    #[inline]
    fn state_for(&self, tail: &mut [u8; 64], nonce: u64) -> [u32; 8] {
        tail[TAIL_NONCE..TAIL_NONCE + 8].copy_from_slice(&nonce.to_le_bytes());
        let mut state = self.midstate;
        sha2::compress256(
            &mut state,
            std::slice::from_ref(GenericArray::from_slice(&tail[..])),
        );
        state
    }

    /// The block hash the header would have with `nonce`.
    pub fn hash_with_nonce(&self, nonce: u64) -> BlockHash {
        let mut tail = self.tail;
        let state = self.state_for(&mut tail, nonce);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        BlockHash(out)
    }

    /// Tries every nonce in `nonces` in order and stops at the first meeting `difficulty`.
    pub fn search(&self, nonces: Range<u64>, difficulty: u8) -> SearchResult {
        let mut tail = self.tail;
        let mut best = 0;
        let mut tried = 0;
        let want = u32::from(difficulty);
        for nonce in nonces {
            tried += 1;
            let zeros = state_leading_zero_bits(&self.state_for(&mut tail, nonce));
            if zeros > best {
                best = zeros;
            }
            if zeros >= want {
                return SearchResult {
                    solution: Some(nonce),
                    tried,
                    best_zero_bits: best,
                };
            }
        }
        SearchResult {
            solution: None,
            tried,
            best_zero_bits: best,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow_vectors::sample_header as header;

    #[test]
    fn midstate_hash_equals_plain_sha256_of_the_header() {
        let mut h = header();
        let search = PowSearch::new(&h);
        for nonce in [0, 1, 255, 1 << 40, u64::MAX] {
            h.nonce = nonce;
            assert_eq!(search.hash_with_nonce(nonce), h.hash());
        }
    }

    #[test]
    fn found_nonce_meets_the_difficulty() {
        let mut h = header();
        let result = PowSearch::new(&h).search(0..1_000_000, 10);
        let nonce = result.solution.expect("10 bits within a million tries");
        h.nonce = nonce;
        assert!(meets_difficulty(&h.hash(), 10));
        assert_eq!(result.tried, nonce + 1);
        assert!(result.best_zero_bits >= 10);
    }

    #[test]
    fn leading_zero_bits_counts_across_bytes() {
        let mut h = [0u8; 32];
        h[2] = 0b0001_0000;
        assert_eq!(leading_zero_bits(&h), 19);
        assert_eq!(leading_zero_bits(&[0; 32]), 256);
        assert!(meets_difficulty(&BlockHash(h), 19));
        assert!(!meets_difficulty(&BlockHash(h), 20));
    }
}
