//! Opening the database: a SQLite file (the embedded default: WAL, foreign keys,
//! synchronous commits) or a PostgreSQL server by URL, both through sqlx's `Any` driver so
//! that every query of the engine is one text for both. Migrations are per backend.

use crate::Result;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the database is: a SQLite file, or a PostgreSQL URL (`postgres://…` or
/// `postgresql://…`). Anything else names a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Postgres(String),
}

impl Location {
    /// Reads a `--db` argument: a PostgreSQL URL, or else the path of a SQLite file.
    pub fn parse(arg: &str) -> Self {
        if arg.starts_with("postgres://") || arg.starts_with("postgresql://") {
            Self::Postgres(arg.to_string())
        } else {
            Self::File(PathBuf::from(arg))
        }
    }

    /// How the location reads in messages: the file's path, or the URL without its
    /// password.
    pub fn display(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Postgres(url) => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "a PostgreSQL URL that does not parse".into(),
            },
        }
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Self {
        path.to_str()
            .map_or_else(|| Self::File(path.to_path_buf()), Self::parse)
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Self {
        Self::from(path.as_path())
    }
}

impl From<&Location> for Location {
    fn from(location: &Location) -> Self {
        location.clone()
    }
}

/// The pools of an open database: readers, and the writer the vote group commits use.
pub(crate) struct Pools {
    pub read: AnyPool,
    pub write: AnyPool,
}

/// Opens the database at `location` and applies its backend's migrations.
///
/// SQLite: a one-connection write pool (SQLite has one writer; queueing here avoids
/// SQLITE_BUSY on lock upgrades) and a read pool, concurrent with it thanks to WAL.
/// PostgreSQL: one pool for both, as the server orders concurrent writers itself.
pub(crate) async fn connect(location: &Location) -> Result<Pools> {
    sqlx::any::install_default_drivers();
    let pools = match location {
        Location::File(path) => connect_sqlite(path).await,
        Location::Postgres(url) => connect_postgres(url).await,
    };
    pools.map_err(|e| match e {
        crate::EngineError::Database(e) => crate::EngineError::Internal(format!(
            "cannot open the database {}: {e}",
            location.display()
        )),
        other => other,
    })
}

async fn connect_sqlite(path: &Path) -> Result<Pools> {
    let url = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .to_url_lossy();
    let options = AnyConnectOptions::from_url(&url)?;
    let pool = |connections: u32| {
        AnyPoolOptions::new()
            .max_connections(connections)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // FULL: a commit is on disk before the vote is acknowledged.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            })
    };
    let write = pool(1).connect_with(options.clone()).await?;
    // The database holds accounts and sessions: readable by its owner only (SQLite gives
    // its journal files the same mode).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            crate::EngineError::Internal(format!("cannot restrict the database file: {e}"))
        })?;
    }
    sqlx::migrate!("../migrations/sqlite")
        .run(&write)
        .await
        .map_err(|e| crate::EngineError::Internal(format!("migrations failed: {e}")))?;
    let read = pool(8).connect_with(options).await?;
    Ok(Pools { read, write })
}

async fn connect_postgres(url: &str) -> Result<Pools> {
    let options: AnyConnectOptions = url
        .parse()
        .map_err(|e| crate::EngineError::Internal(format!("the database URL: {e}")))?;
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    sqlx::migrate!("../migrations/postgres")
        .run(&pool)
        .await
        .map_err(|e| crate::EngineError::Internal(format!("migrations failed: {e}")))?;
    Ok(Pools {
        read: pool.clone(),
        write: pool,
    })
}
