//! A whole chain as exported for offline verification, and its verification.

use crate::approval::Approval;
use crate::block::Block;
use crate::encoding::{DecodeError, Reader, Writer};
use crate::genesis::Genesis;
use crate::hash::{BlockHash, PublicKey, Signature};
use crate::tally::Tally;
use crate::validate::{ChainState, RuleError, Signatures};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// An appended block with the approvals that let it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovedBlock {
    /// The block.
    pub block: Block,
    /// Validator approvals (at least the genesis quorum).
    pub approvals: Vec<Approval>,
}

/// Most approvals one block may carry in the compact encoding (more than any genesis
/// block lists validators).
pub const MAX_APPROVALS: u16 = 1024;

impl ApprovedBlock {
    /// Appends the compact encoding: the block's canonical encoding, the approval count
    /// (u16), then each approval's validator key and signature (each approves this block).
    pub fn write(&self, w: &mut Writer) {
        self.block.write(w);
        w.u16(self.approvals.len() as u16);
        for a in &self.approvals {
            w.raw(&a.validator.0).raw(&a.signature.0);
        }
    }

    /// Reads the compact encoding.
    pub fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let block = Block::read(r)?;
        let hash = block.hash();
        let n = r.u16()?;
        if n > MAX_APPROVALS {
            return Err(DecodeError::TooLong(n.into()));
        }
        let approvals = (0..n)
            .map(|_| {
                Ok(Approval {
                    block: hash,
                    validator: PublicKey(r.array()?),
                    signature: Signature(r.array()?),
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(Self { block, approvals })
    }
}

/// Appended blocks in the compact encoding (what `GET /chain?since=` sends when asked for
/// `application/octet-stream`): their count (u32), then each [`ApprovedBlock::write`].
/// About a third of the JSON, and read without parsing hex.
pub fn encode_blocks(blocks: &[ApprovedBlock]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(blocks.len() as u32);
    for b in blocks {
        b.write(&mut w);
    }
    w.bytes
}

/// Reads [`encode_blocks`]' bytes; at most `max` blocks.
pub fn decode_blocks(bytes: &[u8], max: u32) -> Result<Vec<ApprovedBlock>, DecodeError> {
    let mut r = Reader::new(bytes);
    let n = r.u32()?;
    if n > max {
        return Err(DecodeError::TooLong(n));
    }
    let blocks = (0..n)
        .map(|_| ApprovedBlock::read(&mut r))
        .collect::<Result<_, _>>()?;
    r.finish()?;
    Ok(blocks)
}

/// Everything needed to re-verify an election offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainExport {
    /// Block 0.
    pub genesis: Genesis,
    /// Hash of block 0, as the exporter saw it.
    pub genesis_hash: BlockHash,
    /// Appended blocks, by index from 1.
    pub blocks: Vec<ApprovedBlock>,
    /// The published result (the trustees' shares and the counts), once there is one: it
    /// covers the chain up to its last block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<crate::result::TallyResult>,
}

/// Writes a [`ChainExport`] as its blocks come, one at a time: the same JSON as
/// `serde_json::to_writer(&export)`, without holding the whole chain.
pub struct ExportWriter<W: std::io::Write> {
    out: W,
    blocks: u64,
}

impl<W: std::io::Write> ExportWriter<W> {
    /// Starts the export of the chain that begins with `genesis`.
    pub fn start(
        mut out: W,
        genesis: &Genesis,
        genesis_hash: &BlockHash,
    ) -> serde_json::Result<Self> {
        out.write_all(br#"{"genesis":"#)
            .map_err(serde_json::Error::io)?;
        serde_json::to_writer(&mut out, genesis)?;
        out.write_all(br#","genesis_hash":"#)
            .map_err(serde_json::Error::io)?;
        serde_json::to_writer(&mut out, genesis_hash)?;
        out.write_all(br#","blocks":["#)
            .map_err(serde_json::Error::io)?;
        Ok(Self { out, blocks: 0 })
    }

    /// The next appended block.
    pub fn block(&mut self, block: &ApprovedBlock) -> serde_json::Result<()> {
        if self.blocks > 0 {
            self.out.write_all(b",").map_err(serde_json::Error::io)?;
        }
        serde_json::to_writer(&mut self.out, block)?;
        self.blocks += 1;
        Ok(())
    }

    /// Ends the export, with the published result if there is one; gives the writer back.
    pub fn finish(mut self, result: Option<&crate::result::TallyResult>) -> serde_json::Result<W> {
        self.out.write_all(b"]").map_err(serde_json::Error::io)?;
        if let Some(result) = result {
            self.out
                .write_all(br#","result":"#)
                .map_err(serde_json::Error::io)?;
            serde_json::to_writer(&mut self.out, result)?;
        }
        self.out.write_all(b"}").map_err(serde_json::Error::io)?;
        Ok(self.out)
    }
}

impl ChainExport {
    /// The height and hash of the last block (the genesis block's when there is none).
    pub fn head(&self) -> (u64, BlockHash) {
        (
            self.blocks.len() as u64,
            self.hash_at(self.blocks.len() as u64)
                .unwrap_or(self.genesis_hash),
        )
    }

    /// The hash of the block at `height` (0: the genesis block), if the chain is that
    /// long.
    pub fn hash_at(&self, height: u64) -> Option<BlockHash> {
        match height {
            0 => Some(self.genesis_hash),
            h => self
                .blocks
                .get(usize::try_from(h - 1).ok()?)
                .map(|b| b.block.hash()),
        }
    }
}

/// Why an exported chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The stated genesis hash is not the hash of the genesis block.
    #[error("the genesis hash does not match the genesis block")]
    GenesisHashMismatch,
    /// The genesis block breaks a genesis rule.
    #[error("{0}")]
    Genesis(#[from] crate::genesis::GenesisError),
    /// The published result does not hold.
    #[error("the published result does not hold: {0}")]
    Result(#[from] crate::result::ResultError),
    /// A block breaks a consensus rule.
    #[error("block {index}: {rule}")]
    Rule {
        /// Height of the block.
        index: u64,
        /// The rule broken.
        rule: RuleError,
    },
    /// An approval that is not a valid signature of a listed validator over the block.
    #[error("block {index}: approval by {validator} is not valid")]
    BadApproval {
        /// Height of the block.
        index: u64,
        /// Claimed validator key.
        validator: PublicKey,
    },
    /// Fewer distinct valid approvals than the quorum.
    #[error("block {index}: {have} approvals, quorum is {need}")]
    NotEnoughApprovals {
        /// Height of the block.
        index: u64,
        /// Distinct valid approvals.
        have: usize,
        /// The quorum.
        need: u16,
    },
}

/// Checks the approvals of `block` against the chain's validator list and quorum.
pub fn check_approvals(
    chain: &ChainState,
    block: &BlockHash,
    index: u64,
    approvals: &[Approval],
) -> Result<(), ExportError> {
    let mut distinct = HashSet::new();
    for a in approvals {
        if a.block != *block || !chain.is_validator(&a.validator) || !a.signature_is_valid() {
            return Err(ExportError::BadApproval {
                index,
                validator: a.validator,
            });
        }
        distinct.insert(a.validator);
    }
    let need = chain.genesis().quorum;
    if distinct.len() < usize::from(need) {
        return Err(ExportError::NotEnoughApprovals {
            index,
            have: distinct.len(),
            need,
        });
    }
    Ok(())
}

/// Re-verifies an exported chain from its genesis block: the genesis rules, every block
/// rule (every signature and ballot proof), every approval and the quorum, and the
/// published result if there is one (every share signed and proven, at least the
/// threshold of them, and the counts what the sums decrypt to). Returns the tally the
/// chain yields.
pub fn verify_export(export: &ChainExport) -> Result<Tally, ExportError> {
    let chain = replay(export)?;
    if let Some(result) = &export.result {
        crate::result::check_result(&chain, result)?;
    }
    Ok(chain.tally().clone())
}

/// Re-verifies an exported chain like [`verify_export`] and returns the chain state at
/// its tip, against which a new block can be validated (the validator's browser does).
pub fn replay(export: &ChainExport) -> Result<ChainState, ExportError> {
    replay_with(export, Signatures::Here)
}

/// [`replay`], with the votes' signatures and ballot proofs verified as `signatures`
/// says (a node that recorded every ballot's proof check as it came in replays its own
/// stored chain with [`Signatures::ProofsChecked`]).
pub fn replay_with(
    export: &ChainExport,
    signatures: Signatures,
) -> Result<ChainState, ExportError> {
    if export.genesis.hash() != export.genesis_hash {
        return Err(ExportError::GenesisHashMismatch);
    }
    export.genesis.check_rules()?;
    let mut chain = ChainState::new(export.genesis.clone());
    for ab in &export.blocks {
        replay_block(&mut chain, ab, signatures)?;
    }
    Ok(chain)
}

/// Appends one block of an exported chain to `chain`: every block rule (the votes'
/// signatures and ballot proofs as `signatures` says), then its approvals and the quorum.
/// A chain read block by block (a node's start-up check) replays it so, never holding
/// the whole chain. On an error `chain` is no longer the chain's state.
pub fn replay_block(
    chain: &mut ChainState,
    approved: &ApprovedBlock,
    signatures: Signatures,
) -> Result<(), ExportError> {
    let index = approved.block.header.index;
    chain
        .append_with(&approved.block, signatures)
        .map_err(|rule| ExportError::Rule { index, rule })?;
    check_approvals(chain, &approved.block.hash(), index, &approved.approvals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::tests::{decrypt, fixture, mine, vote};
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    #[test]
    fn an_export_written_a_block_at_a_time_is_the_export_serialised_whole() {
        let written = |export: &ChainExport| {
            let mut writer =
                ExportWriter::start(Vec::new(), &export.genesis, &export.genesis_hash).unwrap();
            for block in &export.blocks {
                writer.block(block).unwrap();
            }
            writer.finish(export.result.as_ref()).unwrap()
        };
        let mut export = export_with(&[1, 2, 3, 1, 2], 2, 2);
        assert_eq!(written(&export), serde_json::to_vec(&export).unwrap());
        let (height, head) = export.head();
        export.result = Some(crate::result::TallyResult {
            height,
            head,
            shares: Vec::new(),
            counts: vec![2, 2, 1],
        });
        assert_eq!(written(&export), serde_json::to_vec(&export).unwrap());
        export.blocks.clear();
        export.result = None;
        assert_eq!(written(&export), serde_json::to_vec(&export).unwrap());
    }

    #[test]
    fn the_compact_encoding_reads_back_and_refuses_what_is_cut_or_too_long() {
        let export = export_with(&[1, 2, 3, 1, 2], 2, 2);
        let bytes = encode_blocks(&export.blocks);
        assert_eq!(decode_blocks(&bytes, 100).unwrap(), export.blocks);
        let json = serde_json::to_vec(&export.blocks).unwrap();
        assert!(
            bytes.len() * 2 < json.len(),
            "{} vs {}",
            bytes.len(),
            json.len()
        );
        assert_eq!(
            decode_blocks(&bytes[..bytes.len() - 1], 100),
            Err(DecodeError::UnexpectedEnd)
        );
        assert_eq!(decode_blocks(&bytes, 2), Err(DecodeError::TooLong(3)));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode_blocks(&longer, 100), Err(DecodeError::Trailing(1)));
        assert_eq!(decode_blocks(&[], 100), Err(DecodeError::UnexpectedEnd));
        // The approvals still verify: each approves the block it came with.
        assert!(verify_export(&ChainExport {
            blocks: decode_blocks(&bytes, 100).unwrap(),
            ..export
        })
        .is_ok());
    }

    fn validators() -> Vec<SigningKey> {
        (1..=3u8)
            .map(|i| SigningKey::from_bytes(&[i; 32]))
            .collect()
    }

    /// A chain of blocks, each approved by the first `approvers` validators.
    fn export_with(choices: &[u32], per_block: usize, approvers: usize) -> ChainExport {
        let keys = validators();
        let mut f = fixture(choices.len() as u8);
        let mut genesis = f.chain.genesis().clone();
        genesis.validators = keys
            .iter()
            .map(|k| PublicKey(k.verifying_key().to_bytes()))
            .collect();
        f.chain = ChainState::new(genesis.clone());
        let mut blocks = Vec::new();
        let votes: Vec<_> = f
            .codes
            .iter()
            .zip(choices)
            .map(|(c, &choice)| vote(c, choice))
            .collect();
        for chunk in votes.chunks(per_block.max(1)) {
            let block = mine(&f.chain, chunk.to_vec());
            f.chain.append(&block).unwrap();
            let approvals = keys[..approvers]
                .iter()
                .map(|k| Approval::sign(k, block.hash()))
                .collect();
            blocks.push(ApprovedBlock { block, approvals });
        }
        ChainExport {
            genesis_hash: genesis.hash(),
            genesis,
            blocks,
            result: None,
        }
    }

    #[test]
    fn approved_chain_verifies_and_tallies() {
        let export = export_with(&[1, 2, 2, 3, 2], 2, 2);
        let tally = verify_export(&export).unwrap();
        assert_eq!(tally.total, 5);
        assert_eq!(decrypt(&export.genesis, &tally), [1, 3, 1]);
        let json = serde_json::to_string(&export).unwrap();
        let back: ChainExport = serde_json::from_str(&json).unwrap();
        assert_eq!(verify_export(&back).unwrap(), tally);
    }

    #[test]
    fn a_chain_of_the_old_genesis_version_is_refused_with_a_clear_message() {
        let mut export = export_with(&[1], 1, 2);
        export.genesis.version = 1;
        export.genesis_hash = export.genesis.hash();
        let err = verify_export(&export).unwrap_err();
        assert!(matches!(err, ExportError::Genesis(_)));
        assert!(err.to_string().contains("version 1"), "{err}");
    }

    #[test]
    fn missing_or_forged_approvals_fail() {
        let export = export_with(&[1, 2], 1, 1);
        assert_eq!(
            verify_export(&export),
            Err(ExportError::NotEnoughApprovals {
                index: 1,
                have: 1,
                need: 2
            })
        );
        let mut export = export_with(&[1, 2], 1, 2);
        let outsider = SigningKey::from_bytes(&[50; 32]);
        let forged = Approval::sign(&outsider, export.blocks[1].block.hash());
        export.blocks[1].approvals[1] = forged;
        assert!(matches!(
            verify_export(&export),
            Err(ExportError::BadApproval { index: 2, .. })
        ));
        let mut export = export_with(&[1, 2], 1, 2);
        let dup = export.blocks[0].approvals[0].clone();
        export.blocks[0].approvals[1] = dup;
        assert!(matches!(
            verify_export(&export),
            Err(ExportError::NotEnoughApprovals { have: 1, .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_valid_chain_tallies_to_the_votes_cast(
            choices in proptest::collection::vec(1u32..=3, 1..12),
            per_block in 1usize..5,
        ) {
            let export = export_with(&choices, per_block, 2);
            let tally = verify_export(&export).unwrap();
            prop_assert_eq!(tally.total as usize, choices.len());
            let counts = decrypt(&export.genesis, &tally);
            for c in 1..=3u32 {
                let cast = choices.iter().filter(|&&x| x == c).count() as u64;
                prop_assert_eq!(counts[c as usize - 1], cast);
            }
        }

        /// Approvals sign the block hash and the hash covers the Merkle root of the votes,
        /// so flipping any byte of an approved block (even to another nonce that happens
        /// to meet the difficulty) must be caught.
        #[test]
        fn any_change_to_a_valid_blocks_bytes_is_rejected(
            position in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let export = export_with(&[1, 2, 3], 3, 2);
            let mut bytes = export.blocks[0].block.encode();
            let i = position.index(bytes.len());
            bytes[i] ^= flip;
            match Block::decode(&bytes) {
                Err(_) => {}
                Ok(changed) => {
                    let mut tampered = export.clone();
                    tampered.blocks[0].block = changed;
                    prop_assert!(verify_export(&tampered).is_err());
                }
            }
        }
    }
}
