//! One-time invitations: an admin names an account and its role; the invitee chooses
//! the password and, as a validator, proves they hold a key the server never sees. An
//! officer who withdraws a validator's key before sealing issues a re-enrolment.

use crate::accounts::{check_password, check_username, hash_password, insert_account};
use crate::{db_time, now_ms, EngineError, Node, Result};
use ledger::{possession_is_proven, ElectionId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use wire::{
    Acceptance, Account, AccountId, ElectionState, InvitationInfo, IssuedInvitation, KeyProof,
    NewInvitation, Role,
};

/// How long an invitation works.
pub const INVITATION_HOURS: u64 = 72;

/// An invitation as stored: the token only as its hash.
#[derive(sqlx::FromRow)]
struct StoredInvitation {
    id: i64,
    username: String,
    role: Role,
    account_id: Option<AccountId>,
    challenge: Vec<u8>,
    expires_at: i64,
    used_at: Option<i64>,
}

impl StoredInvitation {
    /// The invitation if it still works: unused and unexpired.
    fn usable(self, now: i64) -> Result<Self> {
        if self.used_at.is_some() {
            return Err(EngineError::Gone(
                "this invitation has been used already".into(),
            ));
        }
        if self.expires_at <= now {
            return Err(EngineError::Gone(
                "this invitation has expired; ask the election office for a new one".into(),
            ));
        }
        Ok(self)
    }
}

pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Stores a fresh invitation (secret token, fresh challenge) and returns it with its token,
/// the only time the token exists outside the invitee's link. Pending invitations of the
/// same username (or account) stop working: the newest link is the one that counts.
async fn issue(
    conn: &mut sqlx::AnyConnection,
    username: &str,
    role: Role,
    account: Option<AccountId>,
    by: AccountId,
) -> Result<IssuedInvitation> {
    let now = now_ms();
    let expires_at = now + INVITATION_HOURS * 3_600_000;
    // Replaced: expired for good, whatever clock a concurrent acceptance read.
    sqlx::query("UPDATE invitations SET expires_at = 0 WHERE username = $1 AND used_at IS NULL")
        .bind(username)
        .execute(&mut *conn)
        .await?;
    let token = hex::encode(random::<32>());
    sqlx::query(
        "INSERT INTO invitations (token_hash, username, role, account_id, challenge, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(token_hash(&token))
    .bind(username)
    .bind(role)
    .bind(account)
    .bind(random::<32>().to_vec())
    .bind(by)
    .bind(db_time(now))
    .bind(db_time(expires_at))
    .execute(&mut *conn)
    .await?;
    tracing::info!(username, %role, rekey = account.is_some(), "invitation issued");
    Ok(IssuedInvitation {
        username: username.to_owned(),
        role,
        rekey: account.is_some(),
        path: format!("/invite/{token}"),
        token,
        expires_at,
    })
}

impl Node {
    /// An admin invites someone to hold a new account of this name and role.
    pub async fn create_invitation(
        &self,
        by: AccountId,
        new: &NewInvitation,
    ) -> Result<IssuedInvitation> {
        let username = new.username.trim();
        check_username(username)?;
        let mut tx = self.inner.write.begin().await?;
        let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE username = $1")
            .bind(username)
            .fetch_one(&mut *tx)
            .await?;
        if exists > 0 {
            return Err(EngineError::Duplicate(format!(
                "the username {username:?} is taken"
            )));
        }
        let issued = issue(&mut tx, username, new.role, None, by).await?;
        tx.commit().await?;
        Ok(issued)
    }

    async fn stored_invitation(&self, token: &str) -> Result<StoredInvitation> {
        sqlx::query_as(
            "SELECT id, username, role, account_id, challenge, expires_at, used_at
             FROM invitations WHERE token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("invitation"))
    }

    /// What an invitation asks of its invitee. Used or expired: [`EngineError::Gone`].
    pub async fn invitation(&self, token: &str) -> Result<InvitationInfo> {
        let stored = self
            .stored_invitation(token)
            .await?
            .usable(db_time(now_ms()))?;
        Ok(InvitationInfo {
            username: stored.username,
            role: stored.role,
            rekey: stored.account_id.is_some(),
            challenge: hex::encode(&stored.challenge),
            expires_at: u64::try_from(stored.expires_at).unwrap_or(0),
        })
    }

    /// Accepts an invitation: a new account with the invitee's password (and, for a
    /// validator, their proven key), or a withdrawn validator's new key. Nothing changes
    /// unless all of it holds; the invitation then stops working.
    pub async fn accept_invitation(&self, token: &str, acceptance: Acceptance) -> Result<Account> {
        let stored = self
            .stored_invitation(token)
            .await?
            .usable(db_time(now_ms()))?;
        let key = match (stored.role, acceptance.key) {
            (Role::Validator, Some(key)) => Some(proven(&key, &stored.challenge)?),
            (Role::Validator, None) => {
                return Err(EngineError::Invalid(
                    "a validator's invitation needs a public key and its proof of possession"
                        .into(),
                ))
            }
            (Role::Admin, Some(_)) => {
                return Err(EngineError::Invalid(
                    "an admin account holds no key; send only a password".into(),
                ))
            }
            (Role::Admin, None) => None,
        };
        let password_hash = match (stored.account_id, acceptance.password) {
            (None, Some(password)) => {
                check_password(&password)?;
                Some(hash_password(&password).await?)
            }
            (None, None) => {
                return Err(EngineError::Invalid(
                    "choose a password of at least 12 characters".into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(EngineError::Invalid(
                    "re-enrolling keeps your password; send only the new key".into(),
                ))
            }
            (Some(_), None) => None,
        };
        let mut tx = self.inner.write.begin().await?;
        let now = db_time(now_ms());
        // The last word on "used" and "expired", against a concurrent acceptance.
        let claimed = sqlx::query(
            "UPDATE invitations SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(now)
        .bind(stored.id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Err(EngineError::Gone(
                "this invitation has been used already".into(),
            ));
        }
        if let Some(key) = key {
            // A withdrawn key was lost or exposed: it never comes back, for anyone.
            let withdrawn: i64 =
                sqlx::query_scalar("SELECT count(*) FROM invitations WHERE withdrawn_key = $1")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
            if withdrawn > 0 {
                return Err(EngineError::Invalid(
                    "this key was withdrawn by the election office; make a new one".into(),
                ));
            }
            let holders: i64 =
                sqlx::query_scalar("SELECT count(*) FROM accounts WHERE public_key = $1")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
            if holders > 0 {
                return Err(EngineError::Duplicate(
                    "this key is another account's".into(),
                ));
            }
        }
        let account = match (stored.account_id, password_hash) {
            (Some(id), _) => {
                sqlx::query(
                    "UPDATE accounts SET public_key = $1 WHERE id = $2 AND role = $3 AND public_key IS NULL",
                )
                .bind(key)
                .bind(id)
                .bind(Role::Validator)
                .execute(&mut *tx)
                .await
                .map_err(|e| EngineError::on_unique(e, "this key is another account's"))?;
                let account: Account = sqlx::query_as(
                    "SELECT id, username, role, public_key FROM accounts WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                if account.public_key != key {
                    return Err(EngineError::WrongState(
                        "this validator already has a key again".into(),
                    ));
                }
                tracing::info!(username = %account.username, "validator re-enrolled with a new key");
                account
            }
            (None, Some(hash)) => {
                insert_account(&mut tx, &stored.username, &hash, stored.role, key).await?
            }
            (None, None) => {
                return Err(EngineError::Internal(
                    "a new account without a password".into(),
                ))
            }
        };
        tx.commit().await?;
        Ok(account)
    }

    /// Withdraws an enrolled validator's key before the election is sealed (a lost or
    /// exposed key file) and issues the re-enrolment link with which they prove a new one.
    /// Refused while an open election's genesis block holds the key.
    pub async fn replace_validator_key(
        &self,
        election: ElectionId,
        username: &str,
        by: AccountId,
    ) -> Result<IssuedInvitation> {
        let detail = self.election(election).await?;
        if detail.state != ElectionState::Setup {
            return Err(EngineError::WrongState(
                "a validator's key can be replaced only before the genesis block is sealed".into(),
            ));
        }
        let mut tx = self.inner.write.begin().await?;
        let account: Option<AccountId> = sqlx::query_scalar(
            "SELECT a.id FROM election_validators ev JOIN accounts a ON a.id = ev.account_id
             WHERE ev.election_id = $1 AND a.username = $2",
        )
        .bind(election)
        .bind(username.trim())
        .fetch_optional(&mut *tx)
        .await?;
        let account = account.ok_or(EngineError::NotFound("validator of this election"))?;
        // A sealed election whose genesis lists the key may still need its decisions: while
        // it is open, or closed with votes or blocks not yet settled.
        let busy: Option<ElectionId> = sqlx::query_scalar(
            "SELECT e.id FROM election_validators ev JOIN elections e ON e.id = ev.election_id
             WHERE ev.account_id = $1 AND e.state <> $2 AND (
                 e.state = $3
                 OR EXISTS (SELECT 1 FROM votes v WHERE v.election_id = e.id AND v.block_hash IS NULL)
                 OR EXISTS (SELECT 1 FROM blocks b WHERE b.election_id = e.id AND b.status = $4))
             LIMIT 1",
        )
        .bind(account)
        .bind(ElectionState::Setup)
        .bind(ElectionState::Open)
        .bind(wire::BlockStatus::Awaiting)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(busy) = busy {
            return Err(EngineError::WrongState(format!(
                "{username} validates election {busy}, whose genesis block holds this key while it still takes decisions"
            )));
        }
        let withdrawn: Option<ledger::PublicKey> =
            sqlx::query_scalar("SELECT public_key FROM accounts WHERE id = $1")
                .bind(account)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query("UPDATE accounts SET public_key = NULL WHERE id = $1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        let issued = issue(&mut tx, username.trim(), Role::Validator, Some(account), by).await?;
        // Recorded for good: the withdrawn key is refused at every later enrolment. (A
        // validator already without a key has nothing more to withdraw: this only re-issues
        // their link.)
        sqlx::query("UPDATE invitations SET withdrawn_key = $1 WHERE token_hash = $2")
            .bind(withdrawn)
            .bind(token_hash(&issued.token))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(username, election = election.0, "validator key withdrawn");
        Ok(issued)
    }
}

/// The proven key, or why the proof fails.
fn proven(key: &KeyProof, challenge: &[u8]) -> Result<ledger::PublicKey> {
    if possession_is_proven(&key.public_key, challenge, &key.proof) {
        Ok(key.public_key)
    } else {
        Err(EngineError::BadSignature(
            "the proof of possession does not verify: it must be this key's signature over this invitation's challenge".into(),
        ))
    }
}
