//! Trustees and their key ceremony: the people who hold the election key between them,
//! and the bulletin board on which they make it (see `ledger::ceremony`).
//!
//! A trustee has no password. The officer invites them by name to a seat of one election;
//! the invitee enrols an identity key (proven over the invitation's challenge) and a
//! share-receiving key (bound by the identity key). From then on every act of theirs is a
//! message signed by that identity key, which the server checks and relays.

use ledger::ceremony::{CeremonyMessage, Round, Seat};
use ledger::{ElectionId, GroupKey, Signature};
use serde::{Deserialize, Serialize};

/// A trustee's seat in the node's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
pub struct TrusteeId(pub i64);

impl std::fmt::Display for TrusteeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// `POST /api/elections/{id}/trustees`: a seat for a trustee, by the name people know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTrustee {
    /// Shown on the ceremony board.
    pub name: String,
}

/// A trustee's invitation as the officer sees it, once: the link holds a secret token
/// that the server keeps only as a hash. No `Debug`: it carries that token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteeInvitation {
    /// The seat it fills.
    pub trustee: TrusteeId,
    /// The trustee's name.
    pub name: String,
    /// The election.
    pub election: ElectionId,
    /// The secret part of the link.
    pub token: String,
    /// The page that accepts it: `/trustee/<token>`.
    pub path: String,
    /// When it stops working (Unix milliseconds).
    pub expires_at: u64,
}

/// `GET /api/trustee-invitations/{token}`: what the invitee is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteeInvitationInfo {
    /// The seat.
    pub trustee: TrusteeId,
    /// The trustee's name.
    pub name: String,
    /// The election and its title.
    pub election: ElectionId,
    pub title: String,
    /// What the identity key signs to prove possession (64 hex digits).
    pub challenge: String,
    /// When it stops working (Unix milliseconds).
    pub expires_at: u64,
}

/// `POST /api/trustee-invitations/{token}/accept`: the trustee's keys, each proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteeEnrolment {
    /// The identity key, the share-receiving key and the identity key's binding of it.
    pub seat: Seat,
    /// The identity key's signature over the invitation's challenge
    /// (`ledger::prove_possession`).
    pub proof: Signature,
}

/// A trustee's seat as anyone sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrusteeInfo {
    pub id: TrusteeId,
    pub name: String,
    /// The enrolled keys; `None` until the invitation is accepted.
    pub seat: Option<Seat>,
    /// When the keys were enrolled (Unix milliseconds).
    pub enrolled_at: Option<u64>,
}

/// `POST /api/elections/{id}/ceremony`: starts the key ceremony (again) with every
/// enrolled trustee, of whom `threshold` will be needed to decrypt the tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCeremony {
    pub threshold: u16,
}

/// A trustee's place in a running ceremony.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonySeat {
    /// The trustee's index: the `from` and `to` of its messages.
    pub position: u16,
    pub trustee: TrusteeId,
    pub name: String,
    pub seat: Seat,
}

/// Who has yet to post in the earliest round not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub round: Round,
    /// The positions of the trustees it waits for.
    pub trustees: Vec<u16>,
}

/// The current ceremony: its trustees in order, every message posted, and how far it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyInfo {
    /// The ceremony id every message signs (a restart is a new one).
    pub id: u64,
    pub threshold: u16,
    pub seats: Vec<CeremonySeat>,
    pub messages: Vec<CeremonyMessage>,
    /// The round still running and whom it waits for; `None` once every message is in.
    pub waiting: Option<Waiting>,
    /// The election key, once every trustee confirmed the same transcript and their keys
    /// combine.
    pub election_key: Option<GroupKey>,
    /// Why a ceremony whose messages are all in does not give a key.
    pub problem: Option<String>,
    /// Said when the threshold equals the number of trustees: losing one trustee then
    /// loses the election.
    pub warning: Option<String>,
}

/// `GET /api/elections/{id}/ceremony`: the bulletin board, public like the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CeremonyBoard {
    pub election: ElectionId,
    /// Every trustee's seat, enrolled or not (replaced seats left out).
    pub trustees: Vec<TrusteeInfo>,
    /// The ceremony under way or complete; `None` before the officer starts one.
    pub ceremony: Option<CeremonyInfo>,
}

impl CeremonyBoard {
    /// Where the ceremony is.
    pub fn state(&self) -> crate::CeremonyState {
        self.ceremony
            .as_ref()
            .map_or(crate::CeremonyState::NotStarted, CeremonyInfo::state)
    }
}

impl CeremonyInfo {
    /// Where this ceremony is: complete once the board has its election key, failed
    /// when its check found a problem, running otherwise.
    pub fn state(&self) -> crate::CeremonyState {
        match (&self.election_key, &self.problem) {
            (Some(_), _) => crate::CeremonyState::Complete,
            (None, Some(_)) => crate::CeremonyState::Failed,
            (None, None) => crate::CeremonyState::Running,
        }
    }
}

/// The warning for a threshold equal to the number of trustees.
pub fn threshold_warning(threshold: u16, trustees: usize) -> Option<String> {
    (usize::from(threshold) == trustees && trustees > 0).then(|| {
        format!(
            "the threshold is all {trustees} trustees: if one of them loses their key file or passphrase, nobody can decrypt the tally"
        )
    })
}
