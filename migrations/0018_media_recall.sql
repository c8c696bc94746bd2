-- Recalling a media message revokes its file.

-- Whether the file was carried by a message that has been recalled. Such a
-- file is downloaded only by its owner, or while another message that is
-- not recalled still carries it.
ALTER TABLE media ADD COLUMN recalled boolean NOT NULL DEFAULT false;

-- The media messages that are not recalled, by the name they carry: the
-- download of a recalled file looks here for another. Text messages are
-- not indexed, so a text send pays nothing for it.
CREATE INDEX messages_live_media ON messages (body) WHERE kind IN ('image', 'audio', 'video') AND NOT recalled;
