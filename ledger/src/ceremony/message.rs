//! Signed messages: the share-receiving keys, shares sealed to their recipient, each
//! message signed over everything that places it, and the transcript of rounds 1–3.

use super::*;

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
