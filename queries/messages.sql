-- Durable messages, conversations and delivery cursors.

-- name: MessageCommitBatch :many
-- Commits a batch of sends in one statement, so one round trip: it checks
-- each send (a direct send needs friendship, a group send membership, and
-- a media send a media row named by its body whose kind is media_kinds[i];
-- empty for a text send, which reads no media row), answers a send whose
-- (sender, conv, client_msg_id) is stored with the stored message, creates
-- missing conversations and reserves seqs in each conversation under its
-- row lock (taken in key order, so concurrent committers cannot deadlock),
-- sets its updated_at, and its changed_at only once that is mark_secs old
-- (the healing reads changed_at; the updates in between change no indexed
-- column), and inserts the new messages with the media row's description. It
-- returns one row per send, by its 1-based position i, whose status is
-- new, repeated, or why it was refused: forbidden, blocked (the recipient
-- of a direct send blocks the sender), blocking (the sender blocks the
-- recipient), no_media, wrong_kind, not_owner (the media row is another
-- account's upload), muted (a group send of a member whose
-- mute runs, muted_until then set, or of a plain member while the whole
-- group is muted; the member's row is the one the membership check reads).
-- Empty strings and zero group ids stand for NULL.
WITH input AS (
    SELECT unnest(sqlc.arg(convs)::text[]) AS conv, unnest(sqlc.arg(users_a)::text[]) AS user_a,
           unnest(sqlc.arg(users_b)::text[]) AS user_b, unnest(sqlc.arg(senders)::text[]) AS sender,
           unnest(sqlc.arg(recipients)::text[]) AS recipient, unnest(sqlc.arg(group_ids)::bigint[]) AS group_id,
           unnest(sqlc.arg(kinds)::text[]) AS kind, unnest(sqlc.arg(bodies)::text[]) AS body,
           unnest(sqlc.arg(client_msg_ids)::text[]) AS client_msg_id, unnest(sqlc.arg(media_kinds)::text[]) AS media_kind,
           generate_subscripts(sqlc.arg(convs)::text[], 1) AS i
), checked AS (
    SELECT input.*, md.content_type, md.size, md.width, md.height,
           CASE WHEN gm.muted_until > now() THEN gm.muted_until END AS muted_until,
           CASE
               WHEN NOT CASE WHEN input.group_id = 0
                        THEN EXISTS (SELECT 1 FROM friendships f WHERE f.account = input.sender AND f.friend = input.recipient)
                        ELSE gm.role IS NOT NULL END
                   THEN 'forbidden'
               -- Direct sends only: one probe of blocks_pair finds a block
               -- either way; only a send across one reads which way.
               WHEN input.group_id = 0 AND EXISTS (
                        SELECT 1 FROM blocks b
                        WHERE least(b.blocker, b.blocked) = least(input.sender, input.recipient)
                          AND greatest(b.blocker, b.blocked) = greatest(input.sender, input.recipient))
                   THEN CASE WHEN EXISTS (SELECT 1 FROM blocks b WHERE b.blocker = input.recipient AND b.blocked = input.sender)
                             THEN 'blocked' ELSE 'blocking' END
               WHEN input.group_id <> 0
                    AND (gm.muted_until > now()
                         OR (gm.role = 'member' AND EXISTS (SELECT 1 FROM groups g WHERE g.id = input.group_id AND g.muted)))
                   THEN 'muted'
               WHEN input.media_kind = '' THEN 'ok'
               WHEN md.kind IS NULL THEN 'no_media'
               WHEN md.kind <> input.media_kind THEN 'wrong_kind'
               WHEN md.owner <> input.sender THEN 'not_owner'
               ELSE 'ok'
           END AS status
    FROM input
    -- The sender's member row, by primary key, for each group send only.
    LEFT JOIN LATERAL (
        SELECT m.role, m.muted_until
        FROM group_members m
        WHERE input.group_id <> 0 AND m.group_id = input.group_id AND m.account = input.sender
        OFFSET 0
    ) gm ON true
    -- A lookup by primary key for each media send only (OFFSET 0 keeps the
    -- planner from turning it into a join over the whole media table).
    LEFT JOIN LATERAL (
        SELECT md.kind, md.owner, md.content_type, md.size, md.width, md.height
        FROM media md
        WHERE input.media_kind <> '' AND md.name = input.body
        OFFSET 0
    ) md ON true
), allowed AS (
    SELECT * FROM checked WHERE checked.status = 'ok'
), stored AS (
    -- The message each send's sender stored under its client id, if any:
    -- looked up by (sender, client id) on messages_client_msg_id, the
    -- conversation checked outside (OFFSET 0 keeps the planner from
    -- pushing it in and reaching for messages_conv_sender, which would read
    -- every earlier message of the sender in the conversation).
    SELECT a.i, m.id, m.seq, m.created_at
    FROM allowed a
    JOIN LATERAL (
        SELECT m.id, m.seq, m.created_at, m.conv
        FROM messages m
        WHERE m.sender = a.sender AND m.client_msg_id = a.client_msg_id AND m.client_msg_id IS NOT NULL
        OFFSET 0
    ) m ON m.conv = a.conv
    WHERE a.client_msg_id <> ''
), fresh AS (
    SELECT a.*, row_number() OVER (PARTITION BY a.conv ORDER BY a.i) AS r, count(*) OVER (PARTITION BY a.conv) AS n
    FROM allowed a
    WHERE NOT EXISTS (SELECT 1 FROM stored s WHERE s.i = a.i)
), bump AS (
    INSERT INTO conversations AS c (key, user_a, user_b, group_id, last_seq)
    SELECT DISTINCT ON (f.conv) f.conv, NULLIF(f.user_a, ''), NULLIF(f.user_b, ''), NULLIF(f.group_id, 0), f.n
    FROM fresh f
    ORDER BY f.conv
    ON CONFLICT (key) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq, updated_at = now(),
        changed_at = CASE WHEN c.changed_at <= now() - make_interval(secs => sqlc.arg(mark_secs)::float8)
                          THEN now() ELSE c.changed_at END
    RETURNING c.key, c.last_seq
), numbered AS (
    SELECT f.*, b.last_seq - f.n + f.r AS seq FROM fresh f JOIN bump b ON b.key = f.conv
), ins AS (
    INSERT INTO messages (conv, seq, sender, recipient, group_id, kind, body, client_msg_id, media_type, media_size, media_width, media_height)
    SELECT n.conv, n.seq, n.sender, NULLIF(n.recipient, ''), NULLIF(n.group_id, 0), n.kind, n.body, NULLIF(n.client_msg_id, ''),
           n.content_type, n.size, n.width, n.height
    FROM numbered n
    RETURNING messages.id, messages.conv, messages.seq, messages.created_at
)
SELECT n.i::bigint AS i, 'new'::text AS status, ins.id::bigint AS id, ins.seq::bigint AS seq, ins.created_at::timestamptz AS created_at,
       coalesce(n.content_type, '')::text AS media_type, coalesce(n.size, 0)::bigint AS media_size,
       coalesce(n.width, 0)::integer AS media_width, coalesce(n.height, 0)::integer AS media_height,
       NULL::timestamptz AS muted_until
FROM numbered n JOIN ins ON ins.conv = n.conv AND ins.seq = n.seq
UNION ALL
SELECT s.i::bigint, 'repeated', s.id::bigint, s.seq::bigint, s.created_at::timestamptz, '', 0, 0, 0, NULL FROM stored s
UNION ALL
SELECT c.i::bigint, c.status, 0, 0, now(), '', 0, 0, 0, c.muted_until FROM checked c WHERE c.status <> 'ok';

-- name: MessageListAfterSeq :many
-- The oldest messages of conv with seq above after_seq, in seq order;
-- recall events too when events is true (catch-up), not when false
-- (history).
SELECT id, conv, seq, sender, recipient, group_id, kind, body, client_msg_id, created_at,
       media_type, media_size, media_width, media_height, recalled, recalls
FROM messages
WHERE conv = sqlc.arg(conv) AND seq > sqlc.arg(after_seq) AND (sqlc.arg(events)::boolean OR kind <> 'recall')
ORDER BY seq
LIMIT sqlc.arg(max_rows);

-- name: MessageListBeforeSeq :many
-- The newest messages of conv with seq below before_seq, newest first;
-- messages only, no recall events (history).
SELECT id, conv, seq, sender, recipient, group_id, kind, body, client_msg_id, created_at,
       media_type, media_size, media_width, media_height, recalled, recalls
FROM messages
WHERE conv = sqlc.arg(conv) AND seq < sqlc.arg(before_seq) AND kind <> 'recall'
ORDER BY seq DESC
LIMIT sqlc.arg(max_rows);

-- name: DeliveryCursorListForAccount :many
-- Every conversation the account takes part in, with its newest seq and how
-- far the account has been delivered. A group without messages yet is listed
-- with last_seq 0.
SELECT c.key AS conv, c.last_seq, coalesce(dc.delivered_seq, 0)::bigint AS delivered_seq, 0::bigint AS group_id
FROM conversations c
LEFT JOIN delivery_cursors dc ON dc.conv = c.key AND dc.account = sqlc.arg(account)
WHERE c.user_a = sqlc.arg(account) OR c.user_b = sqlc.arg(account)
UNION ALL
SELECT ('g:' || gm.group_id::text)::text AS conv, coalesce(c.last_seq, 0)::bigint AS last_seq,
       coalesce(dc.delivered_seq, 0)::bigint AS delivered_seq, gm.group_id
FROM group_members gm
LEFT JOIN conversations c ON c.group_id = gm.group_id
LEFT JOIN delivery_cursors dc ON dc.conv = c.key AND dc.account = sqlc.arg(account)
WHERE gm.account = sqlc.arg(account);

-- name: DeliveryCursorGet :one
-- How far account has been delivered in conv; 0 when never.
SELECT coalesce((SELECT delivered_seq FROM delivery_cursors WHERE account = sqlc.arg(account) AND conv = sqlc.arg(conv)), 0)::bigint;

-- name: DeliveryCursorUpsertBatch :exec
-- Advances cursors; a cursor never moves back. Conversations that do not
-- exist are skipped.
INSERT INTO delivery_cursors (account, conv, delivered_seq)
SELECT v.account, v.conv, v.seq
FROM (SELECT unnest(sqlc.arg(accounts)::text[]) AS account, unnest(sqlc.arg(convs)::text[]) AS conv,
             unnest(sqlc.arg(seqs)::bigint[]) AS seq) v
WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.key = v.conv)
ORDER BY v.account, v.conv
ON CONFLICT (account, conv) DO UPDATE SET delivered_seq = GREATEST(delivery_cursors.delivered_seq, excluded.delivered_seq);

