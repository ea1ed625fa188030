//! The voter's signature, in its own worker: the key is made from the voting code here,
//! signs the vote, and is gone; the page gets the signed vote, never the key.

use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use ledger::{CandidateId, ElectionId, Vote, VotingCode};
use serde::{Deserialize, Serialize};

/// A vote to sign.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BallotRequest {
    /// The code as the voter typed it.
    pub code: String,
    pub election: ElectionId,
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
}

/// The ballot worker.
pub struct BallotWorker;

impl Job for BallotWorker {
    type Request = BallotRequest;
    type Answer = BallotAnswer;
    type Codec = crate::Json;
    const BUNDLE: &'static str = "ballot";
}

/// Signs the vote with the key the code gives in this election.
pub fn sign(r: &BallotRequest) -> BallotAnswer {
    match VotingCode::parse(&r.code) {
        Ok(code) => BallotAnswer::Signed(Vote::sign(
            &code.signing_key(r.election),
            r.election,
            r.candidate,
            r.timestamp,
        )),
        Err(_) => BallotAnswer::MalformedCode,
    }
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

    #[test]
    fn a_code_signs_a_vote_by_its_own_key_and_a_typo_signs_nothing() {
        let code = VotingCode::from_entropy([4; ledger::code::CODE_BYTES]);
        let mut r = BallotRequest {
            code: code.to_string(),
            election: ElectionId(7),
            candidate: CandidateId(2),
            timestamp: 5,
        };
        let BallotAnswer::Signed(vote) = sign(&r) else {
            panic!("the code signs")
        };
        assert!(vote.signature_is_valid());
        assert_eq!(vote.voter, code.public_key(ElectionId(7)));
        assert_eq!(
            (vote.candidate, vote.election),
            (CandidateId(2), ElectionId(7))
        );
        r.code = "not a code".into();
        assert!(matches!(sign(&r), BallotAnswer::MalformedCode));
    }
}
