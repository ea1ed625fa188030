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
use crate::genesis::ElectionId;
use crate::hash::{sha256, PublicKey, ReceivingKey, Signature};
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

const CEREMONY_DOMAIN: &[u8] = b"ballotchain/ceremony/v1";
const TRANSCRIPT_DOMAIN: &[u8] = b"ballotchain/transcript/v1";
const RECEIVING_DOMAIN: &[u8] = b"ballotchain/trustee-receiving/v1";
const RECEIVING_PROOF_DOMAIN: &[u8] = b"ballotchain/trustee-receiving-key/v1";

/// A trustee's share-receiving key (X25519), derived from its identity key's seed: the
/// trustee's key file holds both by sealing the one seed.
pub fn receiving_secret(identity: &SigningKey) -> [u8; 32] {
    sha256(&[RECEIVING_DOMAIN, identity.as_bytes()].concat())
}

/// The public half of [`receiving_secret`].
pub fn receiving_public(identity: &SigningKey) -> [u8; 32] {
    crypto_box::SecretKey::from(receiving_secret(identity))
        .public_key()
        .to_bytes()
}

/// The identity key's signature binding its share-receiving key (sent with the
/// enrolment, so the server cannot swap in a key of its own).
pub fn prove_receiving_key(identity: &SigningKey) -> Signature {
    let public = receiving_public(identity);
    sign(identity, &[RECEIVING_PROOF_DOMAIN, &public].concat()).1
}

/// Whether `proof` is `identity`'s binding of the share-receiving key `receiving`.
pub fn receiving_key_is_bound(
    identity: &PublicKey,
    receiving: &[u8; 32],
    proof: &Signature,
) -> bool {
    verifies(
        identity,
        &[RECEIVING_PROOF_DOMAIN, receiving].concat(),
        proof,
    )
}

/// Round 3: a 32-byte secret share sealed to its recipient with crypto_box (X25519 and
/// XSalsa20-Poly1305) from the sender's share-receiving key, so only the recipient opens
/// it and it knows the sender: a random 24-byte nonce, then the box.
pub fn seal_share<R: rand_core::CryptoRng + rand_core::RngCore>(
    sender: &SigningKey,
    recipient: &[u8; 32],
    share: &[u8; 32],
    rng: &mut R,
) -> Result<Vec<u8>, CeremonyError> {
    use crypto_box::aead::Aead;
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let sealer = crypto_box::SalsaBox::new(
        &crypto_box::PublicKey::from(*recipient),
        &crypto_box::SecretKey::from(receiving_secret(sender)),
    );
    let sealed = sealer
        .encrypt(&nonce.into(), share.as_slice())
        .map_err(|e| CeremonyError::Encode {
            what: "a sealed share",
            reason: e.to_string(),
        })?;
    Ok([nonce.as_slice(), &sealed].concat())
}

/// Opens a share sealed by [`seal_share`] from the trustee whose share-receiving key is
/// `sender`. Fails on anything altered, or sealed to another trustee or by another.
pub fn open_share(
    recipient: &SigningKey,
    sender: &[u8; 32],
    payload: &[u8],
) -> Result<[u8; 32], CeremonyError> {
    use crypto_box::aead::Aead;
    let refused = || CeremonyError::Share;
    if payload.len() < 24 {
        return Err(refused());
    }
    let (nonce, sealed) = payload.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().map_err(|_| refused())?;
    let opener = crypto_box::SalsaBox::new(
        &crypto_box::PublicKey::from(*sender),
        &crypto_box::SecretKey::from(receiving_secret(recipient)),
    );
    opener
        .decrypt(&nonce.into(), sealed)
        .map_err(|_| refused())?
        .try_into()
        .map_err(|_| refused())
}

/// The ceremony's rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Round {
    /// A 32-byte commitment to the trustee's polynomial (broadcast).
    Commitments = 1,
    /// The public polynomial with its proof of possession and the commitment's opening
    /// (broadcast).
    Polynomials = 2,
    /// One secret share, encrypted to its recipient's share-receiving key.
    Shares = 3,
    /// The whole set of keys the trustee's ceremony made ([`SealedSet`]).
    Confirmations = 4,
}

impl std::fmt::Display for Round {
    /// "round 2 (polynomials)".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Commitments => "commitments",
            Self::Polynomials => "polynomials",
            Self::Shares => "shares",
            Self::Confirmations => "confirmations",
        };
        write!(f, "round {} ({name})", *self as u8)
    }
}

/// One signed message of the ceremony.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyMessage {
    pub election: ElectionId,
    /// The ceremony's id (a restart is a new one).
    pub ceremony: u64,
    pub round: Round,
    /// The sender's index among the trustees.
    pub from: u16,
    /// The recipient's index (round 3 only).
    pub to: Option<u16>,
    #[serde(with = "crate::hash::var_hex")]
    pub payload: Vec<u8>,
    /// The sender's identity key's signature over all of the above.
    pub signature: Signature,
}

impl CeremonyMessage {
    /// The bytes a trustee signs.
    fn signed_bytes(
        election: ElectionId,
        ceremony: u64,
        round: Round,
        from: u16,
        to: Option<u16>,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut w = Writer::default();
        w.raw(CEREMONY_DOMAIN)
            .u64(election.0)
            .u64(ceremony)
            .u8(round as u8)
            .u16(from)
            .u8(u8::from(to.is_some()))
            .u16(to.unwrap_or(0))
            .var_bytes(payload);
        w.bytes
    }

