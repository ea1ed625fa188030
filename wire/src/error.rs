//! Every error an API client can be told, by a stable code, and the body that carries it.

use ledger::RuleError;
use serde::{Deserialize, Serialize};

names! {
    /// A stable, machine-readable error code. The node's, the server's and each chain
    /// rule's (a block or vote breaking a rule is answered with the rule's own code).
    pub enum ErrorCode {
        /// The input is malformed or out of range.
        InvalidInput = "invalid_input",
        /// Rows of a voter import are wrong; the details list them.
        BadRows = "bad_rows",
        /// Wrong username or password.
        BadCredentials = "bad_credentials",
        /// The voting code is not registered for this election.
        InvalidCode = "invalid_code",
        /// The account may not do this.
        Forbidden = "forbidden",
        /// The thing named does not exist.
        NotFound = "not_found",
        /// This voter has already voted (also the chain rule of that name).
        AlreadyVoted = "already_voted",
        /// The election's or the block's state does not allow this.
        WrongState = "wrong_state",
        /// Would duplicate something that must be unique.
        Duplicate = "duplicate",
        /// The block no longer builds on the tip.
        Stale = "stale",
        /// Enough blocks await validators at this height, none with fewer votes than
        /// this one: mine the full template.
        Crowded = "crowded",
        /// No pending votes, so no block to mine.
        NothingToMine = "nothing_to_mine",
        /// The stored chain failed re-verification and takes no writes.
        ChainIntegrity = "chain_integrity",
        /// The block carries a vote the pending pool does not have.
        UnknownVote = "unknown_vote",
        /// The database failed.
        Database = "database",
        /// A bug or an unexpected state on the server.
        Internal = "internal",
        /// No valid session: sign in first.
        Unauthenticated = "unauthenticated",
        /// The request does not parse (body, path or query).
        Malformed = "malformed",
        /// The request body is too large.
        TooLarge = "too_large",
        /// The body is not of a type the endpoint takes.
        UnsupportedMediaType = "unsupported_media_type",
        /// Too many failures from this address; wait.
        RateLimited = "rate_limited",
        /// The invitation was used already or has expired.
        Gone = "gone",
        /// The request came from a page of another site (its `Origin` or
        /// `Sec-Fetch-Site` says so).
        CrossSite = "cross_site",
        /// The server is busy; try again after the `Retry-After` seconds.
        Overloaded = "overloaded",
        /// The request took too long to arrive or to answer.
        Timeout = "timeout",
        /// The session store failed.
        Session = "session",
        /// Chain rule: unknown format version.
        WrongVersion = "wrong_version",
        /// Chain rule: the block or vote names another election.
        WrongElection = "wrong_election",
        /// Chain rule: the height is not one above the tip.
        WrongIndex = "wrong_index",
        /// Chain rule: the parent is not the tip.
        WrongParent = "wrong_parent",
        /// Chain rule: the difficulty differs from the genesis rule.
        WrongDifficulty = "wrong_difficulty",
        /// Chain rule: the proof of work is too weak.
        InsufficientWork = "insufficient_work",
        /// Chain rule: the block is older than its parent.
        TimestampBeforeParent = "timestamp_before_parent",
        /// Chain rule: a block carries at least one vote.
        EmptyBlock = "empty_block",
        /// Chain rule: more votes than a block may carry.
        TooManyVotes = "too_many_votes",
        /// Chain rule: the Merkle root does not match the votes.
        BadMerkleRoot = "bad_merkle_root",
        /// Chain rule: a ballot that does not read, or whose proofs do not hold (not
        /// exactly one candidate, or another election's key).
        BadBallot = "bad_ballot",
        /// Chain rule: a ballot whose ciphertexts another vote carries already.
        CopiedBallot = "copied_ballot",
        /// Chain rule: a vote from a key not in the registry.
        IneligibleVoter = "ineligible_voter",
        /// Chain rule: a vote's signature does not verify.
        BadSignature = "bad_signature",
        /// Chain rule: two votes of one voter in one block.
        DuplicateVoteInBlock = "duplicate_vote_in_block",
    }
}

impl From<&RuleError> for ErrorCode {
    fn from(rule: &RuleError) -> Self {
        match rule {
            RuleError::WrongVersion { .. } => Self::WrongVersion,
            RuleError::WrongElection => Self::WrongElection,
            RuleError::WrongIndex { .. } => Self::WrongIndex,
            RuleError::WrongParent { .. } => Self::WrongParent,
            RuleError::WrongDifficulty { .. } => Self::WrongDifficulty,
            RuleError::InsufficientWork { .. } => Self::InsufficientWork,
            RuleError::TimestampBeforeParent => Self::TimestampBeforeParent,
            RuleError::EmptyBlock => Self::EmptyBlock,
            RuleError::TooManyVotes(_) => Self::TooManyVotes,
            RuleError::BadMerkleRoot => Self::BadMerkleRoot,
            RuleError::BadBallot { .. } => Self::BadBallot,
            RuleError::CopiedBallot { .. } => Self::CopiedBallot,
            RuleError::IneligibleVoter { .. } => Self::IneligibleVoter,
            RuleError::BadSignature { .. } => Self::BadSignature,
            RuleError::DuplicateVoteInBlock { .. } => Self::DuplicateVoteInBlock,
            RuleError::AlreadyVoted { .. } => Self::AlreadyVoted,
        }
    }
}

/// The body of every error answer: `{"error": code, "message": text, "details"?: [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, for programs.
    pub error: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// One line per problem, where there are several (a voter import's bad rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::BlockHash;

    #[test]
    fn a_broken_rule_is_answered_with_the_rules_own_code() {
        let rules = [
            RuleError::WrongVersion { found: 9 },
            RuleError::WrongElection,
            RuleError::WrongIndex {
                expected: 1,
                found: 2,
            },
            RuleError::WrongParent {
                expected: BlockHash([0; 32]),
                found: BlockHash([1; 32]),
            },
            RuleError::WrongDifficulty {
                expected: 8,
                found: 9,
            },
            RuleError::InsufficientWork {
                required: 8,
                found: 1,
            },
            RuleError::TimestampBeforeParent,
            RuleError::EmptyBlock,
            RuleError::TooManyVotes(1001),
            RuleError::BadMerkleRoot,
            RuleError::BadBallot {
                index: 0,
                reason: "two marks".into(),
            },
            RuleError::CopiedBallot { index: 2 },
            RuleError::IneligibleVoter { index: 0 },
            RuleError::BadSignature { index: 0 },
            RuleError::DuplicateVoteInBlock { index: 1 },
            RuleError::AlreadyVoted { index: 0 },
        ];
        for rule in &rules {
            assert_eq!(ErrorCode::from(rule).as_str(), rule.code(), "{rule:?}");
        }
    }

    #[test]
    fn an_error_body_without_details_has_no_details_field() {
        let body = ErrorBody {
            error: ErrorCode::NothingToMine,
            message: "no votes are waiting for a block".into(),
            details: Vec::new(),
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": "nothing_to_mine", "message": "no votes are waiting for a block"})
        );
        assert_eq!(serde_json::from_value::<ErrorBody>(json).unwrap(), body);
    }
}
