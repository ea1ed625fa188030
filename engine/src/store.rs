//! Opening the database: a SQLite file (the embedded default: WAL, foreign keys,
//! synchronous commits) or a PostgreSQL server by URL, both through sqlx's `Any` driver so
//! that every query of the engine is one text for both. Migrations are per backend.

use crate::Result;
use ledger::ElectionId;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
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
    /// On PostgreSQL, the URL a listener connects to for other instances' events.
    pub events: Option<String>,
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
    Ok(Pools {
        read,
        write,
        events: None,
    })
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
        events: Some(url.to_string()),
    })
}

// What follows is the SQL that differs between the backends. Several instances of the
// server can share one PostgreSQL database; a SQLite file has one, whose single writer
// connection already orders every write.

fn is_postgres(db: &AnyConnection) -> bool {
    db.backend_name() == "PostgreSQL"
}

/// Every table of the schema this node's migrations made, by name (the migrations'
/// own bookkeeping left out): what a test compares before and after a refused request, so
/// that a table added later is compared too.
pub async fn tables(pool: &sqlx::AnyPool) -> Result<Vec<String>> {
    let mut conn = pool.acquire().await?;
    let query = if is_postgres(&conn) {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
           AND substr(table_name, 1, 5) <> '_sqlx' ORDER BY table_name"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND substr(name, 1, 7) <> 'sqlite_' AND substr(name, 1, 5) <> '_sqlx'
         ORDER BY name"
    };
    Ok(sqlx::query_scalar(query).fetch_all(&mut *conn).await?)
}

/// The channel instances tell each other of appended blocks and new votes on.
pub(crate) const EVENTS: &str = "ballotchain";

/// The advisory lock of the periodic integrity check (an election's chain lock is its id,
/// always positive).
const CHECK_LOCK: i64 = -1;

/// Holds `election`'s chain for the rest of the transaction `db`: on PostgreSQL an
/// advisory lock, so that every instance's appends, decisions and block intake on one
/// election take turns; on SQLite nothing more than the one writer.
pub(crate) async fn lock_chain(db: &mut AnyConnection, election: ElectionId) -> Result<()> {
    if is_postgres(db) {
        sqlx::query("SELECT count(*) FROM (SELECT pg_advisory_xact_lock($1)) AS held")
            .bind(election)
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}

/// Tells the other instances `event` when the transaction `db` commits (PostgreSQL's
/// NOTIFY; a SQLite file has no other instance).
pub(crate) async fn notify(db: &mut AnyConnection, event: &str) -> sqlx::Result<()> {
    if is_postgres(db) {
        sqlx::query("SELECT count(*) FROM (SELECT pg_notify($1, $2)) AS sent")
            .bind(EVENTS)
            .bind(event)
            .execute(&mut *db)
            .await?;
    }
    Ok(())
}

/// A read-only transaction that sees one snapshot of the whole database from its first
/// read to its end, whatever other instances commit meanwhile (PostgreSQL's REPEATABLE
/// READ; what a SQLite read transaction is in WAL mode).
pub(crate) async fn begin_snapshot(pool: &AnyPool) -> Result<sqlx::Transaction<'static, Any>> {
    let mut tx = pool.begin().await?;
    if is_postgres(&tx) {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// The periodic integrity check's turn, held while the connection is: on PostgreSQL
/// `None` while another instance is checking. Release it with [`end_check`].
pub(crate) async fn begin_check(pool: &AnyPool) -> Result<Option<PoolConnection<Any>>> {
    let mut conn = pool.acquire().await?;
    if is_postgres(&conn) {
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(CHECK_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        if !ours {
            return Ok(None);
        }
    }
    Ok(Some(conn))
}

/// Ends the check's turn. A connection that cannot release the lock is closed, which
/// releases it.
pub(crate) async fn end_check(mut conn: PoolConnection<Any>) {
    if is_postgres(&conn) {
        let released = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
            .bind(CHECK_LOCK)
            .fetch_one(&mut *conn)
            .await;
        if !matches!(released, Ok(true)) {
            let _ = conn.detach().close().await;
        }
    }
}