    /// Signs a message with the trustee's identity key.
    pub fn sign(
        identity: &SigningKey,
        election: ElectionId,
        ceremony: u64,
        round: Round,
        from: u16,
        to: Option<u16>,
        payload: Vec<u8>,
    ) -> Self {
        let bytes = Self::signed_bytes(election, ceremony, round, from, to, &payload);
        let (_, signature) = sign(identity, &bytes);
        Self {
            election,
            ceremony,
            round,
            from,
            to,
            payload,
            signature,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        Self::signed_bytes(
            self.election,
            self.ceremony,
            self.round,
            self.from,
            self.to,
            &self.payload,
        )
    }

    /// Whether `identity` signed this message.
    pub fn is_signed_by(&self, identity: &PublicKey) -> bool {
        verifies(identity, &self.bytes(), &self.signature)
    }
}

/// The hash of rounds 1–3: every such message (signature included), in order of round,
/// sender and recipient. Messages of round 4 are left out.
pub fn transcript_hash(messages: &[CeremonyMessage]) -> [u8; 32] {
    let mut ordered: Vec<_> = messages
        .iter()
        .filter(|m| m.round != Round::Confirmations)
        .collect();
    ordered.sort_by_key(|m| (m.round, m.from, m.to));
    let mut w = Writer::default();
    w.raw(TRANSCRIPT_DOMAIN).u32(ordered.len() as u32);
    for m in ordered {
        w.var_bytes(&m.bytes()).raw(&m.signature.0);
    }
    sha256(&w.bytes)
}

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
    /// Something this trustee made did not turn into bytes: nothing is posted or kept.
    #[error("cannot encode {what}: {reason}")]
    Encode { what: &'static str, reason: String },
}

/// Checks the two sequence lengths inside a round-2 message's bincode (the public
/// polynomial's, and its proof of possession's responses) against the bytes there are,
/// before the crate's deserializer sees them: it reserves room for as many as a length
/// prefix claims. Layout (fixed-size integers; each element and scalar a u64 length and 32
/// bytes): `p` elements (u64, then 40 bytes each), the proof's challenge (40 bytes), `r`
/// responses (u64, then 40 bytes each), the opening. The deserializer stops at the first
/// element whose length is not 32, so when it reaches `r`, it is where this reads it.
fn check_public_info(bytes: &[u8]) -> Result<(), &'static str> {
    let word = |at: u64| le_u64_at(bytes, at);
    let total = bytes.len() as u64;
    let fits = |count: u64, at: u64| {
        count
            .checked_mul(40)
            .and_then(|n| n.checked_add(at + 8))
            .filter(|&end| end <= total)
    };
    let p = word(0).ok_or("cut short")?;
    let after = fits(p, 0).ok_or("more polynomial coefficients than bytes")?;
    let r_at = after + 40;
    let r = word(r_at).ok_or("cut short")?;
    fits(r, r_at).ok_or("more proof responses than bytes")?;
    Ok(())
}

/// Messages of one ceremony by (round, sender, recipient).
type Board<'a> = BTreeMap<(Round, u16, Option<u16>), &'a CeremonyMessage>;

/// One message as a board takes it, for the ceremony of trustees whose identity keys are
/// `identities` (in trustee order): of this election and ceremony, from a trustee,
/// addressed as its round wants (a share to another trustee, anything else to all), and
/// signed by its sender's identity key.
pub fn check_message(
    election: ElectionId,
    ceremony: u64,
    identities: &[PublicKey],
    m: &CeremonyMessage,
) -> Result<(), CeremonyError> {
    if m.election != election || m.ceremony != ceremony {
        return Err(CeremonyError::Foreign {
            election: m.election,
            ceremony: m.ceremony,
        });
    }
    let n = identities.len();
    let addressed = usize::from(m.from) < n
        && match (m.round, m.to) {
            (Round::Shares, Some(to)) => usize::from(to) < n && to != m.from,
            (Round::Shares, None) | (_, Some(_)) => false,
            (_, None) => true,
        };
    if !addressed {
        return Err(CeremonyError::Addressed {
            round: m.round,
            from: m.from,
        });
    }
    if !m.is_signed_by(&identities[usize::from(m.from)]) {
        return Err(CeremonyError::Signature {
            round: m.round,
            from: m.from,
        });
    }
    Ok(())
}

/// The messages of this election's ceremony, each checked ([`check_message`]) and once.
/// Messages of another election or ceremony are refused (`strict`: the messages are
/// claimed to be this ceremony's) or left out (a board that also holds older ones).
fn read_board<'a>(
    election: ElectionId,
    ceremony: u64,
    identities: &[PublicKey],
    messages: &'a [CeremonyMessage],
    strict: bool,
) -> Result<Board<'a>, CeremonyError> {
    let mut board = BTreeMap::new();
    for m in messages {
        if !strict && (m.election != election || m.ceremony != ceremony) {
            continue;
        }
        check_message(election, ceremony, identities, m)?;
        if board.insert((m.round, m.from, m.to), m).is_some() {
            return Err(CeremonyError::Twice {
                round: m.round,
                from: m.from,
            });
        }
    }
    Ok(board)
}

/// Checks a finished ceremony of the trustees whose identity keys are `identities` (in
/// trustee order) with this threshold: a threshold above half the trustees
/// ([`check_threshold`]); every message of this election and ceremony, addressed to
/// trustees, signed by its sender, once per sender (and recipient in round 3), none
/// missing; and every confirmation of exactly the set the ceremony made ([`SealedSet`]: these
/// seats in this order, this threshold, this transcript, and the verification keys and
/// election key the published polynomials give). Returns that set, the one to seal.
pub fn check_ceremony(
    election: ElectionId,
    ceremony: u64,
    identities: &[PublicKey],
    threshold: u16,
    messages: &[CeremonyMessage],
) -> Result<SealedSet, CeremonyError> {
    let n = identities.len();
    let seen = read_board(election, ceremony, identities, messages, true)?;
    let trustees = 0..n as u16;
    for round in [
        Round::Commitments,
        Round::Polynomials,
        Round::Shares,
        Round::Confirmations,
    ] {
        for from in trustees.clone() {
            let expected: Vec<Option<u16>> = if round == Round::Shares {
                trustees
                    .clone()
                    .filter(|&to| to != from)
                    .map(Some)
                    .collect()
            } else {
                vec![None]
            };
            if expected
                .iter()
                .any(|to| !seen.contains_key(&(round, from, *to)))
            {
                return Err(CeremonyError::Missing { round, from });
            }
        }
    }
    let transcript = transcript_hash(messages);
    check_threshold(threshold, n)?;
    let made = keys_from_polynomials(&seen, n, threshold)?;
    let expected = SealedSet {
        election,
        ceremony,
        threshold,
        seats: identities
            .iter()
            .zip(&made.participants)
            .map(|(identity, key)| SealedSeat {
                identity: *identity,
                verification_key: *key,
            })
            .collect(),
        transcript,
        election_key: made.shared,
    };
    for from in trustees {
        let m = seen[&(Round::Confirmations, from, None)];
        let c = SealedSet::decode(&m.payload).map_err(|e| CeremonyError::Confirmation {
            from,
            reason: e.to_string(),
        })?;
        if c.transcript != transcript {
            return Err(CeremonyError::Transcript { from });
        }
        // Every trustee must confirm the set the published polynomials give: otherwise one
        // trustee could confirm a key of its choosing and steer the election key to one it
        // alone holds, or the seats and threshold could differ from what the others signed.
        if let Some(difference) = expected.difference(&c) {
            return Err(CeremonyError::Confirmation {
                from,
                reason: format!("it confirms {difference}, not the set the ceremony made"),
            });
        }
    }
    let keys = TrusteeKeys {
        threshold,
        keys: expected.verification_keys(),
    };
    if keys.election_key()? != expected.election_key {
        return Err(CeremonyError::Keys(SecretError::Malformed {
            what: "election key",
            reason: "not the sum of the public polynomials' constant terms".into(),
        }));
    }
    Ok(expected)
}

