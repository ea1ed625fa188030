-- Ends an account's other sessions when its password changes.
--
-- Every session remembers the account's generation when it signed in; a request whose
-- session holds an older one is treated as signed out. Changing the password moves the
-- generation on (the session that changed it takes the new one), so a session opened
-- elsewhere, perhaps by whoever learnt the old password, stops working at once.
ALTER TABLE accounts ADD COLUMN session_generation BIGINT NOT NULL DEFAULT 0;
