-- Secret ballots: a vote carries its choice encrypted under the election key, with its
-- proofs, and no table holds a plaintext choice.
--
-- `votes` gains the encrypted ballot, the hash of its ciphertexts (unique per election:
-- a copy of someone else's ballot is refused by the database, in the pool as on the
-- chain) and when its proofs were checked (once, as it came in). `candidate_id` stays
-- only for the cleartext votes of chains made before, which this software refuses by
-- their version: a new vote never has one.
--
-- SQLite cannot change a column's NOT NULL, so `votes` is rebuilt, and `block_votes`,
-- which references it, with it (as 0004 does: new tables, copies, old ones dropped
-- children first, renames).

CREATE TABLE votes_new (
    tx_id        BLOB PRIMARY KEY CHECK (length(tx_id) = 32),
    election_id  INTEGER NOT NULL REFERENCES elections (id),
    voter_key    BLOB NOT NULL CHECK (length(voter_key) = 32),
    -- The encrypted ballot with its proofs (ledger::secret::Ballot::encode).
    ballot       BLOB CHECK (ballot IS NULL OR length(ballot) BETWEEN 1 AND 16384),
    -- SHA-256 of the ballot's ciphertexts.
    ciphertexts  BLOB CHECK (ciphertexts IS NULL OR length(ciphertexts) = 32),
    -- When the node checked the ballot's proofs (they passed: a failing ballot is never
    -- stored). The start-up check trusts this only while the row still hashes to its
    -- receipt; `ballotchain verify` and `validate` check every proof again.
    proofs_checked_at INTEGER,
    -- Cleartext votes of chains of the earlier format only.
    candidate_id INTEGER,
    timestamp    INTEGER NOT NULL,
    signature    BLOB NOT NULL CHECK (length(signature) = 64),
    received_at  INTEGER NOT NULL,
    block_hash   BLOB REFERENCES blocks (hash),
    UNIQUE (election_id, voter_key),
    UNIQUE (election_id, ciphertexts),
    CHECK ((ballot IS NULL) = (ciphertexts IS NULL)
       AND (ballot IS NULL) = (proofs_checked_at IS NULL)
       AND (ballot IS NULL) = (candidate_id IS NOT NULL))
);
INSERT INTO votes_new (tx_id, election_id, voter_key, candidate_id, timestamp, signature, received_at, block_hash)
    SELECT tx_id, election_id, voter_key, candidate_id, timestamp, signature, received_at, block_hash FROM votes;

CREATE TABLE block_votes_new (
    block_hash BLOB NOT NULL REFERENCES blocks (hash),
    position   INTEGER NOT NULL,
    tx_id      BLOB NOT NULL REFERENCES votes_new (tx_id),
    PRIMARY KEY (block_hash, position)
);
INSERT INTO block_votes_new SELECT block_hash, position, tx_id FROM block_votes;

DROP TABLE block_votes;
DROP TABLE votes;
ALTER TABLE votes_new RENAME TO votes;
ALTER TABLE block_votes_new RENAME TO block_votes;
CREATE INDEX votes_pending ON votes (election_id, block_hash, received_at);
CREATE INDEX block_votes_by_tx ON block_votes (tx_id);
