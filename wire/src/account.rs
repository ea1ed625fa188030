//! Accounts of election officers (admins) and validators.

use crate::state::Role;
use ledger::{PublicKey, Signature};
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

/// `POST /api/invitations`: whom an admin invites, and as what. The invitee chooses
/// their own password (and, as a validator, makes their own key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvitation {
    /// The login name the account will have.
    pub username: String,
    /// Admin or validator.
    pub role: Role,
}

/// An invitation as its maker sees it, once: the link holds a secret token that the
/// server keeps only as a hash. No `Debug`: it carries that token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedInvitation {
    /// The login name the account will have.
    pub username: String,
    /// Admin or validator.
    pub role: Role,
    /// Whether it re-enrols an existing validator with a new key.
    pub rekey: bool,
    /// The secret part of the link.
    pub token: String,
    /// The page that accepts it: `/invite/<token>`.
    pub path: String,
    /// When it stops working (Unix milliseconds): 72 hours after it was made.
    pub expires_at: u64,
}

/// `GET /api/invitations/{token}`: what the invitee is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    /// The login name the account will have (or has, when re-enrolling).
    pub username: String,
    /// Admin or validator.
    pub role: Role,
    /// Whether it re-enrols an existing validator with a new key (no password asked).
    pub rekey: bool,
    /// What a validator's key signs to prove the invitee holds it (64 hex digits).
    pub challenge: String,
    /// When it stops working (Unix milliseconds).
    pub expires_at: u64,
}

/// A validator's public key and its proof of possession: a signature over the
/// invitation's challenge (see `ledger::prove_possession`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyProof {
    /// The key's public half.
    pub public_key: PublicKey,
    /// Its signature over the possession domain tag and the challenge.
    pub proof: Signature,
}

/// `POST /api/invitations/{token}/accept`. No `Debug`: it carries a password.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct Acceptance {
    /// The password the invitee chose (12 characters or more); not asked when re-enrolling.
    #[serde(default)]
    pub password: Option<String>,
    /// A validator's key with its proof; required of validators, refused from admins.
    #[serde(default)]
    pub key: Option<KeyProof>,
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