/// The keys the trustees' public polynomials (round 2) give: each trustee's verification
/// key (the summed polynomial at its index + 1) and the election key (its constant term).
struct PolynomialKeys {
    participants: Vec<[u8; 32]>,
    shared: [u8; 32],
}

fn keys_from_polynomials(
    board: &Board<'_>,
    n: usize,
    threshold: u16,
) -> Result<PolynomialKeys, CeremonyError> {
    use elastic_elgamal::group::{ElementOps, ScalarOps};
    type Element = <G as ElementOps>::Element;
    type Scalar = <G as ScalarOps>::Scalar;
    let refused = |from: u16, reason: String| CeremonyError::Dkg {
        round: Round::Polynomials,
        from,
        reason,
    };
    let mut summed: Vec<Element> = vec![G::identity(); usize::from(threshold)];
    for from in 0..n as u16 {
        let m = board[&(Round::Polynomials, from, None)];
        check_public_info(&m.payload).map_err(|r| refused(from, r.into()))?;
        let info: PublicInfo<'static, G> = crate::encoding::from_untrusted_bincode(&m.payload)
            .map_err(|e| refused(from, e.to_string()))?;
        if info.polynomial.len() != usize::from(threshold) {
            return Err(refused(
                from,
                format!(
                    "a polynomial of {} coefficients for a threshold of {threshold}",
                    info.polynomial.len()
                ),
            ));
        }
        for (sum, c) in summed.iter_mut().zip(&info.polynomial) {
            *sum += *c;
        }
    }
    let bytes = |e: &Element| {
        let mut out = [0u8; 32];
        G::serialize_element(e, &mut out);
        out
    };
    let participants = (1..=n as u64)
        .map(|x| {
            let x = Scalar::from(x);
            let mut power = Scalar::from(1u64);
            let mut value = G::identity();
            for c in &summed {
                value += *c * power;
                power *= x;
            }
            bytes(&value)
        })
        .collect();
    Ok(PolynomialKeys {
        participants,
        shared: bytes(&summed[0]),
    })
}

/// One trustee's side of the ceremony between rounds: what its key file keeps sealed, never
/// the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TrusteeState {
    Commitments(ParticipantCollectingCommitments<G>),
    Polynomials(ParticipantCollectingPolynomials<G>),
    Shares(ParticipantExchangingSecrets<G>),
    /// The ceremony is over for this trustee: its key share.
    Done(ActiveParticipant<G>),
}

/// A trustee's place in a ceremony as the board lists it: the identity key, the
/// share-receiving key, and the identity key's signature binding the two
/// ([`prove_receiving_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    pub identity: PublicKey,
    pub receiving: ReceivingKey,
    pub receiving_proof: Signature,
}

impl Seat {
    /// The seat of the trustee holding this identity key.
    pub fn of(identity: &SigningKey) -> Self {
        Self {
            identity: PublicKey(identity.verifying_key().to_bytes()),
            receiving: ReceivingKey(receiving_public(identity)),
            receiving_proof: prove_receiving_key(identity),
        }
    }

    /// Whether the identity key bound this receiving key.
    pub fn is_bound(&self) -> bool {
        receiving_key_is_bound(&self.identity, &self.receiving.0, &self.receiving_proof)
    }
}

/// A trustee taking part in one ceremony.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trustee {
    pub election: ElectionId,
    pub ceremony: u64,
    /// This trustee's index.
    pub index: u16,
    /// The trustees' identity keys and share-receiving keys, in trustee order.
    pub identities: Vec<PublicKey>,
    pub receiving: Vec<[u8; 32]>,
    pub threshold: u16,
    pub state: TrusteeState,
}

impl Trustee {
    /// Joins a ceremony as the trustee of seat `index`, once every seat's receiving key is
    /// bound to its identity key: this trustee's round-1 message (its commitment) to post.
    pub fn join<R: rand_core::CryptoRng + rand_core::RngCore>(
        identity: &SigningKey,
        election: ElectionId,
        ceremony: u64,
        index: u16,
        seats: &[Seat],
        threshold: u16,
        rng: &mut R,
    ) -> Result<(Self, CeremonyMessage), CeremonyError> {
        let n = seats.len();
        // A trustee takes part only in a ceremony whose threshold is above half the
        // trustees: at or below half, two groups could each decrypt a count of their own.
        check_threshold(threshold, n)?;
        if usize::from(index) >= n
            || seats[usize::from(index)].identity.0 != identity.verifying_key().to_bytes()
        {
            return Err(CeremonyError::Addressed {
                round: Round::Commitments,
                from: index,
            });
        }
        // Shares are sealed only to receiving keys their trustees bound: a key the server
        // swapped in would let it open them.
        if let Some(trustee) = seats.iter().position(|s| !s.is_bound()) {
            return Err(CeremonyError::Receiving {
                trustee: trustee as u16,
            });
        }
        let identities = seats.iter().map(|s| s.identity).collect();
        let receiving = seats.iter().map(|s| s.receiving.0).collect();
        let me = ParticipantCollectingCommitments::<G>::new(
            Params::new(n, usize::from(threshold)),
            usize::from(index),
            rng,
        );
        let message = CeremonyMessage::sign(
            identity,
            election,
            ceremony,
            Round::Commitments,
            index,
            None,
            me.commitment().to_vec(),
        );
        Ok((
            Self {
                election,
                ceremony,
                index,
                identities,
                receiving,
                threshold,
                state: TrusteeState::Commitments(me),
            },
            message,
        ))
    }

