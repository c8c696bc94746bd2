-- Group administration: the indexes its checks read.

-- The conversation list subtracts a group's events (kind 'event') past the
-- read cursor from its unread count, as it does recall events.
CREATE INDEX messages_conv_event ON messages (conv, seq) WHERE kind = 'event';

-- A group send checks whether the whole group is muted: a probe of this
-- index, which holds only the muted groups, so that it stays tiny.
CREATE INDEX groups_muted ON groups (id) WHERE muted;
