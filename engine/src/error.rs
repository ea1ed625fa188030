//! The engine's error type. It speaks no HTTP: each variant names what went wrong and
//! carries a stable [`ErrorCode`]; the server decides the status in one place.

use ledger::RuleError;
use wire::ErrorCode;

/// What went wrong, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The input is malformed or out of range.
    #[error("{0}")]
    Invalid(String),
    /// Rows of a voter import that are wrong, with their line numbers.
    #[error("{} problem(s) found; nothing was registered", .0.len())]
    BadRows(Vec<String>),
    /// Username or password wrong.
    #[error("wrong username or password")]
    BadCredentials,
    /// The voting code is not registered for this election.
    #[error("this voting code is not valid for this election")]
    UnknownCode,
    /// The account may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing named does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// This voter has already voted: the receipt of that vote, when it is known (the
    /// voter who lost the answer to a vote that went through gets it back).
    #[error("this voter has already voted{}", .0.map(|r| format!("; that vote's receipt is {r}")).unwrap_or_default())]
    AlreadyVoted(Option<ledger::TxId>),
    /// The election's or the block's state does not allow this.
    #[error("{0}")]
    WrongState(String),
    /// Would duplicate something that must be unique.
    #[error("{0}")]
    Duplicate(String),
    /// The invitation was used already or has expired.
    #[error("{0}")]
    Gone(String),
    /// A signature that does not verify: a decision or a proof of possession made with
    /// another key, for another block or reason, or over another challenge.
    #[error("{0}")]
    BadSignature(String),
    /// The block no longer builds on the tip.
    #[error("the block is stale: {0}")]
    Stale(String),
    /// Enough blocks await validators at this height, none with fewer votes.
    #[error("{0}")]
    Crowded(String),
    /// This client has sent enough for now.
    #[error("{0}")]
    TooMany(String),
    /// No pending votes, so there is no block to mine.
    #[error("no votes are waiting for a block")]
    NothingToMine,
    /// Every pending vote of the template is in a block already awaiting validators at
    /// its height: mining it again could only make a duplicate.
    #[error("every waiting vote is already in block {index} ({block}), which awaits the validators; there is nothing new to mine until they decide or new votes arrive")]
    AllAwaiting {
        index: u64,
        block: ledger::BlockHash,
    },
    /// The stored chain was written in an earlier format this version does not read.
    #[error("{0}")]
    OldFormat(String),
    /// The stored chain failed re-verification and is not served for writes.
    #[error("the stored chain failed verification: {0}")]
    Integrity(String),
    /// The block breaks a chain rule.
    #[error("{0}")]
    Rule(#[from] RuleError),
    /// A vote cast on its own breaks a chain rule (in the vote's words).
    #[error("{}", .0.of_one_vote())]
    Vote(RuleError),
    /// The block carries a vote the pool does not have.
    #[error("vote {0} of the block is not in the pending pool")]
    UnknownVote(usize),
    /// The database failed, or holds a value that does not decode.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A bug or an unexpected state.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidInput,
            Self::BadRows(_) => ErrorCode::BadRows,
            Self::BadCredentials => ErrorCode::BadCredentials,
            Self::UnknownCode => ErrorCode::InvalidCode,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::AlreadyVoted(_) => ErrorCode::AlreadyVoted,
            Self::WrongState(_) | Self::OldFormat(_) => ErrorCode::WrongState,
            Self::Duplicate(_) => ErrorCode::Duplicate,
            Self::Gone(_) => ErrorCode::Gone,
            Self::BadSignature(_) => ErrorCode::BadSignature,
            Self::Stale(_) => ErrorCode::Stale,
            Self::Crowded(_) => ErrorCode::Crowded,
            Self::TooMany(_) => ErrorCode::RateLimited,
            Self::NothingToMine | Self::AllAwaiting { .. } => ErrorCode::NothingToMine,
            Self::Integrity(_) => ErrorCode::ChainIntegrity,
            Self::Rule(rule) | Self::Vote(rule) => ErrorCode::from(rule),
            Self::UnknownVote(_) => ErrorCode::UnknownVote,
            Self::Database(_) => ErrorCode::Database,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// Turns a UNIQUE violation into `Duplicate(message)`; anything else stays a database error.
    pub(crate) fn on_unique(err: sqlx::Error, message: impl Into<String>) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Duplicate(message.into())
            }
            _ => Self::Database(err),
        }
    }

    /// A task that was to run blocking work did not finish (it panicked or was cancelled).
    pub(crate) fn join(err: tokio::task::JoinError) -> Self {
        Self::Internal(format!("a background task failed: {err}"))
    }
}
