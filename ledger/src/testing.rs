//! Fixtures for tests and benchmarks (feature `testing`, and this crate's own tests): the
//! trustees a key ceremony run in one process seals, the same for the same seed, and a
//! genesis block around them. One fixture, so that every test and benchmark builds its
//! genesis block the same way.

use crate::ceremony::{run_all, Trustee};
use crate::genesis::{Candidate, CandidateId, ElectionId, Genesis, Trustees};
use crate::hash::PublicKey;
use ed25519_dalek::SigningKey;
use rand_core::SeedableRng;

/// The id of the fixture's key ceremony.
pub const CEREMONY: u64 = 9;

/// A seeded random number generator: the same numbers for the same seed, so a fixture
/// made twice comes out the same.
pub fn rng(seed: u64) -> rand_chacha::ChaCha12Rng {
    rand_chacha::ChaCha12Rng::seed_from_u64(seed)
}

/// The public halves of identity keys.
pub fn public(keys: &[SigningKey]) -> Vec<PublicKey> {
    keys.iter()
        .map(|k| PublicKey(k.verifying_key().to_bytes()))
        .collect()
}

/// The trustees a ceremony of `n` trustees with threshold `t` in `election` seals in its
/// genesis block, with their identity keys and their sides at the end (their key shares).
/// The same `seed` gives the same ceremony (fixtures compare chains built twice).
pub fn sealed_trustees(
    election: ElectionId,
    n: usize,
    t: u16,
    seed: u64,
) -> (Trustees, Vec<SigningKey>, Vec<Trustee>) {
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(seed);
    let ids: Vec<_> = (0..n).map(|_| SigningKey::generate(&mut rng)).collect();
    let (board, trustees) =
        run_all(election, CEREMONY, &ids, t, &mut rng).expect("a ceremony in one process");
    let sealed = Trustees::from_ceremony(election, CEREMONY, t, &public(&ids), &board)
        .expect("the trustees it sealed");
    (sealed, ids, trustees)
}

/// A genesis block of `election` under `trustees`: three candidates (C1 to C3), no voters
/// or validators yet, quorum 2, no proof of work. Callers set what they test, e.g.
/// `Genesis { voters, difficulty: 6, ..genesis(election, trustees) }`.
pub fn genesis(election: ElectionId, trustees: Trustees) -> Genesis {
    Genesis {
        version: crate::GENESIS_VERSION,
        election,
        title: "Test".into(),
        candidates: (1..=3)
            .map(|i| Candidate {
                id: CandidateId(i),
                name: format!("C{i}"),
                description: String::new(),
            })
            .collect(),
        voters: Vec::new(),
        validators: Vec::new(),
        quorum: 2,
        difficulty: 0,
        opened_at: 1000,
        trustees,
    }
}
