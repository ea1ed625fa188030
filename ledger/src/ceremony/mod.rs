//! The trustees' key ceremony, the protocol around elastic-elgamal's committed Pedersen
//! DKG (the mathematics), as everyone checks it afterwards.
//!
//! Every message is signed by its trustee's Ed25519 identity key over a domain tag, the
//! election, the ceremony id, the round, the sender, the recipient (round 3) and the
//! payload, so the server that stores and relays them can neither forge nor move one.
//! Rounds: 1 commitments, 2 public polynomials, 3 secret shares (each encrypted to its
//! recipient), 4 confirmations. A confirmation signs the whole set the genesis block will
//! seal ([`SealedSet`]: the threshold, every seat's identity and verification key, the
//! transcript hash of rounds 1–3 and the election key), as the trustee's own key share
//! gives it. The ceremony is complete when every trustee confirmed the same set, the one
//! the published polynomials give; nobody can seal another without every trustee's
//! signature failing.

use crate::approval::{sign, verifies};
use crate::encoding::{le_u64_at, Writer};
use crate::hash::{sha256, GroupKey, PublicKey, ReceivingKey, Signature, Transcript};
use crate::id::ElectionId;
use crate::sealed_set::{SealedSeat, SealedSet};
use crate::secret::{check_threshold, SecretError, TrusteeKeys, G};
use ed25519_dalek::SigningKey;
use elastic_elgamal::dkg::{
    ParticipantCollectingCommitments, ParticipantCollectingPolynomials,
    ParticipantExchangingSecrets, PublicInfo,
};
use elastic_elgamal::sharing::{ActiveParticipant, Params};
use elastic_elgamal::SecretKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod board;
mod kept;
mod message;
mod trustee;

pub use board::*;
pub use kept::*;
pub use message::*;
pub use trustee::*;

const CEREMONY_DOMAIN: &[u8] = b"ballotchain/ceremony/v1";
const TRANSCRIPT_DOMAIN: &[u8] = b"ballotchain/transcript/v1";
const RECEIVING_DOMAIN: &[u8] = b"ballotchain/trustee-receiving/v1";
const RECEIVING_PROOF_DOMAIN: &[u8] = b"ballotchain/trustee-receiving-key/v1";
const SEEDED_DOMAIN: &[u8] = b"ballotchain/ceremony-randomness/v1";

/// Why a ceremony is not complete, or not sound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    /// A message of another election or ceremony.
    #[error("a message of election {election}, ceremony {ceremony} is not of this ceremony")]
    Foreign { election: ElectionId, ceremony: u64 },
    /// A sender or recipient who is no trustee, or a recipient where none belongs.
    #[error("{round}: trustee {from}'s message is addressed wrongly")]
    Addressed { round: Round, from: u16 },
    /// A signature that is not the sender's.
    #[error("{round}: trustee {from}'s message is not signed by their identity key")]
    Signature { round: Round, from: u16 },
    /// Two messages where one belongs.
    #[error("{round}: trustee {from} sent twice")]
    Twice { round: Round, from: u16 },
    /// A message still missing.
    #[error("{round}: trustee {from} has not sent yet")]
    Missing { round: Round, from: u16 },
    /// A confirmation that does not read, or confirms another set than the ceremony made.
    #[error("trustee {from}'s confirmation is refused: {reason}")]
    Confirmation { from: u16, reason: String },
    /// A confirmation of another transcript.
    #[error("trustee {from} confirmed another transcript")]
    Transcript { from: u16 },
    /// The trustees' keys do not form a key set.
    #[error("{0}")]
    Keys(#[from] SecretError),
    /// This key holds no seat in the ceremony.
    #[error("this key has no seat in this ceremony")]
    NoSeat,
    /// A message the key generation itself refuses (elastic-elgamal's own checks).
    #[error("{round}: trustee {from}'s message is refused: {reason}")]
    Dkg {
        round: Round,
        from: u16,
        reason: String,
    },
    /// A share-receiving key its trustee's identity key did not bind: shares sealed to it
    /// could be read by whoever swapped it in.
    #[error("trustee {trustee}'s share-receiving key is not bound to their identity key")]
    Receiving { trustee: u16 },
    /// A sealed share that does not open: altered, or not sealed by that sender to this
    /// recipient.
    #[error("the share does not open: altered, or not sealed by that trustee to this one")]
    Share,
    /// The board holds a message of this trustee's that its key does not make again: the
    /// side was joined from another copy of the key file by a version that drew its
    /// randomness anew (before the seeded side), or the message was altered.
    #[error("{round}: your message on the board is not the one this key file makes: your part of the ceremony was taken with another copy of the key file, by a version that did not re-make it from the key alone; open the key file you saved after your last turn, or ask the election office to restart the ceremony")]
    NotRemade { round: Round },
    /// The board lacks a message of this trustee's, so its key share cannot be re-made
    /// from it: the trustee's part of the ceremony is not finished.
    #[error("{round}: the board has no such message of yours yet: your part of the ceremony is not finished, so your key share cannot be re-made; take your turn on the ceremony page")]
    NotPosted { round: Round },
    /// Something this trustee made did not turn into bytes: nothing is posted or kept.
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },
}

#[cfg(test)]
pub(crate) mod tests;
