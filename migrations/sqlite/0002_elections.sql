-- Elections and their registries. Once the state leaves 'setup' the genesis block
-- (canonical encoding from the ledger crate) is the authority: later edits to these
-- tables cannot change who may vote, only the chain's genesis does.
CREATE TABLE elections (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT 'setup' CHECK (state IN ('setup', 'open', 'closed')),
    difficulty_bits INTEGER NOT NULL CHECK (difficulty_bits BETWEEN 0 AND 48),
    quorum          INTEGER NOT NULL CHECK (quorum >= 1),
    created_at      INTEGER NOT NULL,
    opened_at       INTEGER,
    closed_at       INTEGER,
    genesis         BLOB,
    genesis_hash    BLOB,
    CHECK ((state = 'setup') = (genesis IS NULL))
);

CREATE TABLE candidates (
    id          INTEGER PRIMARY KEY,
    election_id INTEGER NOT NULL REFERENCES elections (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Two candidates of the same name on one ballot would confuse voters.
    UNIQUE (election_id, name)
);

CREATE TABLE voters (
    id          INTEGER PRIMARY KEY,
    election_id INTEGER NOT NULL REFERENCES elections (id),
    name        TEXT NOT NULL,
    -- The office's own identifier (e.g. a roll number), unique when present.
    external_id TEXT,
    -- Derived from the voting code, which is never stored.
    public_key  BLOB NOT NULL CHECK (length(public_key) = 32),
    UNIQUE (election_id, public_key),
    UNIQUE (election_id, external_id)
);

CREATE TABLE election_validators (
    election_id INTEGER NOT NULL REFERENCES elections (id),
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (election_id, account_id)
);
