-- Validators hold their own keys; people choose their own passwords.
--
-- The server no longer keeps any validator's secret key: `accounts.secret_key` goes, and
-- a validator's public key is stored only after a proof of possession. Decisions record
-- the deciding key and, for rejections too, the validator's own signature. Accounts are
-- made from one-time invitations.
--
-- SQLite cannot drop a column that a CHECK uses, so `accounts` is rebuilt. This runs in
-- sqlx's migration transaction with foreign keys on, where `PRAGMA foreign_keys = OFF`
-- does nothing and dropping a referenced table fails. So the tables that reference
-- `accounts` are rebuilt too, pointing at the new table, and the old ones are dropped
-- children first; renaming the new `accounts` then updates the references.

CREATE TABLE accounts_new (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    -- argon2 PHC string; the password itself is never stored.
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'validator')),
    -- A validator's Ed25519 public key, stored after a proof of possession. NULL for
    -- admins, and for a validator whose key an officer withdrew until they re-enrol.
    -- Two accounts never share a key.
    public_key    BLOB UNIQUE CHECK (public_key IS NULL OR length(public_key) = 32),
    created_at    INTEGER NOT NULL,
    CHECK (role = 'validator' OR public_key IS NULL)
);
INSERT INTO accounts_new (id, username, password_hash, role, public_key, created_at)
    SELECT id, username, password_hash, role, public_key, created_at FROM accounts;

CREATE TABLE election_validators_new (
    election_id INTEGER NOT NULL REFERENCES elections (id),
    account_id  INTEGER NOT NULL REFERENCES accounts_new (id),
    PRIMARY KEY (election_id, account_id)
);
INSERT INTO election_validators_new SELECT election_id, account_id FROM election_validators;

-- Validators' decisions. One per validator per block: approving twice cannot count twice.
CREATE TABLE decisions_new (
    block_hash    BLOB NOT NULL REFERENCES blocks (hash),
    account_id    INTEGER NOT NULL REFERENCES accounts_new (id),
    -- The key that signed, as the genesis block lists it.
    validator_key BLOB NOT NULL CHECK (length(validator_key) = 32),
    approve       INTEGER NOT NULL CHECK (approve IN (0, 1)),
    -- The validator's Ed25519 signature: over the block hash for an approval, over the
    -- block hash and the reason for a rejection. (Rejections recorded before decisions
    -- were signed by their validators have none.)
    signature     BLOB CHECK (signature IS NULL OR length(signature) = 64),
    reason        TEXT,
    decided_at    INTEGER NOT NULL,
    PRIMARY KEY (block_hash, account_id),
    CHECK (approve = 0 OR signature IS NOT NULL),
    CHECK ((approve = 0) = (reason IS NOT NULL))
);
INSERT INTO decisions_new
    SELECT d.block_hash, d.account_id, a.public_key, d.approve, d.signature,
           CASE WHEN d.approve = 0 THEN coalesce(d.reason, '') END, d.decided_at
    FROM decisions d JOIN accounts a ON a.id = d.account_id;

DROP TABLE decisions;
DROP TABLE election_validators;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
ALTER TABLE election_validators_new RENAME TO election_validators;
ALTER TABLE decisions_new RENAME TO decisions;

-- One-time invitations: an admin names the account and its role; the invitee chooses
-- the password and, as a validator, proves they hold their key. A re-enrolment
-- (account_id set) gives an existing validator a new key after an officer withdrew
-- the old one.
CREATE TABLE invitations (
    id         INTEGER PRIMARY KEY,
    -- SHA-256 of the link's secret token; the token itself is shown once, never stored.
    token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    username   TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('admin', 'validator')),
    account_id INTEGER REFERENCES accounts (id),
    -- What the invitee's key signs to prove possession; fresh for every invitation.
    challenge  BLOB NOT NULL CHECK (length(challenge) = 32),
    -- For a re-enrolment, the key that was withdrawn: it may not come back.
    withdrawn_key BLOB CHECK (withdrawn_key IS NULL OR length(withdrawn_key) = 32),
    created_by INTEGER REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    CHECK (account_id IS NULL OR role = 'validator')
);
CREATE INDEX invitations_by_username ON invitations (username);
