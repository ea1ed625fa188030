//! One trustee's side: its seat, the state machine that takes each round on the board,
//! and a whole ceremony run in one process for tests and benchmarks.

use super::*;

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
    pub(super) fn sealed_set(
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
