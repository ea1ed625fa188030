-- The client address each block came from, so that one sender cannot fill the blocks
-- awaiting validators (NULL for blocks submitted before this was recorded).
ALTER TABLE blocks ADD COLUMN submitted_by TEXT;
