-- Trustees and their key ceremony (secret ballots).
--
-- A trustee is a seat of one election, filled through a one-time invitation: the invitee
-- enrols an Ed25519 identity key (proven over the invitation's challenge) and an X25519
-- share-receiving key (bound by a signature of the identity key). Trustees have no
-- password; every act of theirs is a message signed by their identity key. An officer
-- who replaces a trustee before sealing keeps the old row (replaced_at) and invites anew.
CREATE TABLE trustees (
    id              INTEGER PRIMARY KEY,
    election_id     INTEGER NOT NULL REFERENCES elections (id),
    name            TEXT NOT NULL,
    -- SHA-256 of the invitation link's secret token; the token itself is never stored.
    token_hash      BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    challenge       BLOB NOT NULL CHECK (length(challenge) = 32),
    expires_at      INTEGER NOT NULL,
    identity_key    BLOB CHECK (identity_key IS NULL OR length(identity_key) = 32),
    receiving_key   BLOB CHECK (receiving_key IS NULL OR length(receiving_key) = 32),
    receiving_proof BLOB CHECK (receiving_proof IS NULL OR length(receiving_proof) = 64),
    enrolled_at     INTEGER,
    replaced_at     INTEGER,
    created_at      INTEGER NOT NULL,
    CHECK ((identity_key IS NULL) = (enrolled_at IS NULL)
       AND (identity_key IS NULL) = (receiving_key IS NULL)
       AND (identity_key IS NULL) = (receiving_proof IS NULL))
);
-- One seat per name among the seats that count.
CREATE UNIQUE INDEX trustee_names ON trustees (election_id, name) WHERE replaced_at IS NULL;
-- An identity key serves one seat, ever: a replaced trustee's key never comes back.
CREATE UNIQUE INDEX trustee_identities ON trustees (identity_key);

-- A key ceremony. A restart, or a replaced trustee, ends it; a new one gets a new id,
-- which every message signs.
CREATE TABLE ceremonies (
    id          INTEGER PRIMARY KEY,
    election_id INTEGER NOT NULL REFERENCES elections (id),
    threshold   INTEGER NOT NULL CHECK (threshold >= 1),
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE UNIQUE INDEX one_running_ceremony ON ceremonies (election_id) WHERE ended_at IS NULL;

-- The ceremony's trustees in order: a trustee's position is the sender and recipient
-- index of its messages.
CREATE TABLE ceremony_seats (
    ceremony_id INTEGER NOT NULL REFERENCES ceremonies (id),
    position    INTEGER NOT NULL CHECK (position >= 0),
    trustee_id  INTEGER NOT NULL REFERENCES trustees (id),
    PRIMARY KEY (ceremony_id, position),
    UNIQUE (ceremony_id, trustee_id)
);

-- The bulletin board: every message as its trustee signed it, checked when posted.
CREATE TABLE ceremony_messages (
    id          INTEGER PRIMARY KEY,
    ceremony_id INTEGER NOT NULL REFERENCES ceremonies (id),
    round       INTEGER NOT NULL CHECK (round BETWEEN 1 AND 4),
    sender      INTEGER NOT NULL,
    -- The recipient of a round-3 share; NULL for a message to all.
    recipient   INTEGER,
    payload     BLOB NOT NULL,
    signature   BLOB NOT NULL CHECK (length(signature) = 64),
    posted_at   INTEGER NOT NULL,
    CHECK ((round = 3) = (recipient IS NOT NULL))
);
-- Once per sender, round and recipient.
CREATE UNIQUE INDEX one_message ON ceremony_messages (ceremony_id, round, sender, coalesce(recipient, -1));
