//! Accounts of election officers (admins) and validators.

use crate::state::Role;
use ledger::PublicKey;
use serde::{Deserialize, Serialize};

/// An account's id in the node's database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
pub struct AccountId(pub i64);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A signed-in person's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Login name, shown to others (approvals list validators by name).
    pub username: String,
    /// Admin or validator.
    pub role: Role,
    /// The validator's public key (validators only).
    pub public_key: Option<PublicKey>,
}

/// `POST /api/session`. No `Debug`: it carries a password.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// `POST /api/accounts`. No `Debug`: it carries a password.
#[derive(Clone, Serialize, Deserialize)]
pub struct NewAccount {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Admin or validator.
    pub role: Role,
}
