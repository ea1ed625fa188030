-- Admin and validator accounts. Voters have no account: they hold a voting code.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    -- argon2 PHC string; the password itself is never stored.
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'validator')),
    -- A validator's Ed25519 key pair: approvals are signatures by this key. For now the
    -- server holds the secret on the validator's behalf.
    public_key    BLOB CHECK (public_key IS NULL OR length(public_key) = 32),
    secret_key    BLOB CHECK (secret_key IS NULL OR length(secret_key) = 32),
    created_at    INTEGER NOT NULL,
    CHECK ((role = 'validator') = (public_key IS NOT NULL AND secret_key IS NOT NULL))
);
