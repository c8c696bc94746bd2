-- Every commit batch updates the row of each conversation it writes to, and
-- every read frame moves a read cursor. An update that changes no indexed
-- column is HOT: it adds no index entries, and its dead row version is
-- pruned in place. Neither was: a direct run of 100,000 messages made 19,852
-- conversation updates and 6,745 read-cursor updates, none of them HOT, each
-- adding an entry to every index of its table (five on conversations).
--
-- conversations.updated_at stays the exact time of the last message, for
-- the conversation list, which sorts in memory, and loses its index. The
-- instances' healing reads the new changed_at instead: it is moved to now()
-- only when it is older than a granularity the committer passes (half the
-- healing interval), so most updates leave it, and every indexed column,
-- as it was.
ALTER TABLE conversations ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now();
UPDATE conversations SET changed_at = updated_at;
DROP INDEX conversations_updated_at;
CREATE INDEX conversations_changed_at ON conversations (changed_at);

-- Room on each page for the next versions of its rows, so that a HOT update
-- rarely has to move to another page.
ALTER TABLE conversations SET (fillfactor = 80);
ALTER TABLE delivery_cursors SET (fillfactor = 80);

-- The group readers are read by conversation (at most a group's members),
-- read_seq filtered on the rows; read_seq itself leaves the index. (A
-- database that has not had 0008 yet gets it later, as it was written.)
DO $$
BEGIN
    IF to_regclass('read_cursors') IS NOT NULL THEN
        DROP INDEX read_cursors_conv;
        CREATE INDEX read_cursors_conv ON read_cursors (conv);
        ALTER TABLE read_cursors SET (fillfactor = 80);
    END IF;
END
$$;
