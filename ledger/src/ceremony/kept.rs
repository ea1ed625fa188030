//! What a trustee's key file keeps between turns, a turn on the board, and the one
//! decryption share the kept side allows.

use super::*;

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
    ///
    /// Every random choice of the side is drawn from [`seeded`] randomness, so the key
    /// file made at enrolment re-makes the side from the public board at any time: with
    /// `kept` of no ceremony, a board that already has this trustee's messages gives the
    /// same messages again (checked one by one; none is posted twice) and, once the
    /// ceremony is through, the same key share. A board whose messages from this trustee
    /// are not the ones its key makes (a side joined by a version before the seeded one,
    /// or a message the server altered) is refused ([`CeremonyError::NotRemade`]).
    pub fn turn(
        kept: Option<KeptSide>,
        identity: &SigningKey,
        election: ElectionId,
        ceremony: u64,
        seats: &[Seat],
        threshold: u16,
        board: &[CeremonyMessage],
    ) -> Result<Turn, CeremonyError> {
        let rng = |round| seeded(identity, election, ceremony, round);
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
                let (trustee, first) = Trustee::join(
                    identity,
                    election,
                    ceremony,
                    index,
                    seats,
                    threshold,
                    &mut rng(Round::Commitments),
                )?;
                KeptSide {
                    trustee,
                    outbox: remade(vec![first], board)?,
                    decrypted: None,
                }
            }
        };
        kept.outbox.retain(|m| on_board(m, board).is_none());
        let mut all = board.to_vec();
        all.extend(kept.outbox.iter().cloned());
        let next = kept.trustee.step(identity, &all, &mut rng(Round::Shares))?;
        kept.outbox.extend(remade(next, board)?);
        Ok(Turn { kept, joined })
    }

    /// Re-makes this trustee's side of the ceremony `ceremony` of `election` from its key
    /// alone and the public board, which must hold every message of this trustee's, up to
    /// its confirmation ([`KeptSide::turn`] with nothing kept): the side with its key
    /// share, for a key file that keeps no ceremony, or another.
    pub fn remake(
        identity: &SigningKey,
        election: ElectionId,
        ceremony: u64,
        seats: &[Seat],
        threshold: u16,
        board: &[CeremonyMessage],
    ) -> Result<KeptSide, CeremonyError> {
        let Turn { kept, .. } =
            Self::turn(None, identity, election, ceremony, seats, threshold, board)?;
        match (kept.trustee.key_share(), kept.outbox.first()) {
            (Some(_), None) => Ok(kept),
            (_, Some(next)) => Err(CeremonyError::NotPosted { round: next.round }),
            (None, None) => Err(CeremonyError::Missing {
                round: Round::Confirmations,
                from: kept.trustee.index,
            }),
        }
    }
}

/// The message on `board` in `m`'s place (its round, sender and recipient), if any.
fn on_board<'a>(m: &CeremonyMessage, board: &'a [CeremonyMessage]) -> Option<&'a CeremonyMessage> {
    board
        .iter()
        .find(|b| (b.round, b.from, b.to) == (m.round, m.from, m.to))
}

/// What of the messages this trustee just made is still to post: those whose place on
/// the board is empty. A place the board fills with another message than the one made
/// now means the side was not made from this key's seeded randomness.
fn remade(
    made: Vec<CeremonyMessage>,
    board: &[CeremonyMessage],
) -> Result<Vec<CeremonyMessage>, CeremonyError> {
    let mut out = Vec::new();
    for m in made {
        match on_board(&m, board) {
            None => out.push(m),
            Some(posted) if *posted == m => {}
            Some(_) => return Err(CeremonyError::NotRemade { round: m.round }),
        }
    }
    Ok(out)
}

/// The randomness a trustee's side of ceremony `ceremony` of `election` draws in `round`
/// (its polynomial when it joins, the nonces sealing its shares): derived from its
/// identity key's seed, never drawn anew, so the key made at enrolment re-makes every
/// message and the key share from the public board. As secret as the identity key, and
/// another for every ceremony (a restarted one draws a new polynomial).
pub fn seeded(
    identity: &SigningKey,
    election: ElectionId,
    ceremony: u64,
    round: Round,
) -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    let mut w = Writer::default();
    w.raw(SEEDED_DOMAIN)
        .raw(identity.as_bytes())
        .u64(election.0)
        .u64(ceremony)
        .u8(round as u8);
    rand_chacha::ChaCha20Rng::from_seed(sha256(&w.bytes))
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
            .sealed_set(share_key, sealed.transcript)
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