    /// Takes the board (every message posted so far) and moves this trustee on as far as
    /// the board allows: the messages it must post now (none while others have not
    /// posted theirs).
    pub fn step<R: rand_core::CryptoRng + rand_core::RngCore>(
        &mut self,
        identity: &SigningKey,
        messages: &[CeremonyMessage],
        rng: &mut R,
    ) -> Result<Vec<CeremonyMessage>, CeremonyError> {
        let board = read_board(
            self.election,
            self.ceremony,
            &self.identities,
            messages,
            false,
        )?;
        let n = self.identities.len() as u16;
        let others: Vec<u16> = (0..n).filter(|&i| i != self.index).collect();
        let dkg = |e: elastic_elgamal::dkg::Error, round, from| CeremonyError::Dkg {
            round,
            from,
            reason: e.to_string(),
        };
        let sign = |round, to: Option<u16>, payload| {
            CeremonyMessage::sign(
                identity,
                self.election,
                self.ceremony,
                round,
                self.index,
                to,
                payload,
            )
        };
        let mut out = Vec::new();
        loop {
            let next = match &self.state {
                TrusteeState::Commitments(me) => {
                    let Some(commitments) = others
                        .iter()
                        .map(|&j| board.get(&(Round::Commitments, j, None)).map(|m| (j, m)))
                        .collect::<Option<Vec<_>>>()
                    else {
                        break;
                    };
                    let mut me = me.clone();
                    for (j, m) in commitments {
                        let c: [u8; 32] =
                            m.payload
                                .as_slice()
                                .try_into()
                                .map_err(|_| CeremonyError::Dkg {
                                    round: Round::Commitments,
                                    from: j,
                                    reason: "a commitment is 32 bytes".into(),
                                })?;
                        me.insert_commitment(usize::from(j), c);
                    }
                    let me = me.finish_commitment_phase();
                    let info = bincode::serialize(&me.public_info()).map_err(|e| {
                        CeremonyError::Encode {
                            what: "the public polynomial",
                            reason: e.to_string(),
                        }
                    })?;
                    out.push(sign(Round::Polynomials, None, info));
                    TrusteeState::Polynomials(me)
                }
                TrusteeState::Polynomials(me) => {
                    let Some(infos) = others
                        .iter()
                        .map(|&j| board.get(&(Round::Polynomials, j, None)).map(|m| (j, m)))
                        .collect::<Option<Vec<_>>>()
                    else {
                        break;
                    };
                    let mut me = me.clone();
                    for (j, m) in infos {
                        check_public_info(&m.payload).map_err(|reason| CeremonyError::Dkg {
                            round: Round::Polynomials,
                            from: j,
                            reason: reason.into(),
                        })?;
                        let info: PublicInfo<'static, G> =
                            crate::encoding::from_untrusted_bincode(&m.payload).map_err(|e| {
                                CeremonyError::Dkg {
                                    round: Round::Polynomials,
                                    from: j,
                                    reason: e.to_string(),
                                }
                            })?;
                        me.insert_public_polynomial(usize::from(j), info)
                            .map_err(|e| dkg(e, Round::Polynomials, j))?;
                    }
                    let me = me.finish_polynomials_phase();
                    for &j in &others {
                        let share = me
                            .secret_share_for_participant(usize::from(j))
                            .expose_scalar()
                            .to_bytes();
                        let sealed =
                            seal_share(identity, &self.receiving[usize::from(j)], &share, rng)?;
                        out.push(sign(Round::Shares, Some(j), sealed));
                    }
                    TrusteeState::Shares(me)
                }
                TrusteeState::Shares(me) => {
                    // Every message of rounds 1–3 on the board, this trustee's own and every
                    // share, not only those it receives: the confirmation covers the whole
                    // transcript.
                    let complete = (0..n).all(|from| {
                        board.contains_key(&(Round::Commitments, from, None))
                            && board.contains_key(&(Round::Polynomials, from, None))
                            && (0..n)
                                .filter(|&to| to != from)
                                .all(|to| board.contains_key(&(Round::Shares, from, Some(to))))
                    });
                    if !complete {
                        break;
                    }
                    let mut me = me.clone();
                    for &j in &others {
                        let m = board[&(Round::Shares, j, Some(self.index))];
                        let opened =
                            open_share(identity, &self.receiving[usize::from(j)], &m.payload)?;
                        let share =
                            SecretKey::<G>::from_bytes(&opened).ok_or(CeremonyError::Share)?;
                        me.insert_secret_share(usize::from(j), share)
                            .map_err(|e| dkg(e, Round::Shares, j))?;
                    }
                    let me = me
                        .complete()
                        .map_err(|e| dkg(e, Round::Shares, self.index))?;
                    let transcript =
                        transcript_hash(&board.values().map(|m| (*m).clone()).collect::<Vec<_>>());
                    let confirmation = self.sealed_set(&me, transcript)?;
                    out.push(sign(Round::Confirmations, None, confirmation.encode()));
                    TrusteeState::Done(me)
                }
                TrusteeState::Done(_) => break,
            };
            self.state = next;
        }
        Ok(out)
    }

    /// The whole set of keys this trustee's own key share gives, with the seats and the
    /// threshold it joined with: what its confirmation signs, and what it checks a
    /// genesis block against.
    fn sealed_set(
        &self,
        me: &ActiveParticipant<G>,
        transcript: [u8; 32],
    ) -> Result<SealedSet, CeremonyError> {
        let set = me.key_set();
        let bytes = |key: &elastic_elgamal::PublicKey<G>| -> Result<[u8; 32], CeremonyError> {
            key.as_bytes().try_into().map_err(|_| CeremonyError::Share)
        };
        let keys = set
            .participant_keys()
            .iter()
            .map(bytes)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.len() != self.identities.len() {
            return Err(CeremonyError::Share);
        }
        Ok(SealedSet {
            election: self.election,
            ceremony: self.ceremony,
            threshold: self.threshold,
            seats: self
                .identities
                .iter()
                .zip(keys)
                .map(|(identity, verification_key)| SealedSeat {
                    identity: *identity,
                    verification_key,
                })
                .collect(),
            transcript,
            election_key: bytes(set.shared_key())?,
        })
    }

    /// The election key this trustee's own key share gives, once its part of the ceremony
    /// is done: the one to compare with what the board and the genesis block say.
    pub fn election_key(&self) -> Option<[u8; 32]> {
        let set = self.key_share()?.key_set();
        set.shared_key().as_bytes().try_into().ok()
    }

