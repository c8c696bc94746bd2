-- Recalling a message: a recall event takes the conversation's next seq,
-- and the recalled message loses its body and media, in one transaction.

-- name: MessageGetForRecall :one
-- The message id, locked until the transaction ends, and whether it was
-- stored more than window_secs ago.
SELECT id, conv, sender, coalesce(recipient, '')::text AS recipient, coalesce(group_id, 0)::bigint AS group_id,
       kind, recalled, (created_at <= now() - make_interval(secs => sqlc.arg(window_secs)::float8))::boolean AS expired
FROM messages
WHERE id = sqlc.arg(id)
FOR UPDATE;

-- name: ConversationTakeSeq :one
-- Reserves the next seq of conv, under its row lock until the transaction ends.
UPDATE conversations SET last_seq = last_seq + 1, updated_at = now(), changed_at = now()
WHERE key = sqlc.arg(conv)
RETURNING last_seq;

-- name: MessageInsertRecall :one
-- Stores the event recalling message recalls at seq. Empty recipient and
-- zero group_id stand for NULL.
INSERT INTO messages (conv, seq, sender, recipient, group_id, kind, body, recalls)
VALUES (sqlc.arg(conv), sqlc.arg(seq), sqlc.arg(sender), NULLIF(sqlc.arg(recipient)::text, ''),
        NULLIF(sqlc.arg(group_id)::bigint, 0), 'recall', '', sqlc.arg(recalls))
RETURNING id, created_at;

-- name: MessageMarkRecalled :exec
-- The recalled message keeps its seq and loses its body and media; the
-- file a media message carried is marked recalled (see media.recalled).
-- Every part of the statement reads the rows as they were before it, so
-- old is the body the update empties.
WITH old AS (
    SELECT m.kind, m.body FROM messages m WHERE m.id = sqlc.arg(id)
), marked AS (
    UPDATE messages
    SET body = '', media_type = NULL, media_size = NULL, media_width = NULL, media_height = NULL, recalled = true
    WHERE id = sqlc.arg(id)
    RETURNING id
)
UPDATE media md
SET recalled = true
FROM old, marked
WHERE old.kind IN ('image', 'audio', 'video') AND md.name = old.body;
