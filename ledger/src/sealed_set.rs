//! What every trustee confirms in the ceremony's round 4, and the genesis block seals: the
//! whole set of keys the ceremony made, as that trustee's own key share gives it.
//!
//! A confirmation signs all of it (the election, the ceremony, the threshold, every seat's
//! identity and verification key in order, the transcript and the election key), so no
//! seat, threshold or key can be changed or added afterwards without every trustee's
//! signature failing: an operator holding the genesis block cannot swap in a seat of its
//! own whose key steers the election key to one it knows.

use crate::encoding::{DecodeError, Reader, Writer};
use crate::hash::{GroupKey, PublicKey, Transcript};
use crate::id::ElectionId;
use crate::secret::TrusteeKeys;

/// The tag every sealed set's encoding starts with.
pub const SEALED_SET_TAG: &[u8] = b"ballotchain/sealed-set/v1";

/// Bytes of one seat in the encoding: its identity key and its verification key.
const SEAT_LEN: usize = 64;

/// Bytes of the encoding around the seats: tag, election, ceremony, threshold, seat count,
/// transcript and election key.
const FIXED_LEN: usize = SEALED_SET_TAG.len() + 8 + 8 + 2 + 2 + 32 + 32;

/// One seat of a sealed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedSeat {
    /// The identity key that signs the trustee's messages.
    pub identity: PublicKey,
    /// The public key of the trustee's key share.
    pub verification_key: GroupKey,
}

/// The set of keys a key ceremony made, which each trustee's confirmation signs whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSet {
    /// The election.
    pub election: ElectionId,
    /// The ceremony's id.
    pub ceremony: u64,
    /// How many trustees it takes to decrypt.
    pub threshold: u16,
    /// Every seat, in seat order.
    pub seats: Vec<SealedSeat>,
    /// The hash of every message of rounds 1–3
    /// ([`transcript_hash`](crate::ceremony::transcript_hash)).
    pub transcript: Transcript,
    /// The key ballots are encrypted to: what the seats' verification keys combine to.
    pub election_key: GroupKey,
}