    /// This trustee's key share, once its part of the ceremony is done.
    pub fn key_share(&self) -> Option<&ActiveParticipant<G>> {
        match &self.state {
            TrusteeState::Done(me) => Some(me),
            _ => None,
        }
    }
}

/// Runs a whole ceremony in one process, every trustee's side stepping in turn on one
/// board: for a benchmark or a test, where one machine holds every trustee's identity key.
/// (In an election each trustee runs its own side on its own machine, with
/// [`Trustee::join`] and [`Trustee::step`].) Every message, and each trustee's side at the
/// end.
pub fn run_all<R: rand_core::CryptoRng + rand_core::RngCore>(
    election: ElectionId,
    ceremony: u64,
    identities: &[SigningKey],
    threshold: u16,
    rng: &mut R,
) -> Result<(Vec<CeremonyMessage>, Vec<Trustee>), CeremonyError> {
    let seats: Vec<Seat> = identities.iter().map(Seat::of).collect();
    let mut board = Vec::new();
    let mut trustees = Vec::new();
    for (index, identity) in identities.iter().enumerate() {
        let (trustee, first) = Trustee::join(
            identity,
            election,
            ceremony,
            index as u16,
            &seats,
            threshold,
            rng,
        )?;
        board.push(first);
        trustees.push(trustee);
    }
    loop {
        let mut posted = false;
        for (trustee, identity) in trustees.iter_mut().zip(identities) {
            let out = trustee.step(identity, &board, rng)?;
            posted |= !out.is_empty();
            board.extend(out);
        }
        if !posted {
            return Ok((board, trustees));
        }
    }
}

/// What a trustee's key file keeps between turns, sealed under its passphrase: this
/// trustee's side of one ceremony, and the messages it made but may not have posted yet
/// (offered again until the board has them). The command line and the browser keep the
/// same, so a trustee may take one turn in either.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeptSide {
    pub trustee: Trustee,
    pub outbox: Vec<CeremonyMessage>,
    /// The final head and sums this trustee has decrypted its share of: it decrypts no
    /// other (two shares of different sums could reveal the ballots between them).
    #[serde(default)]
    pub decrypted: Option<(crate::BlockHash, String)>,
}

/// One turn of a trustee on a ceremony's board: what to post, and what to keep.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The side to seal into the key file before posting (its outbox is what to post).
    pub kept: KeptSide,
    /// True when this turn joined the ceremony: the trustee should compare the seats'
    /// names and fingerprints with the ones the election office published.
    pub joined: bool,
}

impl KeptSide {
    /// Reads a kept side from its sealed bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes)
            .map_err(|e| format!("the kept ceremony state does not read: {e}"))
    }

    /// The bytes to seal (an error rather than empty bytes: these replace a key file's
    /// state).
    pub fn to_bytes(&self) -> Result<Vec<u8>, CeremonyError> {
        serde_json::to_vec(self).map_err(|e| CeremonyError::Encode {
            what: "the kept ceremony state",
            reason: e.to_string(),
        })
    }

    /// This trustee's turn on the board of ceremony `ceremony` of `election`, whose seats
    /// (in trustee order) and threshold are given: joins it when `kept` is of no ceremony
    /// or another one (a restarted ceremony, another election), drops from the outbox
    /// what the board already has, and adds whatever this trustee can send now.
    #[allow(clippy::too_many_arguments)]
    pub fn turn<R: rand_core::CryptoRng + rand_core::RngCore>(
        kept: Option<KeptSide>,
        identity: &SigningKey,
        election: ElectionId,
        ceremony: u64,
        seats: &[Seat],
        threshold: u16,
        board: &[CeremonyMessage],
        rng: &mut R,
    ) -> Result<Turn, CeremonyError> {
        let me = PublicKey(identity.verifying_key().to_bytes());
        let kept =
            kept.filter(|k| k.trustee.election == election && k.trustee.ceremony == ceremony);
        let joined = kept.is_none();
        let mut kept = match kept {
            Some(kept) => kept,
            None => {
                let index = seats
                    .iter()
                    .position(|s| s.identity == me)
                    .and_then(|i| u16::try_from(i).ok())
                    .ok_or(CeremonyError::NoSeat)?;
                let (trustee, first) =
                    Trustee::join(identity, election, ceremony, index, seats, threshold, rng)?;
                KeptSide {
                    trustee,
                    outbox: vec![first],
                    decrypted: None,
                }
            }
        };
        let on_board = |m: &CeremonyMessage| {
            board
                .iter()
                .any(|b| (b.round, b.from, b.to) == (m.round, m.from, m.to))
        };
        kept.outbox.retain(|m| !on_board(m));
        let mut all = board.to_vec();
        all.extend(kept.outbox.iter().cloned());
        let next = kept.trustee.step(identity, &all, rng)?;
        kept.outbox.extend(next);
        Ok(Turn { kept, joined })
    }
}

/// Why a trustee will not decrypt its share of the sums it is shown.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShareError {
    /// The genesis block does not list this trustee's identity key.
    #[error("the genesis block does not list this trustee's key")]
    NotListed,
    /// The key file keeps another ceremony than the one the genesis block seals.
    #[error("this key file keeps ceremony {kept} of election {election}, not the sealed ceremony {sealed}")]
    OtherCeremony {
        kept: u64,
        election: ElectionId,
        sealed: u64,
    },
    /// This trustee's side of the ceremony never finished.
    #[error("this trustee's side of the key ceremony is not finished: it has no key share")]
    Unfinished,
    /// The sealed trustees do not keep the genesis rules (a threshold above half, every
    /// confirmation signed over the whole sealed set, keys that combine).
    #[error("the genesis block's sealed trustees break a rule: {0}")]
    Sealed(crate::genesis::GenesisError),
    /// The sealed set (seats, threshold, verification keys, election key) is not the one
    /// this trustee's own ceremony made.
    #[error("the genesis block seals another set of trustee keys than this trustee's ceremony made: {0}")]
    OtherSet(String),
    /// This trustee decrypted its share of other sums already.
    #[error("this trustee decrypted its share of other sums already (up to block {0}): it decrypts only one count")]
    OtherCount(crate::BlockHash),
    /// The share could not be made.
    #[error("{0}")]
    Secret(#[from] SecretError),
}

