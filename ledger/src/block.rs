//! Blocks: a fixed-size header (nonce last, for the midstate) and the votes it commits to.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{sha256, BlockHash, MerkleRoot};
use crate::id::ElectionId;
use crate::vote::Vote;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Size of a miner tag in the header.
pub const MINER_TAG_LEN: usize = 16;

/// Encoded header size. 117 bytes = one full 64-byte SHA-256 block plus a 53-byte tail;
/// the tail with its padding (1 + 8 bytes) fits in one more block, so each nonce tried
/// costs exactly one compression once the first block (the midstate) is hashed.
pub const HEADER_LEN: usize = 4 + 8 + 8 + 32 + 32 + 8 + 1 + MINER_TAG_LEN + 8;

/// Offset of the nonce in the encoded header: its last eight bytes.
pub const NONCE_OFFSET: usize = HEADER_LEN - 8;

// Checked at compile time: the tail after the first 64 bytes, plus SHA-256 padding (9
// bytes), fits one block, and the nonce lies in that tail.
const _: () = assert!(HEADER_LEN % 64 + 9 <= 64 && NONCE_OFFSET >= 64);

/// Most votes one block may carry, bounding the work of validating a block.
pub const MAX_VOTES_PER_BLOCK: usize = 1000;

/// A free-form label a miner puts in its blocks (UTF-8, zero-padded), shown in the explorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinerTag(pub [u8; MINER_TAG_LEN]);

impl MinerTag {
    /// A tag from text, cut at a character boundary to fit.
    pub fn from_text(text: &str) -> Self {
        let mut out = [0u8; MINER_TAG_LEN];
        let mut end = text.len().min(MINER_TAG_LEN);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        out[..end].copy_from_slice(&text.as_bytes()[..end]);
        Self(out)
    }

    /// The tag as text, padding removed; invalid UTF-8 is shown with replacement marks.
    pub fn to_text(&self) -> String {
        let end = self.0.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        String::from_utf8_lossy(&self.0[..end]).into_owned()
    }
}

impl Serialize for MinerTag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for MinerTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; MINER_TAG_LEN];
        hex::decode_to_slice(&s, &mut out).map_err(|_| {
            serde::de::Error::custom(format!("miner_tag must be {MINER_TAG_LEN} bytes of hex"))
        })?;
        Ok(Self(out))
    }
}

/// The part of a block that is hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Format version.
    pub version: u32,
    /// The election this chain belongs to.
    pub election: ElectionId,
    /// Height: the genesis block is 0.
    pub index: u64,
    /// Hash of the parent block.
    pub prev: BlockHash,
    /// Merkle root of the votes' receipts.
    pub merkle_root: MerkleRoot,
    /// When the block was made, milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Leading zero bits the hash must have.
    pub difficulty: u8,
    /// The miner's label.
    pub miner_tag: MinerTag,
    /// The proof-of-work counter; last so a miner re-hashes only the final SHA-256 block.
    pub nonce: u64,
}

impl BlockHeader {
    /// The fixed-size canonical encoding.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut w = Writer::default();
        self.write(&mut w);
        let mut out = [0u8; HEADER_LEN];
        out.copy_from_slice(&w.bytes);
        out
    }

    fn write(&self, w: &mut Writer) {
        w.u32(self.version)
            .u64(self.election.0)
            .u64(self.index)
            .raw(&self.prev.0)
            .raw(&self.merkle_root.0)
            .u64(self.timestamp)
            .u8(self.difficulty)
            .raw(&self.miner_tag.0)
            .u64(self.nonce);
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(Self {
            version: r.u32()?,
            election: ElectionId(r.u64()?),
            index: r.u64()?,
            prev: BlockHash(r.array()?),
            merkle_root: MerkleRoot(r.array()?),
            timestamp: r.u64()?,
            difficulty: r.u8()?,
            miner_tag: MinerTag(r.array()?),
            nonce: r.u64()?,
        })
    }

    /// Decodes a header; anything but exactly [`HEADER_LEN`] bytes is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let h = Self::read(&mut r)?;
        r.finish()?;
        Ok(h)
    }

    /// The block hash: SHA-256 of the encoded header.
    pub fn hash(&self) -> BlockHash {
        BlockHash(sha256(&self.encode()))
    }
}

/// A header and the votes whose receipts its Merkle root commits to, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The hashed header.
    pub header: BlockHeader,
    /// The ballots, in Merkle-leaf order.
    pub votes: Vec<Vote>,
}

impl Block {
    /// The block hash.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The canonical encoding: header, vote count, votes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.write(&mut w);
        w.bytes
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        self.header.write(w);
        w.u32(self.votes.len() as u32);
        for v in &self.votes {
            v.write(w);
        }
    }

    pub(crate) fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        let header = BlockHeader::read(r)?;
        let n = r.u32()?;
        if n as usize > MAX_VOTES_PER_BLOCK {
            return Err(DecodeError::TooLong(n));
        }
        let votes = (0..n).map(|_| Vote::read(r)).collect::<Result<_, _>>()?;
        Ok(Self { header, votes })
    }

    /// Decodes the canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let block = Self::read(&mut r)?;
        r.finish()?;
        Ok(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_tail_fits_one_compression() {
        assert_eq!(HEADER_LEN, 117);
    }

    #[test]
    fn miner_tag_keeps_text_and_cuts_at_char_boundary() {
        assert_eq!(MinerTag::from_text("alice").to_text(), "alice");
        let long = "ééééééééé"; // 18 bytes
        assert_eq!(MinerTag::from_text(long).to_text(), "éééééééé");
    }
}
