-- Submitted blocks: awaiting approval, appended to the chain, stale (another block won
-- the same height) or rejected by validators.
CREATE TABLE blocks (
    hash         BLOB PRIMARY KEY CHECK (length(hash) = 32),
    election_id  INTEGER NOT NULL REFERENCES elections (id),
    idx          INTEGER NOT NULL CHECK (idx >= 1),
    prev_hash    BLOB NOT NULL,
    -- The fixed-size header encoding; the hash is recomputed from it on verification.
    header       BLOB NOT NULL CHECK (length(header) = 117),
    miner_tag    TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL CHECK (status IN ('awaiting', 'appended', 'stale', 'rejected')),
    submitted_at INTEGER NOT NULL,
    decided_at   INTEGER
);
-- The chain is linear: one appended block per height, whatever race the code loses.
CREATE UNIQUE INDEX one_appended_block_per_height ON blocks (election_id, idx) WHERE status = 'appended';
CREATE INDEX blocks_by_status ON blocks (election_id, status, idx);

-- Every vote ever accepted: pending while block_hash is NULL, on chain once set.
CREATE TABLE votes (
    tx_id        BLOB PRIMARY KEY CHECK (length(tx_id) = 32),
    election_id  INTEGER NOT NULL REFERENCES elections (id),
    voter_key    BLOB NOT NULL CHECK (length(voter_key) = 32),
    candidate_id INTEGER NOT NULL,
    timestamp    INTEGER NOT NULL,
    signature    BLOB NOT NULL CHECK (length(signature) = 64),
    received_at  INTEGER NOT NULL,
    block_hash   BLOB REFERENCES blocks (hash),
    -- One vote per voter per election. The database, not a read-then-write check, has
    -- the last word, so concurrent submissions with one code cannot both get in.
    UNIQUE (election_id, voter_key)
);
CREATE INDEX votes_pending ON votes (election_id, block_hash, received_at);

-- Which votes a block carries, in Merkle-leaf order.
CREATE TABLE block_votes (
    block_hash BLOB NOT NULL REFERENCES blocks (hash),
    position   INTEGER NOT NULL,
    tx_id      BLOB NOT NULL REFERENCES votes (tx_id),
    PRIMARY KEY (block_hash, position)
);
CREATE INDEX block_votes_by_tx ON block_votes (tx_id);

-- Validators' decisions. One per validator per block: approving twice cannot count twice.
CREATE TABLE decisions (
    block_hash BLOB NOT NULL REFERENCES blocks (hash),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    approve    INTEGER NOT NULL CHECK (approve IN (0, 1)),
    -- The validator's Ed25519 signature over the block hash, for approvals.
    signature  BLOB CHECK (signature IS NULL OR length(signature) = 64),
    reason     TEXT,
    decided_at INTEGER NOT NULL,
    PRIMARY KEY (block_hash, account_id),
    CHECK ((approve = 1) = (signature IS NOT NULL))
);