impl KeptSide {
    /// Checks that the genesis block of `election` seals this trustee, whose identity key
    /// is `me`, with exactly the set its own ceremony made: the sealed trustees keep the
    /// rules ([`Trustees::check`](crate::genesis::Trustees::check)), list `me` at this
    /// trustee's seat of the ceremony kept here, and hold the seats, threshold,
    /// verification keys and election key its key share gives. What `trustee ceremony` and
    /// the ceremony page check once the election is open, and every share is made after.
    /// This trustee's seat.
    pub fn check_sealed(
        &self,
        me: &PublicKey,
        election: ElectionId,
        sealed: &crate::genesis::Trustees,
    ) -> Result<u16, ShareError> {
        sealed.check(election).map_err(ShareError::Sealed)?;
        let position = sealed
            .trustees
            .iter()
            .position(|t| t.identity == *me)
            .ok_or(ShareError::NotListed)?;
        if self.trustee.election != election
            || self.trustee.ceremony != sealed.ceremony
            || usize::from(self.trustee.index) != position
        {
            return Err(ShareError::OtherCeremony {
                kept: self.trustee.ceremony,
                election: self.trustee.election,
                sealed: sealed.ceremony,
            });
        }
        let share_key = self.trustee.key_share().ok_or(ShareError::Unfinished)?;
        // The transcript is the one the sealed confirmations sign (checked above); the
        // keys, seats and threshold must be this trustee's own.
        let own = self
            .trustee
            .sealed_set(share_key, sealed.transcript.0)
            .map_err(|e| ShareError::OtherSet(e.to_string()))?;
        if let Some(difference) = own.difference(&sealed.sealed_set(election)) {
            return Err(ShareError::OtherSet(difference));
        }
        Ok(self.trustee.index)
    }

