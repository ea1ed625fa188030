//! Admin and validator accounts: argon2 passwords, and a key pair for each validator.

use crate::{db_time, now_ms, EngineError, Node, Result};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use ed25519_dalek::SigningKey;
use ledger::PublicKey;
use rand::RngCore;
use wire::{Account, AccountId, Role};

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

/// Fewest characters in a password: the same rule for the first-run link, `admin
/// create` and every account.
pub const MIN_PASSWORD: usize = 12;

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD || password.len() > 1024 {
        return Err(EngineError::Invalid(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        )));
    }
    Ok(())
}

/// An account with its password hash, as sign-in reads it.
#[derive(sqlx::FromRow)]
struct StoredAccount {
    #[sqlx(flatten)]
    account: Account,
    password_hash: String,
}

/// The argon2 hash of a password, computed off the async threads.
async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(EngineError::join)?
    .map_err(|e| EngineError::Internal(format!("password hashing failed: {e}")))
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

/// The columns of an [`Account`].
const ACCOUNT_COLUMNS: &str = "id, username, role, public_key";

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
        let hash = hash_password(password).await?;
        let (public, secret) = match role {
            Role::Validator => {
                let mut seed = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut seed);
                let key = SigningKey::from_bytes(&seed);
                (
                    Some(PublicKey(key.verifying_key().to_bytes())),
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
        .bind(role)
        .bind(public)
        .bind(secret)
        .bind(db_time(now_ms()))
        .execute(&self.inner.write)
        .await
        .map_err(|e| EngineError::on_unique(e, format!("the username {username:?} is taken")))?
        .last_insert_rowid();
        tracing::info!(username, %role, "account created");
        Ok(Account {
            id: AccountId(id),
            username: username.to_owned(),
            role,
            public_key: public,
        })
    }

    /// Checks a username and password; the same error whichever is wrong.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Account> {
        let row: Option<StoredAccount> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE username = ?"
        ))
        .bind(username.trim())
        .fetch_optional(&self.inner.read)
        .await?;
        // Hash even for an unknown user so timing does not reveal which usernames exist.
        let (stored, account) = match row {
            Some(r) => (r.password_hash, Some(r.account)),
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
        .map_err(EngineError::join)?;
        match account {
            Some(a) if ok => Ok(a),
            _ => Err(EngineError::BadCredentials),
        }
    }

    /// Replaces an account's password with one its holder chose; the current one must be
    /// given (a session left open on a shared computer does not suffice).
    pub async fn change_password(&self, id: AccountId, current: &str, new: &str) -> Result<()> {
        check_password(new)?;
        let account = self.account(id).await?;
        self.authenticate(&account.username, current).await?;
        let hash = hash_password(new).await?;
        sqlx::query("UPDATE accounts SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(id)
            .execute(&self.inner.write)
            .await?;
        tracing::info!(username = %account.username, "password changed");
        Ok(())
    }

    /// The account with this id.
    pub async fn account(&self, id: AccountId) -> Result<Account> {
        sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("account"))
    }

    /// Whether any admin account exists (first-run set-up is needed when not).
    pub async fn has_admin(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE role = ?")
            .bind(Role::Admin)
            .fetch_one(&self.inner.read)
            .await?;
        Ok(n > 0)
    }

    pub(crate) async fn validator_key(&self, account_id: AccountId) -> Result<SigningKey> {
        let secret: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT secret_key FROM accounts WHERE id = ? AND role = ?")
                .bind(account_id)
                .bind(Role::Validator)
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
