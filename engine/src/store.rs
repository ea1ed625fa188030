//! Opening the SQLite database: WAL, foreign keys, synchronous commits, migrations.

use crate::Result;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

/// Opens a read pool and a one-connection write pool on the file at `path`.
pub async fn connect(path: &Path) -> Result<(SqlitePool, SqlitePool)> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before the vote is acknowledged.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    // The database holds accounts and sessions: readable by its owner only (SQLite gives
    // its journal files the same mode).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            crate::EngineError::Internal(format!("cannot restrict the database file: {e}"))
        })?;
    }
    sqlx::migrate!("../migrations")
        .run(&write)
        .await
        .map_err(|e| crate::EngineError::Internal(format!("migrations failed: {e}")))?;
    let read = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    Ok((read, write))
}
