-- A message row is written only by the committer, in the statement that
-- checks its sender's friendship with the recipient or membership of the
-- group (rows that reference users and groups), and accounts and groups
-- are never deleted. The per-row foreign key checks on sender, recipient
-- and group_id locked the users and groups rows of every message (a tuple
-- lock, logged, per key per message) and were most of the commit's cost.
-- The conversation key stays checked: its row is locked by the same
-- statement anyway.
ALTER TABLE messages
    DROP CONSTRAINT messages_sender_fkey,
    DROP CONSTRAINT messages_recipient_fkey,
    DROP CONSTRAINT messages_group_id_fkey;
