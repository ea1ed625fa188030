//! Admin and validator accounts: argon2 passwords chosen by their holders, and each
//! validator's public key (the secret half never reaches the server).

use crate::{db_time, now_ms, EngineError, Node, Result};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use ledger::PublicKey;
use wire::{Account, AccountId, Role};

/// Usernames are shown to others (approvals list validators by name): keep them plain.
pub(crate) fn check_username(username: &str) -> Result<()> {
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

pub(crate) fn check_password(password: &str) -> Result<()> {
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

/// Each argon2 run takes 19 MiB and a core for a moment: about one runs per core at a
/// time, however many sign-ins arrive together; the others wait their turn, so memory stays
/// bounded.
async fn hashing_turn() -> Result<tokio::sync::SemaphorePermit<'static>> {
    static TURNS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    TURNS
        .get_or_init(|| {
            tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
        })
        .acquire()
        .await
        .map_err(|_| EngineError::Internal("password hashing stopped".into()))
}

/// The argon2 hash of a password, computed off the async threads.
pub(crate) async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    let _turn = hashing_turn().await?;
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

/// Stores a new account with an already hashed password; the database's UNIQUE
/// constraints have the last word on a taken username or key.
pub(crate) async fn insert_account(
    conn: &mut sqlx::AnyConnection,
    username: &str,
    password_hash: &str,
    role: Role,
    public_key: Option<PublicKey>,
) -> Result<Account> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (username, password_hash, role, public_key, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(role)
    .bind(public_key)
    .bind(db_time(now_ms()))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        let message = match public_key {
            None => format!("the username {username:?} is taken"),
            Some(_) => format!("the username {username:?} or this key is another account's"),
        };
        EngineError::on_unique(e, message)
    })?;
    tracing::info!(username, %role, "account created");
    Ok(Account {
        id: AccountId(id),
        username: username.to_owned(),
        role,
        public_key,
    })
}

impl Node {
    /// Creates an admin account (first-run set-up and `ballotchain admin create`). Every
    /// other account comes from an invitation, with a password its holder chose.
    pub async fn create_admin(&self, username: &str, password: &str) -> Result<Account> {
        let username = username.trim();
        check_username(username)?;
        check_password(password)?;
        let hash = hash_password(password).await?;
        let mut conn = self.inner.write.acquire().await?;
        insert_account(&mut conn, username, &hash, Role::Admin, None).await
    }

    /// Checks a username and password; the same error whichever is wrong.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Account> {
        let row: Option<StoredAccount> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE username = $1"
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
        let _turn = hashing_turn().await?;
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
    /// given (a session left open on a shared computer does not suffice). Every session
    /// of the account ends with it: the account's session generation moves on, and the
    /// new one is returned for the session that made the change to keep.
    pub async fn change_password(&self, id: AccountId, current: &str, new: &str) -> Result<i64> {
        check_password(new)?;
        let account = self.account(id).await?;
        self.authenticate(&account.username, current).await?;
        let hash = hash_password(new).await?;
        let generation: i64 = sqlx::query_scalar(
            "UPDATE accounts SET password_hash = $1, session_generation = session_generation + 1
             WHERE id = $2 RETURNING session_generation",
        )
        .bind(hash)
        .bind(id)
        .fetch_one(&self.inner.write)
        .await?;
        tracing::info!(username = %account.username, "password changed; other sessions ended");
        Ok(generation)
    }

    /// The account's session generation: a session signed in under an older one has ended
    /// (its password changed since).
    pub async fn session_generation(&self, id: AccountId) -> Result<i64> {
        sqlx::query_scalar("SELECT session_generation FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.inner.read)
            .await?
            .ok_or(EngineError::NotFound("account"))
    }

    /// The account a session of generation `generation` is signed in as, if the account
    /// still exists and its password has not changed since (one query, on every request).
    pub async fn account_of_session(
        &self,
        id: AccountId,
        generation: i64,
    ) -> Result<Option<Account>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1 AND session_generation = $2"
        ))
        .bind(id)
        .bind(generation)
        .fetch_optional(&self.inner.read)
        .await?)
    }

    /// The account with this id.
    pub async fn account(&self, id: AccountId) -> Result<Account> {
        sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.inner.read)
        .await?
        .ok_or(EngineError::NotFound("account"))
    }

    /// Whether any admin account exists (first-run set-up is needed when not).
    pub async fn has_admin(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts WHERE role = $1")
            .bind(Role::Admin)
            .fetch_one(&self.inner.read)
            .await?;
        Ok(n > 0)
    }
}
