//! Newtypes for hashes, keys and signatures: raw bytes inside, hex at the edges.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A hex string that does not decode to the expected number of bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} bytes of hex")]
pub struct HexError {
    /// How many bytes the hex string had to decode to.
    pub expected: usize,
}

macro_rules! byte_newtype {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Number of bytes in this value.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Lower-case hex, as used in the API and the explorer.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Builds the value from a slice of exactly the right length.
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                <[u8; $len]>::try_from(bytes).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = HexError;
            fn from_str(s: &str) -> Result<Self, HexError> {
                let mut out = [0u8; $len];
                hex::decode_to_slice(s.trim(), &mut out).map_err(|_| HexError { expected: $len })?;
                Ok(Self(out))
            }
        }

        // Hex in text formats (JSON); the bytes themselves in binary ones (a copy of the
        // chain kept in a browser's storage).
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&self.to_hex())
                } else {
                    s.serialize_bytes(&self.0)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = String::deserialize(d)?;
                    s.parse().map_err(serde::de::Error::custom)
                } else {
                    d.deserialize_bytes(BytesVisitor::<$len>).map(Self)
                }
            }
        }
    };
}

/// Reads exactly `N` bytes from a binary format.
struct BytesVisitor<const N: usize>;

impl<'de, const N: usize> serde::de::Visitor<'de> for BytesVisitor<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{N} bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<[u8; N], E> {
        v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<[u8; N], A::Error> {
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = seq
                .next_element()?
                .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
        }
        Ok(out)
    }
}

byte_newtype!(
    /// SHA-256 of a block header (or of the genesis encoding for block 0).
    BlockHash, 32
);
byte_newtype!(
    /// SHA-256 of a vote's encoding: the voter's receipt.
    TxId, 32
);
byte_newtype!(
    /// Root of the Merkle tree over a block's vote receipts.
    MerkleRoot, 32
);
byte_newtype!(
    /// An Ed25519 public key (a voter's or a validator's).
    PublicKey, 32
);
byte_newtype!(
    /// An Ed25519 signature.
    Signature, 64
);
byte_newtype!(
    /// A trustee's X25519 share-receiving key (see `ceremony`).
    ReceivingKey, 32
);
byte_newtype!(
    /// A Ristretto public key of the secret ballot: the election key, or a trustee's
    /// verification key (the public half of its key share).
    GroupKey, 32
);
byte_newtype!(
    /// The hash of a key ceremony's messages of rounds 1–3, which every trustee confirms.
    Transcript, 32
);
byte_newtype!(
    /// The hash of a voter roll: its domain tag and every voter's key in order
    /// ([`crate::roll_hash`]), which the office publishes and anyone recomputes.
    RollHash, 32
);

/// Variable-length bytes as hex in text formats and as bytes in binary ones, for
/// `#[serde(with = "crate::hash::var_hex")]`.
pub mod var_hex {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(bytes))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            hex::decode(text.trim()).map_err(|_| serde::de::Error::custom("expected hex bytes"))
        } else {
            d.deserialize_byte_buf(Bytes)
        }
    }

    struct Bytes;

    impl<'de> serde::de::Visitor<'de> for Bytes {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("bytes")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
            while let Some(byte) = seq.next_element()? {
                out.push(byte);
            }
            Ok(out)
        }
    }
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_wrong_length() {
        let h = BlockHash([7; 32]);
        let text = h.to_string();
        assert_eq!(text.parse::<BlockHash>().unwrap(), h);
        assert_eq!("abcd".parse::<BlockHash>(), Err(HexError { expected: 32 }));
        assert!("zz".repeat(32).parse::<BlockHash>().is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<BlockHash>(&json).unwrap(), h);
    }
}
