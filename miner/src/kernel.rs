//! SHA-256 proof-of-work search over many nonces at once.
//!
//! Same rule and same hashes as [`ledger::PowSearch`], which the server and the native
//! miner use; the tests below check them against each other nonce by nonce. Beyond the
//! midstate (the header's first 64 bytes, hashed once), rounds 0 to 10 of the last block
//! read only message words without nonce bytes, so their result is computed once per
//! template as well and every nonce costs rounds 11 to 63.

use crate::lanes::Lanes;
use ledger::pow::state_leading_zero_bits;
use ledger::{BlockHeader, PowSearch};
use std::ops::Range;

pub use ledger::pow::SearchResult;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Message word holding the first nonce bytes; rounds before it are nonce-free.
const FIRST_NONCE_WORD: usize = 11;

#[inline(always)]
fn round<L: Lanes>(s: &mut [L; 8], k: u32, w: L) {
    let [a, b, c, d, e, f, g, h] = *s;
    let s1 = e.rotr::<6>().xor(e.rotr::<11>()).xor(e.rotr::<25>());
    let ch = L::select(e, f, g);
    let t1 = h.add(s1).add(ch).add(L::splat(k)).add(w);
    let s0 = a.rotr::<2>().xor(a.rotr::<13>()).xor(a.rotr::<22>());
    // Majority: where a and b differ, c decides; where they agree, either does.
    let maj = L::select(a.xor(b), c, b);
    *s = [t1.add(s0.add(maj)), a, b, c, d.add(t1), e, f, g];
}

/// Rounds 16.. with the message schedule kept in a rolling window of 16 words. The macro
/// writes each round out with constant indices so the window lives in registers.
macro_rules! scheduled_rounds {
    ($s:ident, $w:ident; $($r:literal)*) => {$({
        let w15 = $w[($r - 15) & 15];
        let w2 = $w[($r - 2) & 15];
        let s0 = w15.rotr::<7>().xor(w15.rotr::<18>()).xor(w15.shr::<3>());
        let s1 = w2.rotr::<17>().xor(w2.rotr::<19>()).xor(w2.shr::<10>());
        let next = $w[$r & 15].add(s0).add($w[($r - 7) & 15]).add(s1);
        $w[$r & 15] = next;
        round(&mut $s, K[$r], next);
    })*};
}

/// A block header prepared for a many-lane nonce search.
#[derive(Clone, Debug)]
pub struct LaneSearch {
    midstate: [u32; 8],
    words: [u32; 16],
    after_fixed: [u32; 8],
}

impl LaneSearch {
    /// Prepares `header` (its nonce is ignored).
    pub fn new(header: &BlockHeader) -> Self {
        let pow = PowSearch::new(header);
        let midstate = pow.midstate();
        let words = pow.tail_words();
        let mut after_fixed = midstate;
        for (r, &w) in words.iter().enumerate().take(FIRST_NONCE_WORD) {
            round(&mut after_fixed, K[r], w);
        }
        Self {
            midstate,
            words,
            after_fixed,
        }
    }

    /// Final SHA-256 state for nonces `base`, `base + 1`, … one per lane.
    #[inline(always)]
    // The last sixteen rounds write schedule words nobody reads; the compiler drops them.
    #[allow(unused_assignments)]
    pub fn states<L: Lanes>(&self, base: u64) -> [L; 8] {
        let n = |i: usize| base.wrapping_add(i as u64).to_le_bytes();
        let mut w: [L; 16] = self.words.map(L::splat);
        // Bytes 45..53 of the block: the nonce, little-endian (see `PowSearch::tail_words`).
        w[11] = L::from_fn(|i| {
            let b = n(i);
            self.words[11] | u32::from_be_bytes([0, b[0], b[1], b[2]])
        });
        w[12] = L::from_fn(|i| {
            let b = n(i);
            u32::from_be_bytes([b[3], b[4], b[5], b[6]])
        });
        w[13] = L::from_fn(|i| self.words[13] | (u32::from(n(i)[7]) << 24));
        let mut s = self.after_fixed.map(L::splat);
        round(&mut s, K[11], w[11]);
        round(&mut s, K[12], w[12]);
        round(&mut s, K[13], w[13]);
        round(&mut s, K[14], w[14]);
        round(&mut s, K[15], w[15]);
        scheduled_rounds!(s, w;
            16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
            48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63);
        let mut out = s;
        for (o, m) in out.iter_mut().zip(self.midstate) {
            *o = o.add(L::splat(m));
        }
        out
    }

    /// The block hash for one nonce, through the lane kernel.
    pub fn hash_with_nonce<L: Lanes>(&self, nonce: u64) -> [u8; 32] {
        let s = self.states::<L>(nonce);
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(s) {
            chunk.copy_from_slice(&word.lane(0).to_be_bytes());
        }
        out
    }

