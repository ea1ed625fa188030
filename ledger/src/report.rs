//! Every block rule run on its own, for the validator's dashboard: where
//! [`validate_block`](crate::validate_block) stops at the first broken rule, a validator
//! should see each check and its outcome. A block is valid exactly when every check passes.

use crate::block::{Block, MAX_VOTES_PER_BLOCK};
use crate::merkle::merkle_root;
use crate::pow::leading_zero_bits;
use crate::validate::{ciphertexts_hash, ChainState};
use crate::vote::Vote;
use crate::FORMAT_VERSION;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// One rule and its outcome on one block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What is checked, in a validator's words.
    pub name: String,
    /// Whether the block passes it.
    pub passed: bool,
    /// The figures behind the outcome.
    pub detail: String,
}

fn check(name: &str, passed: bool, detail: String) -> Check {
    Check {
        name: name.to_owned(),
        passed,
        detail,
    }
}

/// Positions (1-based, as people count) of the votes failing `bad`.
fn failing(votes: &[Vote], mut bad: impl FnMut(&Vote) -> bool) -> Vec<usize> {
    votes
        .iter()
        .enumerate()
        .filter(|(_, v)| bad(v))
        .map(|(i, _)| i + 1)
        .collect()
}

fn vote_check(name: &str, total: usize, bad: Vec<usize>, what: &str) -> Check {
    let detail = if bad.is_empty() {
        format!("all {total} votes {what}")
    } else {
        let list: Vec<String> = bad.iter().take(20).map(usize::to_string).collect();
        format!(
            "{} of {total} votes fail: vote {}{}",
            bad.len(),
            list.join(", "),
            if bad.len() > 20 { ", …" } else { "" }
        )
    };
    check(name, bad.is_empty(), detail)
}

