-- The count of a secret-ballot election.
--
-- The officer finalises it once voting has closed: the final head is recorded, and the
-- chain takes no more blocks (votes still pending then, after an early finalisation, are
-- not counted). The trustees post their signed decryption shares of the encrypted sums up
-- to that head, each checked as it comes in; with the threshold of them the counts are
-- decrypted and published. No table holds a choice: only sums, shares and counts.
CREATE TABLE finals (
    election_id  INTEGER PRIMARY KEY REFERENCES elections (id),
    height       INTEGER NOT NULL CHECK (height >= 0),
    head         BLOB NOT NULL CHECK (length(head) = 32),
    uncounted    INTEGER NOT NULL CHECK (uncounted >= 0),
    finalised_at INTEGER NOT NULL
);

CREATE TABLE decryption_shares (
    election_id INTEGER NOT NULL REFERENCES finals (election_id),
    trustee     INTEGER NOT NULL CHECK (trustee >= 0),
    -- ledger::secret::DecryptionShare::encode: per candidate the share and its proof.
    share       BLOB NOT NULL,
    -- The trustee's identity key's signature over the election, the final head, the sums
    -- and the share.
    signature   BLOB NOT NULL CHECK (length(signature) = 64),
    posted_at   INTEGER NOT NULL,
    PRIMARY KEY (election_id, trustee)
);

CREATE TABLE results (
    election_id  INTEGER PRIMARY KEY REFERENCES finals (election_id),
    -- Votes per candidate in ballot order, a JSON array of numbers.
    counts       TEXT NOT NULL,
    published_at INTEGER NOT NULL
);
