//! Where sign-in sessions live: in the node's own database, SQLite or PostgreSQL.
//!
//! tower-sessions-sqlx-store has one store per backend, each on that backend's own pool
//! (the engine's pools are sqlx's `Any`, which the stores do not take), so this opens a
//! small pool of its own and hands every call to the store of the backend in use.

use engine::Location;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The session store of the backend the node runs on.
#[derive(Debug, Clone)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// Opens the store in the database at `location` and creates its table if needed.
    pub async fn open(location: &Location) -> Result<Self, sqlx::Error> {
        let store = match location {
            Location::File(path) => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await?;
                Self::Sqlite(SqliteStore::new(pool))
            }
            Location::Postgres(url) => {
                let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
                Self::Postgres(PostgresStore::new(pool))
            }
        };
        match &store {
            Self::Sqlite(s) => s.migrate().await?,
            Self::Postgres(s) => s.migrate().await?,
        }
        Ok(store)
    }
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.create(record).await,
            Self::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.save(record).await,
            Self::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(s) => s.load(id).await,
            Self::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(s) => s.delete(id).await,
            Self::Postgres(s) => s.delete(id).await,
        }
    }
}
