//! The migration that takes validators' secret keys off the server, run over a database
//! made by the migrations before it, with data in every table it rebuilds: the data stays,
//! the secret column goes, and the foreign keys still hold and are still enforced.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::Row;

#[tokio::test]
async fn the_key_migration_keeps_every_row_and_drops_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    // The schema as it was before validators held their own keys.
    let mut before = sqlx::migrate!("../migrations/sqlite");
    let old: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < 4)
        .cloned()
        .collect();
    assert_eq!(old.len(), 3);
    before.migrations = old.into();
    before.run(&pool).await.unwrap();

    let (public, secret, signature) = (vec![7u8; 32], vec![9u8; 32], vec![3u8; 64]);
    sqlx::query(
        "INSERT INTO accounts (id, username, password_hash, role, public_key, secret_key, created_at)
         VALUES (1, 'admin', 'hash-a', 'admin', NULL, NULL, 1), (2, 'validator1', 'hash-v', 'validator', ?, ?, 1)",
    )
    .bind(&public)
    .bind(&secret)
    .execute(&pool)
    .await
    .unwrap();
    for statement in [
        "INSERT INTO elections (id, title, difficulty_bits, quorum, created_at) VALUES (1, 'Old', 8, 2, 1)",
        "INSERT INTO election_validators (election_id, account_id) VALUES (1, 2)",
        "INSERT INTO blocks (hash, election_id, idx, prev_hash, header, status, submitted_at)
         VALUES (zeroblob(32), 1, 1, zeroblob(32), zeroblob(117), 'awaiting', 1)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO decisions (block_hash, account_id, approve, signature, reason, decided_at)
         VALUES (zeroblob(32), 2, 1, ?, NULL, 5)",
    )
    .bind(&signature)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    // Opening the node applies the new migration.
    let (node, report) = engine::Node::open(&path).await.unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    let columns: Vec<String> = sqlx::query("PRAGMA table_info(accounts)")
        .fetch_all(node.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect();
    assert!(!columns.contains(&"secret_key".to_owned()), "{columns:?}");
    let accounts: Vec<(i64, String, String, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT id, username, password_hash, public_key FROM accounts ORDER BY id")
            .fetch_all(node.pool())
            .await
            .unwrap();
    assert_eq!(
        accounts,
        vec![
            (1, "admin".into(), "hash-a".into(), None),
            (
                2,
                "validator1".into(),
                "hash-v".into(),
                Some(public.clone())
            ),
        ]
    );
    // The decision now names the key that signed it.
    let decision: (i64, Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT account_id, validator_key, signature FROM decisions")
            .fetch_one(node.pool())
            .await
            .unwrap();
    assert_eq!(decision, (2, public.clone(), signature));
    let enrolled: i64 = sqlx::query_scalar("SELECT count(*) FROM election_validators")
        .fetch_one(node.pool())
        .await
        .unwrap();
    assert_eq!(enrolled, 1);
    // No cell anywhere holds the secret any more.
    let hits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM accounts WHERE instr(coalesce(public_key, x''), ?) > 0",
    )
    .bind(&secret)
    .fetch_one(node.pool())
    .await
    .unwrap();
    assert_eq!(hits, 0);
    // The references hold, and are still enforced on the rebuilt tables.
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(node.pool())
        .await
        .unwrap();
    assert!(broken.is_empty());
    for orphan in [
        "INSERT INTO election_validators (election_id, account_id) VALUES (1, 99)",
        "INSERT INTO decisions (block_hash, account_id, validator_key, approve, signature, decided_at)
         VALUES (zeroblob(32), 99, zeroblob(32), 1, zeroblob(64), 1)",
        "INSERT INTO invitations (token_hash, username, role, account_id, challenge, created_at, expires_at)
         VALUES (zeroblob(32), 'x', 'validator', 99, zeroblob(32), 1, 2)",
    ] {
        let refused = sqlx::query(orphan).execute(node.write_pool()).await;
        assert!(refused.is_err(), "{orphan} was accepted");
    }
}