impl SealedSet {
    /// The encoding a confirmation carries and its signature covers.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.raw(SEALED_SET_TAG)
            .u64(self.election.0)
            .u64(self.ceremony)
            .u16(self.threshold)
            .u16(self.seats.len() as u16);
        for seat in &self.seats {
            w.raw(&seat.identity.0).raw(&seat.verification_key.0);
        }
        w.raw(&self.transcript.0).raw(&self.election_key.0);
        w.bytes
    }

    /// Decodes [`SealedSet::encode`] strictly: the tag, at least one seat, and exactly the
    /// bytes its seat count says (nothing missing, nothing after).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let tag: [u8; SEALED_SET_TAG.len()] = r.array()?;
        if tag != SEALED_SET_TAG {
            return Err(DecodeError::Tag);
        }
        let election = ElectionId(r.u64()?);
        let ceremony = r.u64()?;
        let threshold = r.u16()?;
        let count = r.u16()?;
        let expected = FIXED_LEN + SEAT_LEN * usize::from(count);
        if count == 0 || bytes.len() != expected {
            return Err(DecodeError::SeatCount {
                seats: count,
                bytes: bytes.len(),
            });
        }
        let seats = (0..count)
            .map(|_| {
                Ok(SealedSeat {
                    identity: PublicKey(r.array()?),
                    verification_key: GroupKey(r.array()?),
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        let set = Self {
            election,
            ceremony,
            threshold,
            seats,
            transcript: Transcript(r.array()?),
            election_key: GroupKey(r.array()?),
        };
        r.finish()?;
        Ok(set)
    }

    /// The seats' identity keys, in seat order.
    pub fn identities(&self) -> Vec<PublicKey> {
        self.seats.iter().map(|s| s.identity).collect()
    }

    /// The seats' verification keys, in seat order.
    pub fn verification_keys(&self) -> Vec<GroupKey> {
        self.seats.iter().map(|s| s.verification_key).collect()
    }

    /// The threshold and verification keys, as the secret-ballot code takes them.
    pub fn keys(&self) -> TrusteeKeys {
        TrusteeKeys {
            threshold: self.threshold,
            keys: self.verification_keys(),
        }
    }

    /// What differs between this set and `other`, in words (the first difference found),
    /// or `None` when they are the same.
    pub fn difference(&self, other: &SealedSet) -> Option<String> {
        if self.election != other.election || self.ceremony != other.ceremony {
            return Some(format!(
                "ceremony {} of election {} instead of ceremony {} of election {}",
                other.ceremony, other.election, self.ceremony, self.election
            ));
        }
        if self.threshold != other.threshold {
            return Some(format!(
                "a threshold of {} instead of {}",
                other.threshold, self.threshold
            ));
        }
        if self.seats.len() != other.seats.len() {
            return Some(format!(
                "{} seat(s) instead of {}",
                other.seats.len(),
                self.seats.len()
            ));
        }
        if let Some(at) =
            (0..self.seats.len()).find(|&i| self.seats[i].identity != other.seats[i].identity)
        {
            return Some(format!("another trustee's identity key at seat {at}"));
        }
        if let Some(at) = (0..self.seats.len())
            .find(|&i| self.seats[i].verification_key != other.seats[i].verification_key)
        {
            return Some(format!("another verification key at seat {at}"));
        }
        if self.transcript != other.transcript {
            return Some("another transcript".into());
        }
        if self.election_key != other.election_key {
            return Some("another election key".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seats: u16) -> SealedSet {
        SealedSet {
            election: ElectionId(3),
            ceremony: 7,
            threshold: 2,
            seats: (0..seats)
                .map(|i| SealedSeat {
                    identity: PublicKey([i as u8 + 1; 32]),
                    verification_key: GroupKey([i as u8 + 100; 32]),
                })
                .collect(),
            transcript: Transcript([9; 32]),
            election_key: GroupKey([8; 32]),
        }
    }

    #[test]
    fn a_sealed_set_round_trips_and_starts_with_its_tag() {
        let set = sample(3);
        let bytes = set.encode();
        assert!(bytes.starts_with(b"ballotchain/sealed-set/v1"));
        assert_eq!(bytes.len(), FIXED_LEN + 3 * SEAT_LEN);
        assert_eq!(SealedSet::decode(&bytes), Ok(set.clone()));
        assert_eq!(set.difference(&set), None);
    }

    #[test]
    fn a_sealed_set_of_the_wrong_length_seat_count_or_tag_is_refused() {
        let set = sample(3);
        let bytes = set.encode();
        let count_at = SEALED_SET_TAG.len() + 8 + 8 + 2;
        // One byte short, one too many, a seat dropped from the bytes or from the count.
        let short = &bytes[..bytes.len() - 1];
        assert!(SealedSet::decode(short).is_err());
        let mut long = bytes.clone();
        long.push(0);
        assert!(SealedSet::decode(&long).is_err());
        for count in [0u16, 2, 4, u16::MAX] {
            let mut other = bytes.clone();
            other[count_at..count_at + 2].copy_from_slice(&count.to_le_bytes());
            assert!(
                matches!(
                    SealedSet::decode(&other),
                    Err(DecodeError::SeatCount { seats, .. }) if seats == count
                ),
                "{count} seats"
            );
        }
        let mut fewer = bytes.clone();
        fewer.drain(count_at + 2..count_at + 2 + SEAT_LEN);
        assert!(SealedSet::decode(&fewer).is_err());
        // The old confirmation (transcript and verification key, 64 bytes) does not read.
        assert!(SealedSet::decode(&[[1u8; 32], [2; 32]].concat()).is_err());
        let mut tag = bytes.clone();
        tag[0] ^= 1;
        assert_eq!(SealedSet::decode(&tag), Err(DecodeError::Tag));
        assert!(SealedSet::decode(&[]).is_err());
    }

    #[test]
    fn the_difference_between_two_sets_is_named() {
        let set = sample(3);
        let with = |change: &dyn Fn(&mut SealedSet)| {
            let mut other = set.clone();
            change(&mut other);
            set.difference(&other).unwrap()
        };
        assert!(with(&|s| s.threshold = 3).contains("threshold of 3"));
        assert!(with(&|s| s.seats.pop().map(drop).unwrap()).contains("2 seat(s)"));
        assert!(with(&|s| s.seats.swap(0, 1)).contains("seat 0"));
        assert!(
            with(&|s| s.seats[2].verification_key = GroupKey([0; 32])).contains("key at seat 2")
        );
        assert!(with(&|s| s.election_key = GroupKey([0; 32])).contains("election key"));
        assert!(with(&|s| s.transcript = Transcript([0; 32])).contains("transcript"));
        assert!(with(&|s| s.ceremony = 8).contains("ceremony 8"));
    }
}
