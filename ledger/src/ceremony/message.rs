//! Signed messages: the share-receiving keys, shares sealed to their recipient, each
//! message signed over everything that places it, and the transcript of rounds 1–3.

use super::*;

/// A trustee's share-receiving key (X25519), derived from its identity key's seed: the
/// trustee's key file holds both by sealing the one seed.
pub fn receiving_secret(identity: &SigningKey) -> [u8; 32] {
    sha256(&[RECEIVING_DOMAIN, identity.as_bytes()].concat())
}

/// The public half of [`receiving_secret`].
pub fn receiving_public(identity: &SigningKey) -> ReceivingKey {
    ReceivingKey(
        crypto_box::SecretKey::from(receiving_secret(identity))
            .public_key()
            .to_bytes(),
    )
}

/// The identity key's signature binding its share-receiving key (sent with the
/// enrolment, so the server cannot swap in a key of its own).
pub fn prove_receiving_key(identity: &SigningKey) -> Signature {
    let public = receiving_public(identity);
    sign(
        identity,
        &[RECEIVING_PROOF_DOMAIN, public.as_bytes()].concat(),
    )
    .1
}

/// Whether `proof` is `identity`'s binding of the share-receiving key `receiving`.
pub fn receiving_key_is_bound(
    identity: &PublicKey,
    receiving: &ReceivingKey,
    proof: &Signature,
) -> bool {
    verifies(
        identity,
        &[RECEIVING_PROOF_DOMAIN, receiving.as_bytes()].concat(),
        proof,
    )
}

/// Round 3: a 32-byte secret share sealed to its recipient with crypto_box (X25519 and
/// XSalsa20-Poly1305) from the sender's share-receiving key, so only the recipient opens
/// it and it knows the sender: a random 24-byte nonce, then the box.
pub fn seal_share<R: rand_core::CryptoRng + rand_core::RngCore>(
    sender: &SigningKey,
    recipient: &ReceivingKey,
    share: &[u8; 32],
    rng: &mut R,
) -> Result<Vec<u8>, CeremonyError> {
    use crypto_box::aead::Aead;
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut nonce);
    let sealer = crypto_box::SalsaBox::new(
        &crypto_box::PublicKey::from(recipient.0),
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
    sender: &ReceivingKey,
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
        &crypto_box::PublicKey::from(sender.0),
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

/// Checks the two sequence lengths inside a round-2 message's bincode (the public
/// polynomial's, and its proof of possession's responses) against the bytes there are,
/// before the crate's deserializer sees them: it reserves room for as many as a length
/// prefix claims. Layout (fixed-size integers; each element and scalar a u64 length and 32
/// bytes): `p` elements (u64, then 40 bytes each), the proof's challenge (40 bytes), `r`
/// responses (u64, then 40 bytes each), the opening. The deserializer stops at the first
/// element whose length is not 32, so when it reaches `r`, it is where this reads it.
pub(super) fn check_public_info(bytes: &[u8]) -> Result<(), &'static str> {
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

/// This trustee's messages of one ceremony, each round's made from its own type and
/// signed with the identity key.
pub struct Sender<'a> {
    pub identity: &'a SigningKey,
    pub election: ElectionId,
    pub ceremony: u64,
    /// This trustee's index.
    pub from: u16,
}

impl Sender<'_> {
    fn sign(&self, round: Round, to: Option<u16>, payload: Vec<u8>) -> CeremonyMessage {
        CeremonyMessage::sign(
            self.identity,
            self.election,
            self.ceremony,
            round,
            self.from,
            to,
            payload,
        )
    }

    /// Round 1: the commitment to this trustee's polynomial.
    pub fn commitment(&self, commitment: [u8; 32]) -> CeremonyMessage {
        self.sign(Round::Commitments, None, commitment.to_vec())
    }

    /// Round 2: the public polynomial, its proof of possession and the commitment's
    /// opening.
    pub fn polynomial(&self, info: &PublicInfo<'_, G>) -> Result<CeremonyMessage, CeremonyError> {
        let payload = bincode::serialize(info).map_err(|e| CeremonyError::Encode {
            what: "the public polynomial",
            reason: e.to_string(),
        })?;
        Ok(self.sign(Round::Polynomials, None, payload))
    }

    /// Round 3: a secret share for trustee `to`, sealed to its share-receiving key.
    pub fn share<R: rand_core::CryptoRng + rand_core::RngCore>(
        &self,
        to: u16,
        receiving: &ReceivingKey,
        share: &SecretKey<G>,
        rng: &mut R,
    ) -> Result<CeremonyMessage, CeremonyError> {
        let bytes = share.expose_scalar().to_bytes();
        let sealed = seal_share(self.identity, receiving, &bytes, rng)?;
        Ok(self.sign(Round::Shares, Some(to), sealed))
    }

    /// Round 4: the whole set of keys this trustee's ceremony made.
    pub fn confirmation(&self, set: &SealedSet) -> CeremonyMessage {
        self.sign(Round::Confirmations, None, set.encode())
    }
}

impl CeremonyMessage {
    /// This message's payload refused for `reason`.
    fn refused(&self, reason: impl ToString) -> CeremonyError {
        CeremonyError::Dkg {
            round: self.round,
            from: self.from,
            reason: reason.to_string(),
        }
    }

    /// This message's payload, if it is of `round`.
    fn payload_of(&self, round: Round) -> Result<&[u8], CeremonyError> {
        if self.round == round {
            Ok(&self.payload)
        } else {
            Err(self.refused(format!("read as a message of {round}")))
        }
    }

    /// A round-1 message's commitment.
    pub fn commitment(&self) -> Result<[u8; 32], CeremonyError> {
        self.payload_of(Round::Commitments)?
            .try_into()
            .map_err(|_| self.refused("a commitment is 32 bytes"))
    }

    /// A round-2 message's public polynomial (its lengths checked against its bytes
    /// before anything is reserved for them).
    pub fn polynomial(&self) -> Result<PublicInfo<'static, G>, CeremonyError> {
        let payload = self.payload_of(Round::Polynomials)?;
        check_public_info(payload).map_err(|reason| self.refused(reason))?;
        crate::encoding::from_untrusted_bincode(payload).map_err(|e| self.refused(e))
    }

    /// A round-3 message's secret share, opened by its recipient (`recipient`, the
    /// identity key whose receiving key it was sealed to) from its sender's receiving key.
    pub fn share(
        &self,
        recipient: &SigningKey,
        sender: &ReceivingKey,
    ) -> Result<SecretKey<G>, CeremonyError> {
        let opened = open_share(recipient, sender, self.payload_of(Round::Shares)?)?;
        SecretKey::<G>::from_bytes(&opened).ok_or(CeremonyError::Share)
    }

    /// A round-4 message's confirmed set.
    pub fn confirmation(&self) -> Result<SealedSet, CeremonyError> {
        let payload = self.payload_of(Round::Confirmations)?;
        SealedSet::decode(payload).map_err(|e| CeremonyError::Confirmation {
            from: self.from,
            reason: e.to_string(),
        })
    }
}

/// The hash of rounds 1–3: every such message (signature included), in order of round,
/// sender and recipient. Messages of round 4 are left out.
pub fn transcript_hash(messages: &[CeremonyMessage]) -> Transcript {
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
    Transcript(sha256(&w.bytes))
}
