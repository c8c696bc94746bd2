-- Both statements that insert messages (the committer's batch and a recall)
-- take the seq from the conversation's row under its lock, in the same
-- statement or transaction, and conversations are never deleted: a message
-- cannot name a conversation that does not exist. The foreign key checked
-- that once more for every message, with a row lock and a query of its own
-- (7% of the committer statement's time under load), and 0003 already
-- dropped the checks of sender, recipient and group_id for the same reason.
-- read_cursors and delivery_cursors keep theirs: they are written apart
-- from the conversation.
ALTER TABLE messages DROP CONSTRAINT messages_conv_fkey;