/// Runs every rule of `validate_block` on `block` against `chain`, each independently.
pub fn check_block(chain: &ChainState, block: &Block) -> Vec<Check> {
    let h = &block.header;
    let g = chain.genesis();
    let zeros = leading_zero_bits(&block.hash().0);
    let receipts: Vec<_> = block.votes.iter().map(Vote::tx_id).collect();
    let mut seen = HashSet::new();
    let mut ballots = HashSet::new();
    let votes = &block.votes;
    let n = votes.len();
    vec![
        check(
            "Format version",
            h.version == FORMAT_VERSION,
            format!("version {}, expected {FORMAT_VERSION}", h.version),
        ),
        check(
            "Election",
            h.election == g.election,
            format!(
                "block names election {}, chain is election {}",
                h.election.0, g.election.0
            ),
        ),
        check(
            "Height follows the tip",
            h.index == chain.height() + 1,
            format!("block height {}, tip height {}", h.index, chain.height()),
        ),
        check(
            "Parent is the tip",
            h.prev == chain.tip(),
            format!("parent {}, tip {}", h.prev, chain.tip()),
        ),
        check(
            "Difficulty is the election's",
            h.difficulty == g.difficulty,
            format!(
                "{} bits in the header, {} in the genesis block",
                h.difficulty, g.difficulty
            ),
        ),
        check(
            "Proof of work",
            zeros >= u32::from(g.difficulty),
            format!(
                "hash has {zeros} leading zero bits, {} required",
                g.difficulty
            ),
        ),
        check(
            "Timestamp not before the parent",
            h.timestamp >= chain.tip_timestamp(),
            format!(
                "block {} ms, parent {} ms",
                h.timestamp,
                chain.tip_timestamp()
            ),
        ),
        check(
            "Number of votes",
            (1..=MAX_VOTES_PER_BLOCK).contains(&n),
            format!("{n} votes, 1 to {MAX_VOTES_PER_BLOCK} allowed"),
        ),
        check(
            "Merkle root of the votes",
            merkle_root(&receipts) == h.merkle_root,
            format!(
                "header {}, recomputed {}",
                h.merkle_root,
                merkle_root(&receipts)
            ),
        ),
        vote_check(
            "Votes name this election",
            n,
            failing(votes, |v| v.election != g.election),
            "name this election",
        ),
        vote_check(
            "Ballots read, and copy no other ballot",
            n,
            failing(votes, |v| match v.read_ballot() {
                Ok(b) => {
                    let id = ciphertexts_hash(&b);
                    chain.has_ballot(&id) || !ballots.insert(id)
                }
                Err(_) => true,
            }),
            "carry a ballot of their own",
        ),
        vote_check(
            "Ballot proofs (one candidate, this election's key)",
            n,
            failing(votes, |v| {
                v.read_ballot().map_or(true, |b| {
                    b.verify(&g.trustees.election_key, g.candidates.len())
                        .is_err()
                })
            }),
            "prove a choice of exactly one candidate under the election key",
        ),
        vote_check(
            "Voters are eligible (in the registry)",
            n,
            failing(votes, |v| !chain.is_voter(&v.voter)),
            "come from registered voters",
        ),
        vote_check(
            "No voter already on the chain",
            n,
            failing(votes, |v| chain.has_voted(&v.voter)),
            "come from voters with no vote on the chain",
        ),
        vote_check(
            "No voter twice in the block",
            n,
            failing(votes, |v| !seen.insert(v.voter)),
            "come from different voters",
        ),
        vote_check(
            "Vote signatures",
            n,
            failing(votes, |v| !v.signature_is_valid()),
            "carry a valid signature by their voter",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{BlockHash, Signature};
    use crate::validate::tests::{election_key, fixture, mine, remine, signed, vote};
    use crate::validate_block;

    fn failed(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.clone())
            .collect()
    }

    #[test]
    fn a_valid_block_passes_every_check() {
        let f = fixture(2);
        let block = mine(&f.chain, vec![vote(&f.codes[0], 1), vote(&f.codes[1], 2)]);
        let checks = check_block(&f.chain, &block);
        assert_eq!(checks.len(), 16);
        assert_eq!(failed(&checks), Vec::<String>::new());
        assert!(validate_block(&f.chain, &block).is_ok());
    }

    #[test]
    fn every_broken_rule_is_shown_not_only_the_first() {
        let f = fixture(2);
        let two_marks = crate::secret::Ballot::encrypt_marks(
            &election_key(),
            &[true, true, false],
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        let mut votes = vec![
            vote(&f.codes[0], 1),
            signed(&f.codes[0], two_marks.encode().unwrap()),
        ];
        votes[1].signature = Signature([1; 64]);
        let mut block = mine(&f.chain, votes);
        block.header.prev = BlockHash([3; 32]);
        remine(&mut block.header);
        let names = failed(&check_block(&f.chain, &block));
        assert_eq!(
            names,
            [
                "Parent is the tip",
                "Ballot proofs (one candidate, this election's key)",
                "No voter twice in the block",
                "Vote signatures"
            ]
        );
        assert!(validate_block(&f.chain, &block).is_err());
        let sig = check_block(&f.chain, &block).pop().unwrap();
        assert_eq!(sig.detail, "1 of 2 votes fail: vote 2");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The report and `validate_block` never disagree, whatever byte is changed.
        #[test]
        fn report_agrees_with_validate_block(
            position in proptest::prelude::any::<proptest::sample::Index>(),
            flip in 0u8..=255,
        ) {
            let f = fixture(3);
            let block = mine(&f.chain, vec![vote(&f.codes[0], 1), vote(&f.codes[1], 2), vote(&f.codes[2], 3)]);
            let mut bytes = block.encode();
            let i = position.index(bytes.len());
            bytes[i] ^= flip;
            if let Ok(changed) = Block::decode(&bytes) {
                let all_pass = check_block(&f.chain, &changed).iter().all(|c| c.passed);
                proptest::prop_assert_eq!(validate_block(&f.chain, &changed).is_ok(), all_pass);
            }
        }
    }
}
