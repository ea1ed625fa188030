//! The wire vocabulary of ballotchain: every state, status and error code as an enum, and
//! every body the JSON API sends or takes, defined once.
//!
//! The node (`engine`) returns these types, the server serialises them, and the pages, the
//! CLI and the browser miner read them. Strings appear only where serde or SQL meet them:
//! each enum's names are written once, in [`names!`] below. The crate builds for wasm32;
//! the `sqlx` feature adds the database encodings the engine needs.

#[macro_use]
mod names;
pub mod account;
pub mod cells;
pub mod chain;
pub mod election;
pub mod error;
pub mod live;
pub mod paths;
pub mod state;
pub mod trustee;

pub use account::{
    fingerprint, Acceptance, Account, AccountId, Credentials, InvitationInfo, IssuedInvitation,
    KeyProof, NewInvitation, PasswordChange, ValidatorInfo,
};
pub use chain::{
    genesis_etag, pinned_head, BadBlockRef, Ballot, BlockDetail, BlockRef, BlockSummary,
    CandidateVotes, CastReceipt, DecisionRecord, FinalHead, Finalise, Head, PastDecision,
    QueuedBlock, ReceiptReport, ShareStatus, SignedApproval, SignedRejection, SubmitOutcome,
    TallyReport, VoteInfo, WorkTemplate,
};
pub use election::{
    ElectionDetail, ElectionSummary, Enrolment, KeyChange, NewCandidate, NewElection, NewVoter,
    RegisteredVoter, Registration, Roll, VoterId,
};
pub use error::{ErrorBody, ErrorCode};
pub use live::{Change, LiveEvent};
pub use names::UnknownName;
/// A yes/no column as both database backends store it: 0 or 1. (sqlx's `Any` driver
/// reads a SQLite integer as an integer, never as a bool.)
#[cfg(feature = "sqlx")]
#[derive(Debug, Clone, Copy, sqlx::Type)]
#[sqlx(transparent)]
pub struct StoredFlag(pub i64);

#[cfg(feature = "sqlx")]
impl From<StoredFlag> for bool {
    fn from(flag: StoredFlag) -> bool {
        flag.0 != 0
    }
}

pub use state::{BlockStatus, CeremonyState, ChainCheck, ElectionState, ReceiptStatus, Role};
pub use trustee::{
    threshold_warning, CeremonyBoard, CeremonyInfo, CeremonySeat, NewCeremony, NewTrustee,
    TrusteeEnrolment, TrusteeId, TrusteeInfo, TrusteeInvitation, TrusteeInvitationInfo, Waiting,
};
