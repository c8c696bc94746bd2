-- Media messages and recall.

-- The dimensions of an uploaded picture, read from its header at upload, in
-- pixels as shown. NULL for audio and video, and for pictures uploaded
-- before this migration.
ALTER TABLE media
    ADD COLUMN width  integer CHECK (width > 0),
    ADD COLUMN height integer CHECK (height > 0);

-- A media message copies its file's description from the media row when it
-- is committed (the statement that checks the name and kind reads it
-- anyway), so that reading messages never joins media. NULL for text.
-- A recall is a message row of kind 'recall' that takes the next seq of the
-- conversation and names the recalled message in recalls; the recalled
-- row keeps its seq, loses its body and media, and gets recalled = true.
ALTER TABLE messages
    ADD COLUMN media_type   text,
    ADD COLUMN media_size   bigint,
    ADD COLUMN media_width  integer,
    ADD COLUMN media_height integer,
    ADD COLUMN recalled     boolean NOT NULL DEFAULT false,
    ADD COLUMN recalls      bigint;
ALTER TABLE messages
    DROP CONSTRAINT messages_kind_check,
    ADD CONSTRAINT messages_kind_check CHECK (kind IN ('text', 'image', 'audio', 'video', 'recall')),
    ADD CONSTRAINT messages_recall_check CHECK ((kind = 'recall') = (recalls IS NOT NULL));
-- A message is recalled at most once.
CREATE UNIQUE INDEX messages_recalls ON messages (recalls) WHERE recalls IS NOT NULL;

-- Media messages stored before: their description, where the name is one
-- of the matching kind.
UPDATE messages m
SET media_type = md.content_type, media_size = md.size
FROM media md
WHERE m.kind IN ('image', 'audio', 'video') AND md.name = m.body
  AND md.kind = CASE m.kind WHEN 'image' THEN 'chatpic' WHEN 'audio' THEN 'mp3' ELSE 'mp4' END;
