//! Admin and validator accounts: argon2 passwords, and a key pair for each validator.

use crate::{now_ms, EngineError, Node, Result};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use ed25519_dalek::SigningKey;
use ledger::PublicKey;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs elections.
    Admin,
    /// Checks and approves blocks.
    Validator,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Validator => "validator",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "validator" => Ok(Role::Validator),
            other => Err(EngineError::Internal(format!(
                "unknown role {other:?} in database"
            ))),
        }
    }
}

/// A signed-in person's account.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Admin or validator.
    pub role: Role,
    /// The validator's public key (validators only).
    pub public_key: Option<PublicKey>,
}

/// Usernames are shown to others (approvals list validators by name): keep them plain.
fn check_username(username: &str) -> Result<()> {
    let ok = (3..=40).contains(&username.chars().count())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(EngineError::Invalid(
            "a username has 3 to 40 characters: letters, digits, '.', '_' or '-'".into(),
        ))
    }
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 10 || password.len() > 1024 {
        return Err(EngineError::Invalid(
            "a password needs at least 10 characters".into(),
        ));
    }
    Ok(())
}

/// A hash of a random password, checked against when the username is unknown.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password(b"no such account", &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn row_to_account(row: &sqlx::sqlite::SqliteRow) -> Result<Account> {
    let key: Option<Vec<u8>> = row.try_get("public_key")?;
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: Role::parse(&row.try_get::<String, _>("role")?)?,
        public_key: key.as_deref().and_then(PublicKey::from_slice),
    })
}

impl Node {
    /// Creates an account. Validators get a fresh Ed25519 key pair.
    pub async fn create_account(
        &self,
        username: &str,
        password: &str,
        role: Role,
    ) -> Result<Account> {
        let username = username.trim();
        check_username(username)?;
        check_password(password)?;
        let password = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?
        .map_err(|e| EngineError::Internal(format!("password hashing failed: {e}")))?;
        let (public, secret) = match role {
            Role::Validator => {
                let mut seed = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut seed);
                let key = SigningKey::from_bytes(&seed);
                (
                    Some(key.verifying_key().to_bytes().to_vec()),
                    Some(seed.to_vec()),
                )
            }
            Role::Admin => (None, None),
        };
        let id = sqlx::query(
            "INSERT INTO accounts (username, password_hash, role, public_key, secret_key, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(username)
        .bind(hash)
        .bind(role.as_str())
        .bind(&public)
        .bind(secret)
        .bind(now_ms() as i64)
        .execute(&self.inner.write)
        .await
        .map_err(|e| EngineError::on_unique(e, format!("the username {username:?} is taken")))?
        .last_insert_rowid();
        tracing::info!(username, role = role.as_str(), "account created");
        Ok(Account {
            id,
            username: username.to_owned(),
            role,
            public_key: public.as_deref().and_then(PublicKey::from_slice),
        })
    }

    /// Checks a username and password; the same error whichever is wrong.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Account> {
        let row = sqlx::query(
            "SELECT id, username, role, public_key, password_hash FROM accounts WHERE username = ?",
        )
        .bind(username.trim())
        .fetch_optional(&self.inner.read)
        .await?;
        // Hash even for an unknown user so timing does not reveal which usernames exist.
        let (stored, account) = match &row {
            Some(r) => (
                r.try_get::<String, _>("password_hash")?,
                Some(row_to_account(r)?),
            ),
            None => (String::new(), None),
        };
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || {
            let stored = if stored.is_empty() {
                dummy_hash()
            } else {
                stored.as_str()
            };
            PasswordHash::new(stored)
                .map(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(|e| EngineError::Internal(e.to_string()))?;
        match account {
            Some(a) if ok => Ok(a),
            _ => Err(EngineError::BadCredentials),
        }
    }

    /// The account with this id.
    pub async fn account(&self, id: i64) -> Result<Account> {
        let row = sqlx::query("SELECT id, username, role, public_key FROM accounts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.inner.read)
            .await?
            .ok_or(EngineError::NotFound("account"))?;
        row_to_account(&row)
    }

    /// Whether any admin account exists (first-run set-up is needed when not).
    pub async fn has_admin(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE role = 'admin'")
            .fetch_one(&self.inner.read)
            .await?;
        Ok(n > 0)
    }

    pub(crate) async fn validator_key(&self, account_id: i64) -> Result<SigningKey> {
        let secret: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT secret_key FROM accounts WHERE id = ? AND role = 'validator'",
        )
        .bind(account_id)
        .fetch_optional(&self.inner.read)
        .await?
        .flatten();
        let secret = secret
            .ok_or_else(|| EngineError::Forbidden("only validators can decide on blocks".into()))?;
        let seed: [u8; 32] = secret
            .try_into()
            .map_err(|_| EngineError::Internal("stored validator key has the wrong size".into()))?;
        Ok(SigningKey::from_bytes(&seed))
    }
}
