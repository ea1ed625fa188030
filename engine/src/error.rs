//! The engine's error type. Each variant says which HTTP status the server maps it to.

use ledger::RuleError;

/// What went wrong, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// 400: the input is malformed or out of range.
    #[error("{0}")]
    Invalid(String),
    /// 400: rows of a voter import that are wrong, with their line numbers.
    #[error("the file has {} bad row(s); nothing was imported", .0.len())]
    BadRows(Vec<String>),
    /// 401: username or password wrong.
    #[error("wrong username or password")]
    BadCredentials,
    /// 403: the voting code is not registered for this election.
    #[error("this voting code is not valid for this election")]
    UnknownCode,
    /// 403: the account may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the thing named does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: this voter has already voted.
    #[error("this voter has already voted")]
    AlreadyVoted,
    /// 409: the election's state does not allow this.
    #[error("{0}")]
    WrongState(String),
    /// 409: would duplicate something that must be unique.
    #[error("{0}")]
    Duplicate(String),
    /// 409: the block no longer builds on the tip.
    #[error("the block is stale: {0}")]
    Stale(String),
    /// 409: no pending votes, so there is no block to mine.
    #[error("there are no pending votes to mine")]
    NothingToMine,
    /// 409: the stored chain failed re-verification and is not served for writes.
    #[error("the stored chain failed verification: {0}")]
    Integrity(String),
    /// 422: the block (or a vote) breaks a chain rule.
    #[error("{0}")]
    Rule(#[from] RuleError),
    /// 422: the block carries a vote the pool does not have.
    #[error("vote {0} of the block is not in the pending pool")]
    UnknownVote(usize),
    /// 500: the database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// 500: a bug or an unexpected state.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::Invalid(_) | Self::BadRows(_) => 400,
            Self::BadCredentials => 401,
            Self::UnknownCode | Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::AlreadyVoted
            | Self::WrongState(_)
            | Self::Duplicate(_)
            | Self::Stale(_)
            | Self::NothingToMine
            | Self::Integrity(_) => 409,
            Self::Rule(_) | Self::UnknownVote(_) => 422,
            Self::Database(_) | Self::Internal(_) => 500,
        }
    }

    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_input",
            Self::BadRows(_) => "bad_rows",
            Self::BadCredentials => "bad_credentials",
            Self::UnknownCode => "invalid_code",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::AlreadyVoted => "already_voted",
            Self::WrongState(_) => "wrong_state",
            Self::Duplicate(_) => "duplicate",
            Self::Stale(_) => "stale",
            Self::NothingToMine => "nothing_to_mine",
            Self::Integrity(_) => "chain_integrity",
            Self::Rule(r) => r.code(),
            Self::UnknownVote(_) => "unknown_vote",
            Self::Database(_) => "database",
            Self::Internal(_) => "internal",
        }
    }

    /// Turns a UNIQUE violation into `Duplicate(message)`, anything else stays a database error.
    pub(crate) fn on_unique(err: sqlx::Error, message: impl Into<String>) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Duplicate(message.into())
            }
            _ => Self::Database(err),
        }
    }
}