-- name: GroupMemberGroupIDs :many
-- The groups account belongs to.
SELECT group_id FROM group_members WHERE account = $1 ORDER BY group_id;

-- name: MessageGetByClientID :one
-- The message sender stored under client_msg_id in conv: looked up by
-- (sender, client id) on messages_client_msg_id, the conversation checked
-- outside, as in MessageCommitBatch.
SELECT id, conv, seq, sender, recipient, group_id, kind, body, client_msg_id, created_at,
       media_type, media_size, media_width, media_height, recalled, recalls
FROM (
    SELECT * FROM messages
    WHERE sender = sqlc.arg(sender) AND client_msg_id = sqlc.arg(client_msg_id) AND client_msg_id IS NOT NULL
    OFFSET 0
) m
WHERE conv = sqlc.arg(conv);

-- name: DatabaseNow :one
SELECT now()::timestamptz;

-- name: ConversationsChanged :many
-- Conversations whose changed_at is after since and at least settle_secs
-- ago, oldest change first. (changed_at trails the last message by up to
-- the committer's granularity: settle_secs includes it.)
SELECT key, coalesce(user_a, '')::text AS user_a, coalesce(user_b, '')::text AS user_b,
       coalesce(group_id, 0)::bigint AS group_id, last_seq, changed_at
FROM conversations
WHERE changed_at > sqlc.arg(since)::timestamptz
  AND changed_at <= now() - make_interval(secs => sqlc.arg(settle_secs)::float8)
ORDER BY changed_at
LIMIT sqlc.arg(max_rows);
