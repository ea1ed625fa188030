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
            receiving: receiving_public(identity),
            receiving_proof: prove_receiving_key(identity),
        }
    }

    /// Whether the identity key bound this receiving key.
    pub fn is_bound(&self) -> bool {
        receiving_key_is_bound(&self.identity, &self.receiving, &self.receiving_proof)
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
    #[serde(with = "receiving_arrays")]
    pub receiving: Vec<ReceivingKey>,
    pub threshold: u16,
    pub state: TrusteeState,
}

/// The receiving keys as arrays of bytes, as key files have kept them from the start.
mod receiving_arrays {
    use crate::hash::ReceivingKey;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(keys: &[ReceivingKey], s: S) -> Result<S::Ok, S::Error> {
        keys.iter().map(|k| k.0).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ReceivingKey>, D::Error> {
        let keys = Vec::<[u8; 32]>::deserialize(d)?;
        Ok(keys.into_iter().map(ReceivingKey).collect())
    }
}

/// Where a round leaves a trustee: its next state and the messages to post, or `None`
/// while the board lacks what the round needs.
type Moved = Option<(TrusteeState, Vec<CeremonyMessage>)>;

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
        let me = ParticipantCollectingCommitments::<G>::new(
            Params::new(n, usize::from(threshold)),
            usize::from(index),
            rng,
        );
        let commitment = me.commitment();
        let trustee = Self {
            election,
            ceremony,
            index,
            identities: seats.iter().map(|s| s.identity).collect(),
            receiving: seats.iter().map(|s| s.receiving).collect(),
            threshold,
            state: TrusteeState::Commitments(me),
        };
        let first = trustee.sender(identity).commitment(commitment);
        Ok((trustee, first))
    }

    /// What signs this trustee's messages.
    fn sender<'a>(&self, identity: &'a SigningKey) -> Sender<'a> {
        Sender {
            identity,
            election: self.election,
            ceremony: self.ceremony,
            from: self.index,
        }
    }

    /// The other trustees' indexes.
    fn others(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.identities.len() as u16).filter(move |&i| i != self.index)
    }

    /// Every other trustee's message of a broadcast `round`, once all are on the board.
    fn broadcasts<'a>(
        &self,
        board: &Board<'a>,
        round: Round,
    ) -> Option<Vec<(u16, &'a CeremonyMessage)>> {
        self.others()
            .map(|j| board.get(&(round, j, None)).map(|m| (j, *m)))
            .collect()
    }

    /// Takes the board (every message posted so far) and moves this trustee on as far as
    /// the board allows, one round at a time: the messages it must post now (none while
    /// others have not posted theirs).
    ///
    /// | state        | the board has                       | posts                  | then         |
    /// |--------------|-------------------------------------|------------------------|--------------|
    /// | Commitments  | every other commitment              | its public polynomial  | Polynomials  |
    /// | Polynomials  | every other polynomial              | a sealed share to each | Shares       |
    /// | Shares       | all of rounds 1–3                   | its confirmation       | Done         |
    /// | any          | not yet that                        | nothing                | unchanged    |
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
        let mut out = Vec::new();
        loop {
            let moved = match &self.state {
                TrusteeState::Commitments(me) => self.send_polynomial(me, identity, &board)?,
                TrusteeState::Polynomials(me) => self.send_shares(me, identity, &board, rng)?,
                TrusteeState::Shares(me) => self.confirm(me, identity, &board)?,
                TrusteeState::Done(_) => None,
            };
            let Some((state, posts)) = moved else { break };
            self.state = state;
            out.extend(posts);
        }
        Ok(out)
    }

    /// Round 1 done: every other trustee's commitment taken, this trustee's public
    /// polynomial to post.
    fn send_polynomial(
        &self,
        me: &ParticipantCollectingCommitments<G>,
        identity: &SigningKey,
        board: &Board<'_>,
    ) -> Result<Moved, CeremonyError> {
        let Some(commitments) = self.broadcasts(board, Round::Commitments) else {
            return Ok(None);
        };
        let mut me = me.clone();
        for (j, m) in commitments {
            me.insert_commitment(usize::from(j), m.commitment()?);
        }
        let me = me.finish_commitment_phase();
        let posts = vec![self.sender(identity).polynomial(&me.public_info())?];
        Ok(Some((TrusteeState::Polynomials(me), posts)))
    }

    /// Round 2 done: every other trustee's public polynomial taken, a share for each of
    /// them to post, sealed to its receiving key.
    fn send_shares<R: rand_core::CryptoRng + rand_core::RngCore>(
        &self,
        me: &ParticipantCollectingPolynomials<G>,
        identity: &SigningKey,
        board: &Board<'_>,
        rng: &mut R,
    ) -> Result<Moved, CeremonyError> {
        let Some(polynomials) = self.broadcasts(board, Round::Polynomials) else {
            return Ok(None);
        };
        let mut me = me.clone();
        for (j, m) in polynomials {
            me.insert_public_polynomial(usize::from(j), m.polynomial()?)
                .map_err(|e| dkg(e, Round::Polynomials, j))?;
        }
        let me = me.finish_polynomials_phase();
        let sender = self.sender(identity);
        let posts = self
            .others()
            .map(|j| {
                let share = me.secret_share_for_participant(usize::from(j));
                sender.share(j, &self.receiving[usize::from(j)], &share, rng)
            })
            .collect::<Result<_, _>>()?;
        Ok(Some((TrusteeState::Shares(me), posts)))
    }

    /// Round 3 done (every message of rounds 1–3 on the board, this trustee's own and
    /// every share, not only those it receives: the confirmation covers the whole
    /// transcript): the shares it received opened, its key share complete, and its
    /// confirmation of the whole set to post.
    fn confirm(
        &self,
        me: &ParticipantExchangingSecrets<G>,
        identity: &SigningKey,
        board: &Board<'_>,
    ) -> Result<Moved, CeremonyError> {
        let n = self.identities.len() as u16;
        let complete = (0..n).all(|from| {
            board.contains_key(&(Round::Commitments, from, None))
                && board.contains_key(&(Round::Polynomials, from, None))
                && (0..n)
                    .filter(|&to| to != from)
                    .all(|to| board.contains_key(&(Round::Shares, from, Some(to))))
        });
        if !complete {
            return Ok(None);
        }
        let mut me = me.clone();
        for j in self.others() {
            let m = board[&(Round::Shares, j, Some(self.index))];
            let share = m.share(identity, &self.receiving[usize::from(j)])?;
            me.insert_secret_share(usize::from(j), share)
                .map_err(|e| dkg(e, Round::Shares, j))?;
        }
        let me = me
            .complete()
            .map_err(|e| dkg(e, Round::Shares, self.index))?;
        let transcript = transcript_hash(&board.values().map(|m| (*m).clone()).collect::<Vec<_>>());
        let posts = vec![self
            .sender(identity)
            .confirmation(&self.sealed_set(&me, transcript)?)];
        Ok(Some((TrusteeState::Done(me), posts)))
    }

    /// The whole set of keys this trustee's own key share gives, with the seats and the
    /// threshold it joined with: what its confirmation signs, and what it checks a
    /// genesis block against.
    pub(super) fn sealed_set(
        &self,
        me: &ActiveParticipant<G>,
        transcript: Transcript,
    ) -> Result<SealedSet, CeremonyError> {
        let set = me.key_set();
        let key = |key| crate::secret::group_key(key).map_err(|_| CeremonyError::Share);
        let keys = set
            .participant_keys()
            .iter()
            .map(key)
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
            election_key: key(set.shared_key())?,
        })
    }

    /// The election key this trustee's own key share gives, once its part of the ceremony
    /// is done: the one to compare with what the board and the genesis block say.
    pub fn election_key(&self) -> Option<GroupKey> {
        crate::secret::group_key(self.key_share()?.key_set().shared_key()).ok()
    }

    /// This trustee's key share, once its part of the ceremony is done.
    pub fn key_share(&self) -> Option<&ActiveParticipant<G>> {
        match &self.state {
            TrusteeState::Done(me) => Some(me),
            _ => None,
        }
    }
}

/// A message the key generation itself refuses.
fn dkg(e: elastic_elgamal::dkg::Error, round: Round, from: u16) -> CeremonyError {
    CeremonyError::Dkg {
        round,
        from,
        reason: e.to_string(),
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