    /// Tries the nonces of `nonces` in order, `L::LANES` per pass, and stops at the first
    /// one meeting `difficulty`; the same answer as `PowSearch::search`.
    pub fn search<L: Lanes>(&self, nonces: Range<u64>, difficulty: u8) -> SearchResult {
        let want = u32::from(difficulty);
        let mut best = 0;
        let mut base = nonces.start;
        while base < nonces.end {
            let s = self.states::<L>(base);
            let live = (nonces.end - base).min(L::LANES as u64) as usize;
            for i in 0..live {
                let h0 = s[0].lane(i);
                let zeros = if h0 != 0 {
                    h0.leading_zeros()
                } else {
                    state_leading_zero_bits(&core::array::from_fn(|j| s[j].lane(i)))
                };
                best = best.max(zeros);
                if zeros >= want {
                    let nonce = base + i as u64;
                    return SearchResult {
                        solution: Some(nonce),
                        tried: nonce - nonces.start + 1,
                        best_zero_bits: best,
                    };
                }
            }
            base = match base.checked_add(L::LANES as u64) {
                Some(next) => next,
                None => break,
            };
        }
        SearchResult {
            solution: None,
            tried: nonces.end - nonces.start,
            best_zero_bits: best,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::{Pair, X4};
    use crate::vectors::{vector_header, VECTORS};

    #[test]
    fn every_lane_width_gives_ledgers_hash() {
        let header = vector_header();
        let pow = PowSearch::new(&header);
        let lanes = LaneSearch::new(&header);
        for nonce in [
            0,
            1,
            2,
            3,
            4,
            7,
            255,
            256,
            65_535,
            1 << 24,
            1 << 40,
            u64::MAX - 8,
        ] {
            let want = pow.hash_with_nonce(nonce).0;
            assert_eq!(lanes.hash_with_nonce::<u32>(nonce), want, "u32 at {nonce}");
            assert_eq!(lanes.hash_with_nonce::<X4>(nonce), want, "x4 at {nonce}");
            assert_eq!(
                lanes.hash_with_nonce::<Pair<X4>>(nonce),
                want,
                "pair at {nonce}"
            );
            // Every lane of a pass, not just the first.
            let s = lanes.states::<Pair<X4>>(nonce);
            for i in 0..8 {
                let mut h = [0u8; 32];
                for (chunk, word) in h.chunks_exact_mut(4).zip(s) {
                    chunk.copy_from_slice(&word.lane(i).to_be_bytes());
                }
                assert_eq!(h, pow.hash_with_nonce(nonce.wrapping_add(i as u64)).0);
            }
        }
    }

    #[test]
    fn fixed_vectors_match_ledger_and_every_kernel() {
        let header = vector_header();
        let pow = PowSearch::new(&header);
        for (nonce, hex_hash) in VECTORS {
            assert_eq!(pow.hash_with_nonce(*nonce).to_string(), *hex_hash);
        }
        assert_eq!(crate::vectors::check::<u32>(), Ok(VECTORS.len() + 1));
        assert_eq!(crate::vectors::check::<Pair<X4>>(), Ok(VECTORS.len() + 1));
        assert_eq!(crate::vectors::check::<Pair<u32>>(), Ok(VECTORS.len() + 1));
    }

    #[test]
    fn search_finds_the_same_first_solution_as_ledger() {
        let header = vector_header();
        let pow = PowSearch::new(&header);
        let lanes = LaneSearch::new(&header);
        // Ranges that start and end off the lane grid.
        for (range, bits) in [
            (0..200_000, 12u8),
            (3..150_001, 11),
            (1_000_001..1_300_003, 13),
        ] {
            let want = pow.search(range.clone(), bits);
            assert!(want.solution.is_some());
            assert_eq!(lanes.search::<Pair<X4>>(range.clone(), bits), want);
            assert_eq!(lanes.search::<u32>(range.clone(), bits), want);
            let mut solved = header.clone();
            solved.nonce = want.solution.unwrap();
            assert!(ledger::meets_difficulty(&solved.hash(), bits));
        }
        // No solution: every nonce tried, and the best seen agrees too.
        let none = pow.search(10..1_010, 30);
        assert_eq!(none.solution, None);
        assert_eq!(lanes.search::<Pair<X4>>(10..1_010, 30), none);
        assert_eq!(lanes.search::<X4>(10..13, 30).tried, 3);
        assert_eq!(lanes.search::<X4>(5..5, 30).tried, 0);
    }

    #[test]
    fn the_top_of_the_nonce_space_does_not_overflow() {
        let lanes = LaneSearch::new(&vector_header());
        let r = lanes.search::<Pair<X4>>(u64::MAX - 20..u64::MAX, 40);
        assert_eq!(r.tried, 20);
        assert_eq!(r.solution, None);
    }
}