    /// This trustee's signed decryption share of `sums`, the encrypted sums of `election`
    /// up to the final head `head`, as the caller's own verified copy of the chain has them
    /// (the caller compares them with the server's first). The genesis block's sealed
    /// trustees must be this trustee's own set ([`KeptSide::check_sealed`]). A trustee
    /// decrypts one count only: the head and sums are recorded here (keep this side sealed
    /// before posting the share), and a share of other sums is refused, since two shares of
    /// different sums could reveal the ballots between them.
    pub fn decrypt_share<R: rand_core::CryptoRng + rand_core::RngCore>(
        &mut self,
        identity: &SigningKey,
        election: ElectionId,
        sealed: &crate::genesis::Trustees,
        head: &crate::BlockHash,
        sums: &crate::secret::EncryptedSums,
        rng: &mut R,
    ) -> Result<crate::result::SignedShare, ShareError> {
        let me = PublicKey(identity.verifying_key().to_bytes());
        self.check_sealed(&me, election, sealed)?;
        let share_key = self.trustee.key_share().ok_or(ShareError::Unfinished)?;
        let these = hex::encode(sums.to_bytes());
        if let Some((kept_head, kept_sums)) = &self.decrypted {
            if kept_head != head || *kept_sums != these {
                return Err(ShareError::OtherCount(*kept_head));
            }
        }
        let share = crate::secret::DecryptionShare::make(share_key, sums, rng)?;
        self.decrypted = Some((*head, these));
        Ok(crate::result::SignedShare::sign(
            identity, election, head, sums, &share,
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::rngs::OsRng;

    pub(crate) const ELECTION: ElectionId = ElectionId(4);
    pub(crate) use crate::testing::CEREMONY;

    /// A whole ceremony of `n` trustees with threshold `t` through a board: the trustees'
    /// identity keys, every message posted, and the trustees at the end. Each trustee steps
    /// in turn, its state kept as bytes between visits (as its key file keeps it), until
    /// nobody has anything more to post.
    pub(crate) fn run(n: usize, t: u16) -> (Vec<SigningKey>, Vec<CeremonyMessage>, Vec<Trustee>) {
        run_in(ELECTION, n, t, &mut OsRng)
    }

    fn run_in<R: rand_core::CryptoRng + rand_core::RngCore>(
        election: ElectionId,
        n: usize,
        t: u16,
        rng: &mut R,
    ) -> (Vec<SigningKey>, Vec<CeremonyMessage>, Vec<Trustee>) {
        let ids: Vec<_> = (0..n).map(|_| SigningKey::generate(rng)).collect();
        let seats: Vec<_> = ids.iter().map(Seat::of).collect();
        let mut board = Vec::new();
        let mut kept = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let (trustee, first) =
                Trustee::join(id, election, CEREMONY, i as u16, &seats, t, rng).unwrap();
            board.push(first);
            kept.push(bincode::serialize(&trustee).unwrap());
        }
        for _ in 0..4 {
            for (i, id) in ids.iter().enumerate() {
                let mut trustee: Trustee = bincode::deserialize(&kept[i]).unwrap();
                board.extend(trustee.step(id, &board, rng).unwrap());
                kept[i] = bincode::serialize(&trustee).unwrap();
            }
        }
        let trustees = kept
            .iter()
            .map(|k| bincode::deserialize(k).unwrap())
            .collect();
        (ids, board, trustees)
    }

    pub(crate) use crate::testing::public;

    #[test]
    fn turns_kept_as_bytes_finish_the_ceremony_even_when_a_post_is_lost_or_it_restarts() {
        let ids: Vec<_> = (0..3).map(|_| SigningKey::generate(&mut OsRng)).collect();
        let seats: Vec<_> = ids.iter().map(Seat::of).collect();
        let stranger = SigningKey::generate(&mut OsRng);
        let turn = |kept: Option<&Vec<u8>>, key: &SigningKey, ceremony, board: &[_]| {
            let kept = kept.map(|b| KeptSide::from_bytes(b).unwrap());
            KeptSide::turn(kept, key, ELECTION, ceremony, &seats, 2, board, &mut OsRng)
        };
        assert!(matches!(
            turn(None, &stranger, CEREMONY, &[]),
            Err(CeremonyError::NoSeat)
        ));
        let mut kept: Vec<Option<Vec<u8>>> = vec![None; 3];
        let mut board: Vec<CeremonyMessage> = Vec::new();
        // An earlier ceremony's side is left behind: the trustee joins the running one.
        let old = turn(None, &ids[0], CEREMONY - 1, &[]).unwrap();
        assert!(old.joined);
        kept[0] = Some(old.kept.to_bytes().unwrap());
        for pass in 0..6 {
            for (i, key) in ids.iter().enumerate() {
                let t = turn(kept[i].as_ref(), key, CEREMONY, &board).unwrap();
                assert_eq!(t.joined, pass == 0, "trustee {i}, pass {pass}");
                let mut side = t.kept;
                // The first trustee's first post is lost: its outbox offers it again.
                if !(pass == 0 && i == 0) {
                    board.append(&mut side.outbox);
                }
                kept[i] = Some(side.to_bytes().unwrap());
            }
        }
        assert_eq!(board.len(), 3 + 3 + 6 + 3);
        check_ceremony(ELECTION, CEREMONY, &public(&ids), 2, &board).unwrap();
    }

    #[test]
    fn three_trustees_run_the_ceremony_through_a_board_and_two_decrypt() {
        use crate::secret::{find_counts, Ballot, DecryptionShare, EncryptedSums};
        let (ids, board, trustees) = run(3, 2);
        let identities = public(&ids);
        let seats: Vec<_> = ids.iter().map(Seat::of).collect();
        assert_eq!(board.len(), 3 + 3 + 6 + 3);
        let set = check_ceremony(ELECTION, CEREMONY, &identities, 2, &board).unwrap();
        let (keys, election) = (set.keys(), set.election_key);
        for t in &trustees {
            let share = t.key_share().unwrap();
            assert_eq!(share.key_set().shared_key().as_bytes(), election.as_slice());
        }
        let mut sums = EncryptedSums::new(2);
        for choice in [1, 1, 0] {
            sums.add(&Ballot::encrypt(&election, 2, choice, &mut OsRng).unwrap())
                .unwrap();
        }
        let shares: Vec<_> = [0, 2]
            .iter()
            .map(|&i| {
                DecryptionShare::make(trustees[i].key_share().unwrap(), &sums, &mut OsRng).unwrap()
            })
            .collect();
        assert_eq!(find_counts(&keys, &sums, &shares, 3).unwrap(), [1, 2]);
        // A forged message on the board stops every trustee that reads it, by name.
        let mut forged = board[0].clone();
        forged.payload[0] ^= 1;
        let mut t = trustees[1].clone();
        let mut bad_board = board.clone();
        bad_board[0] = forged;
        assert!(matches!(
            t.step(&ids[1], &bad_board, &mut OsRng),
            Err(CeremonyError::Signature { from: 0, .. })
        ));
        // A threshold above the trustees, an index outside them or another trustee's
        // seat is refused at once.
        let join = |index: u16, seats: &[Seat], t: u16| {
            Trustee::join(&ids[0], ELECTION, CEREMONY, index, seats, t, &mut OsRng).map(|_| ())
        };
        assert!(join(0, &seats, 4).is_err());
        // A threshold at or below half the trustees: two groups could each decrypt.
        assert_eq!(
            join(0, &seats, 1),
            Err(CeremonyError::Keys(SecretError::Threshold {
                threshold: 1,
                trustees: 3
            }))
        );
        let four: Vec<_> = (0..4)
            .map(|_| Seat::of(&SigningKey::generate(&mut OsRng)))
            .collect();
        let mut four = four;
        four[0] = seats[0].clone();
        assert!(matches!(
            join(0, &four, 2),
            Err(CeremonyError::Keys(SecretError::Threshold { .. }))
        ));
        assert!(join(0, &four, 3).is_ok());
        assert!(matches!(
            join(3, &seats, 2),
            Err(CeremonyError::Addressed { .. })
        ));
        assert!(matches!(
            join(1, &seats, 2),
            Err(CeremonyError::Addressed { .. })
        ));
        // A receiving key swapped in by the server is refused before any share is sealed.
        let mut swapped = seats.clone();
        swapped[2].receiving = ReceivingKey(receiving_public(&ids[0]));
        assert_eq!(
            join(0, &swapped, 2),
            Err(CeremonyError::Receiving { trustee: 2 })
        );
    }

    #[test]
    fn a_share_opens_only_for_its_recipient_from_its_sender_and_unaltered() {
        let [a, b, c] = [1u8, 2, 3].map(|i| SigningKey::from_bytes(&[i; 32]));
        let share = [7u8; 32];
        let sealed = seal_share(&a, &receiving_public(&b), &share, &mut OsRng).unwrap();
        assert_eq!(open_share(&b, &receiving_public(&a), &sealed), Ok(share));
        assert_eq!(
            open_share(&c, &receiving_public(&a), &sealed),
            Err(CeremonyError::Share)
        );
        assert_eq!(
            open_share(&b, &receiving_public(&c), &sealed),
            Err(CeremonyError::Share)
        );
        for at in [0, 30, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 1;
            assert_eq!(
                open_share(&b, &receiving_public(&a), &altered),
                Err(CeremonyError::Share)
            );
        }
        assert_eq!(
            open_share(&b, &receiving_public(&a), &sealed[..20]),
            Err(CeremonyError::Share)
        );
        // Fresh nonces: the same share sealed twice gives different bytes.
        assert_ne!(
            seal_share(&a, &receiving_public(&b), &share, &mut OsRng).unwrap(),
            sealed
        );
        // The receiving key is bound to the identity key, and to no other.
        let proof = prove_receiving_key(&a);
        let id = |k: &SigningKey| PublicKey(k.verifying_key().to_bytes());
        assert!(receiving_key_is_bound(
            &id(&a),
            &receiving_public(&a),
            &proof
        ));
        assert!(!receiving_key_is_bound(
            &id(&a),
            &receiving_public(&b),
            &proof
        ));
        assert!(!receiving_key_is_bound(
            &id(&b),
            &receiving_public(&a),
            &proof
        ));
    }

    #[test]
    fn a_confirmation_of_any_other_set_than_the_ceremony_made_is_refused() {
        for (n, t) in [(3, 2), (3, 3)] {
            let (ids_keys, messages, _) = run(n, t);
            let ids = public(&ids_keys);
            let at = messages
                .iter()
                .position(|m| m.round == Round::Confirmations && m.from == 0)
                .unwrap();
            let genuine = SealedSet::decode(&messages[at].payload).unwrap();
            // Trustee 0 signs another payload as its confirmation.
            let resigned = |payload: Vec<u8>| {
                let mut board = messages.clone();
                board[at] = CeremonyMessage::sign(
                    &ids_keys[0],
                    ELECTION,
                    CEREMONY,
                    Round::Confirmations,
                    0,
                    None,
                    payload,
                );
                check_ceremony(ELECTION, CEREMONY, &ids, t, &board)
            };
            let with = |change: &dyn Fn(&mut SealedSet)| {
                let mut set = genuine.clone();
                change(&mut set);
                resigned(set.encode())
            };
            let refused = |r: Result<SealedSet, CeremonyError>, case: &str| {
                assert!(
                    matches!(r, Err(CeremonyError::Confirmation { from: 0, .. })),
                    "{case}: {r:?}"
                );
            };
            assert_eq!(resigned(genuine.encode()), Ok(genuine.clone()));
            let stranger = PublicKey([7; 32]);
            // The key its polynomials do not give (with t = n the crate's own key-set check
            // has nothing to compare), another election key, the seats reordered, another
            // threshold, a seat added or removed, another election.
            let [a, b] = [genuine.seats[0], genuine.seats[1]];
            refused(
                with(&|s| s.seats[0].verification_key = b.verification_key),
                "own key",
            );
            refused(
                with(&|s| s.election_key = a.verification_key),
                "election key",
            );
            refused(with(&|s| s.seats.swap(0, 1)), "reordered");
            refused(
                with(&|s| s.threshold = if t == 3 { 2 } else { 3 }),
                "threshold",
            );
            refused(
                with(&|s| {
                    s.seats.push(SealedSeat {
                        identity: stranger,
                        verification_key: a.verification_key,
                    })
                }),
                "seat added",
            );
            refused(
                with(&|s| s.seats.truncate(s.seats.len() - 1)),
                "seat removed",
            );
            refused(with(&|s| s.election = ElectionId(99)), "election");
            // Bytes of the wrong length or seat count.
            let bytes = genuine.encode();
            refused(resigned(bytes[..bytes.len() - 1].to_vec()), "short");
            refused(resigned([bytes.as_slice(), &[0]].concat()), "long");
            let count_at = crate::sealed_set::SEALED_SET_TAG.len() + 18;
            let mut count = bytes.clone();
            count[count_at] += 1;
            refused(resigned(count), "seat count");
            // The format of the version-3 confirmation: transcript and own key only.
            refused(
                resigned([genuine.transcript, a.verification_key].concat()),
                "old format",
            );
            assert!(matches!(
                with(&|s| s.transcript = [0; 32]),
                Err(CeremonyError::Transcript { from: 0 })
            ));
        }
    }

    #[test]
    fn a_round_two_message_with_forged_lengths_is_refused_without_reserving_room() {
        let (_, board, _) = run(2, 2);
        let info = board
            .iter()
            .find(|m| m.round == Round::Polynomials)
            .unwrap()
            .payload
            .clone();
        assert_eq!(check_public_info(&info), Ok(()));
        let p = u64::from_le_bytes(info[..8].try_into().unwrap());
        let r_at = 8 + 40 * p as usize + 40;
        for (at, forged) in [
            (0, u64::MAX),
            (0, 1 << 40),
            (r_at, u64::MAX / 41),
            (r_at, 1 << 40),
        ] {
            let mut altered = info.clone();
            altered[at..at + 8].copy_from_slice(&forged.to_le_bytes());
            assert!(check_public_info(&altered).is_err(), "length at {at}");
        }
        assert!(check_public_info(&info[..10]).is_err());
    }

    #[test]
    fn a_complete_ceremony_gives_the_trustees_keys_in_any_order() {
        let (ids, mut messages, _) = run(3, 2);
        let set = check_ceremony(ELECTION, CEREMONY, &public(&ids), 2, &messages).unwrap();
        assert_eq!(set.seats.len(), 3);
        assert_eq!(set.identities(), public(&ids));
        messages.reverse();
        let again = check_ceremony(ELECTION, CEREMONY, &public(&ids), 2, &messages).unwrap();
        assert_eq!(again, set);
        assert_eq!(set.keys().election_key(), Ok(set.election_key));
        for threshold in [1, 4] {
            assert_eq!(
                check_ceremony(ELECTION, CEREMONY, &public(&ids), threshold, &messages),
                Err(CeremonyError::Keys(SecretError::Threshold {
                    threshold,
                    trustees: 3
                }))
            );
        }
    }

    #[test]
    fn a_forged_moved_missing_or_doubled_message_is_refused_by_name() {
        let (ids_keys, messages, _) = run(3, 2);
        let ids = public(&ids_keys);
        let check = |m: &[CeremonyMessage]| check_ceremony(ELECTION, CEREMONY, &ids, 2, m);
        // The server alters a payload, or passes one trustee's message as another's.
        let mut altered = messages.clone();
        altered[3].payload[0] ^= 1;
        assert_eq!(
            check(&altered),
            Err(CeremonyError::Signature {
                round: Round::Polynomials,
                from: 0
            })
        );
        let mut moved = messages.clone();
        moved[1].from = 2;
        assert!(matches!(
            check(&moved),
            Err(CeremonyError::Signature { from: 2, .. })
        ));
        // A message of an earlier ceremony.
        let mut old = messages.clone();
        old[0].ceremony = CEREMONY - 1;
        assert!(matches!(check(&old), Err(CeremonyError::Foreign { .. })));
        // A share addressed to its own sender, or a broadcast with a recipient.
        let mut self_share = messages.clone();
        let share = self_share
            .iter_mut()
            .find(|m| m.round == Round::Shares)
            .unwrap();
        share.to = Some(share.from);
        assert!(matches!(
            check(&self_share),
            Err(CeremonyError::Addressed { .. })
        ));
        // Missing, and twice.
        let missing: Vec<_> = messages
            .iter()
            .filter(|m| !(m.round == Round::Shares && m.from == 1 && m.to == Some(2)))
            .cloned()
            .collect();
        assert!(matches!(
            check(&missing),
            Err(CeremonyError::Missing {
                round: Round::Shares,
                from: 1
            })
        ));
        let mut twice = messages.clone();
        twice.push(messages[0].clone());
        assert!(matches!(check(&twice), Err(CeremonyError::Twice { .. })));
        // A confirmation of another transcript: one message of round 1 changed (and
        // signed again by its own trustee) after the others confirmed.
        let mut other = messages.clone();
        let mut first = other[0].clone();
        first.payload[0] ^= 1;
        let first_sender = usize::from(first.from);
        other[0] = CeremonyMessage::sign(
            &ids_keys[first_sender],
            ELECTION,
            CEREMONY,
            first.round,
            first.from,
            first.to,
            first.payload,
        );
        assert!(matches!(
            check(&other),
            Err(CeremonyError::Transcript { from: 0 })
        ));
    }
}
