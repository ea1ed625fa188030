//! The voter's ballot, in its own worker: the choice is encrypted here under the election
//! key (once the worker has checked that key is the one the sealed trustees' keys combine
//! to, each confirmation signed), with the proofs that it is exactly one candidate; the key
//! made from the voting code signs the vote and is gone. The page gets the signed,
//! encrypted vote, never the key; the server never sees the choice.

use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use ledger::secret::Ballot;
use ledger::{CandidateId, ElectionId, Trustees, Vote, VotingCode};
use serde::{Deserialize, Serialize};

/// A vote to sign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BallotRequest {
    /// The code as the voter typed it.
    pub code: String,
    pub election: ElectionId,
    /// The trustees as the genesis block seals them, with the election key.
    pub trustees: Trustees,
    /// The ballot, in the genesis block's order.
    pub candidates: Vec<CandidateId>,
    /// The choice: one of `candidates`.
    pub candidate: CandidateId,
    /// When it is cast (milliseconds since the epoch).
    pub timestamp: u64,
}

/// The signed vote, or why there is none.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum BallotAnswer {
    Signed(Vote),
    /// The code is not a voting code (mistyped).
    MalformedCode,
    /// The choice is not on the ballot.
    NoCandidate,
    /// The election key served is not the trustees' (or a confirmation is not signed):
    /// whoever made it could read the ballot, so nothing is encrypted.
    UntrustedKey(String),
}

/// The ballot worker.
pub struct BallotWorker;

impl Job for BallotWorker {
    type Request = BallotRequest;
    type Answer = BallotAnswer;
    type Codec = crate::Json;
    const BUNDLE: &'static str = "ballot";
}

/// Checks the election key, encrypts the choice under it with its proofs, and signs the
/// vote with the key the code gives in this election.
pub fn sign(r: &BallotRequest) -> BallotAnswer {
    let Ok(code) = VotingCode::parse(&r.code) else {
        return BallotAnswer::MalformedCode;
    };
    if let Err(e) = r.trustees.check(r.election) {
        return BallotAnswer::UntrustedKey(e.to_string());
    }
    let Some(choice) = r.candidates.iter().position(|c| *c == r.candidate) else {
        return BallotAnswer::NoCandidate;
    };
    let ballot = match Ballot::encrypt(
        &r.trustees.election_key.0,
        r.candidates.len(),
        choice,
        &mut rand_core::OsRng,
    ) {
        Ok(ballot) => ballot,
        Err(e) => return BallotAnswer::UntrustedKey(e.to_string()),
    };
    BallotAnswer::Signed(Vote::sign(
        &code.signing_key(r.election),
        r.election,
        ballot.encode(),
        r.timestamp,
    ))
}

impl Worker for BallotWorker {
    type Message = ();
    type Input = (u32, BallotRequest);
    type Output = (u32, BallotAnswer);

    fn create(_: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _: &WorkerScope<Self>, _: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (id, request): Self::Input, who: HandlerId) {
        scope.respond(who, (id, sign(&request)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One trustee's ceremony in election 7, as its genesis block seals it.
    fn sealed() -> (Trustees, Vec<ledger::ceremony::Trustee>) {
        let identity = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let (board, sides) = ledger::ceremony::run_all(
            ElectionId(7),
            1,
            std::slice::from_ref(&identity),
            1,
            &mut rand_core::OsRng,
        )
        .unwrap();
        let public = ledger::PublicKey(identity.verifying_key().to_bytes());
        (
            Trustees::from_ceremony(1, 1, &[public], &board).unwrap(),
            sides,
        )
    }

    #[test]
    fn a_code_signs_an_encrypted_choice_and_a_typo_or_a_foreign_key_signs_nothing() {
        use ledger::secret::{find_counts, DecryptionShare, EncryptedSums};
        let (trustees, sides) = sealed();
        let code = VotingCode::from_entropy([4; ledger::code::CODE_BYTES]);
        let mut r = BallotRequest {
            code: code.to_string(),
            election: ElectionId(7),
            trustees: trustees.clone(),
            candidates: vec![CandidateId(1), CandidateId(2), CandidateId(5)],
            candidate: CandidateId(2),
            timestamp: 5,
        };
        let BallotAnswer::Signed(vote) = sign(&r) else {
            panic!("the code signs")
        };
        assert!(vote.signature_is_valid());
        assert_eq!(vote.voter, code.public_key(ElectionId(7)));
        assert_eq!(vote.election, ElectionId(7));
        // The ballot proves one candidate, and only the trustee's share reads it.
        let ballot = vote.read_ballot().unwrap();
        ballot.verify(&trustees.election_key.0, 3).unwrap();
        let mut sums = EncryptedSums::new(3);
        sums.add(&ballot).unwrap();
        let share =
            DecryptionShare::make(sides[0].key_share().unwrap(), &sums, &mut rand_core::OsRng)
                .unwrap();
        assert_eq!(
            find_counts(&trustees.keys(), &sums, &[share], 1).unwrap(),
            [0, 1, 0]
        );
        // An election key the trustees did not make (an operator's own) encrypts nothing.
        let mut foreign = r.clone();
        foreign.trustees.election_key = trustees.trustees[0].verification_key;
        foreign.trustees.threshold = 1;
        if foreign.trustees.election_key != trustees.election_key {
            assert!(matches!(sign(&foreign), BallotAnswer::UntrustedKey(_)));
        }
        let mut other_election = r.clone();
        other_election.election = ElectionId(8);
        assert!(matches!(
            sign(&other_election),
            BallotAnswer::UntrustedKey(_)
        ));
        r.candidate = CandidateId(3);
        assert!(matches!(sign(&r), BallotAnswer::NoCandidate));
        r.code = "not a code".into();
        assert!(matches!(sign(&r), BallotAnswer::MalformedCode));
    }
}
