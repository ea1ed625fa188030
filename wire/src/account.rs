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

/// `PUT /api/session/password`. No `Debug`: it carries passwords.
#[derive(Clone, Serialize, Deserialize)]
pub struct PasswordChange {
    /// The password now.
    pub current_password: String,
    /// The password from now on (12 characters or more).
    pub new_password: String,
}

/// A validator of an election as anyone may see it: who, with which key, and whether
/// that key is the one sealed in the genesis block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorInfo {
    /// Login name, shown with every decision.
    pub username: String,
    /// The account's public key.
    pub public_key: Option<PublicKey>,
    /// Whether the genesis block lists this key (always false before sealing).
    pub in_genesis: bool,
}

/// A short form of a public key for people to compare: its first 8 bytes, in groups of
/// four hex digits ("1a2b 3c4d 5e6f 7a8b").
pub fn fingerprint(key: &PublicKey) -> String {
    let hex = key.to_hex();
    hex.as_bytes()[..16]
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_the_keys_first_eight_bytes_in_groups() {
        let key = PublicKey([0xab; 32]);
        assert_eq!(fingerprint(&key), "abab abab abab abab");
    }
}
