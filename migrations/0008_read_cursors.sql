-- How far each account has read each conversation: a read cursor, apart
-- from the delivery cursor. It only moves forward and never past the
-- conversation's last_seq (the statement that moves it checks both).
CREATE TABLE read_cursors (
    account    text        NOT NULL REFERENCES users (account) ON DELETE CASCADE,
    conv       text        NOT NULL REFERENCES conversations (key),
    read_seq   bigint      NOT NULL CHECK (read_seq >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, conv)
);
-- A group's readers at or past a seq (/Tim/groupReaders).
CREATE INDEX read_cursors_conv ON read_cursors (conv, read_seq);

-- The conversation list counts the account's own messages among the
-- unread ones; this index reads just those, however many messages of
-- others lie in the range.
CREATE INDEX messages_conv_sender ON messages (conv, sender, seq);
-- Recall events (0009) take seqs but are not messages to read: the list
-- subtracts those past the cursor, read on this index alone.
CREATE INDEX messages_conv_recall ON messages (conv, seq) WHERE kind = 'recall';

-- Until now what was delivered was all a client could have read: start
-- every read cursor there, so that existing history does not show as
-- unread.
INSERT INTO read_cursors (account, conv, read_seq)
SELECT dc.account, dc.conv, least(dc.delivered_seq, c.last_seq)
FROM delivery_cursors dc JOIN conversations c ON c.key = dc.conv
WHERE dc.delivered_seq > 0;
