-- Durable messages, conversations and delivery cursors. The committer runs
-- these in one transaction per batch of sends.

-- name: MessageSendAllowed :many
-- The positions (1-based) of the sends that are allowed: a direct send needs
-- friendship, a group send membership.
SELECT r.i::bigint AS i
FROM (SELECT unnest(sqlc.arg(senders)::text[]) AS sender, unnest(sqlc.arg(peers)::text[]) AS peer,
             unnest(sqlc.arg(group_ids)::bigint[]) AS group_id, generate_subscripts(sqlc.arg(senders)::text[], 1) AS i) r
WHERE (r.group_id = 0 AND EXISTS (SELECT 1 FROM friendships f WHERE f.account = r.sender AND f.friend = r.peer))
   OR (r.group_id <> 0 AND EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = r.group_id AND m.account = r.sender));

-- name: MessageListByClientIDs :many
-- Messages already stored under the given (sender, client_msg_id) pairs.
SELECT m.id, m.conv, m.seq, m.sender, m.recipient, m.group_id, m.kind, m.body, m.client_msg_id, m.created_at
FROM messages m
JOIN (SELECT unnest(sqlc.arg(senders)::text[]) AS sender, unnest(sqlc.arg(client_msg_ids)::text[]) AS client_msg_id) k
  ON m.sender = k.sender AND m.client_msg_id = k.client_msg_id;

-- name: ConversationInsertMissing :exec
-- Creates the conversations that do not exist yet. Empty user_a/user_b and
-- zero group_id stand for NULL.
INSERT INTO conversations (key, user_a, user_b, group_id)
SELECT k.key, NULLIF(k.user_a, ''), NULLIF(k.user_b, ''), NULLIF(k.group_id, 0)
FROM (SELECT unnest(sqlc.arg(keys)::text[]) AS key, unnest(sqlc.arg(users_a)::text[]) AS user_a,
             unnest(sqlc.arg(users_b)::text[]) AS user_b, unnest(sqlc.arg(group_ids)::bigint[]) AS group_id) k
ORDER BY k.key
ON CONFLICT DO NOTHING;

-- name: ConversationLockOrdered :many
-- Locks the conversations in key order, so that concurrent committers on
-- several instances cannot deadlock.
SELECT key FROM conversations WHERE key = ANY(sqlc.arg(keys)::text[]) ORDER BY key FOR UPDATE;

-- name: ConversationBumpSeq :many
-- Reserves counts[i] seqs in conversation keys[i]; returns the new last_seq.
UPDATE conversations c SET last_seq = c.last_seq + v.n
FROM (SELECT unnest(sqlc.arg(keys)::text[]) AS key, unnest(sqlc.arg(counts)::bigint[]) AS n) v
WHERE c.key = v.key
RETURNING c.key, c.last_seq;

-- name: MessageInsertBatch :many
INSERT INTO messages (conv, seq, sender, recipient, group_id, kind, body, client_msg_id)
SELECT r.conv, r.seq, r.sender, NULLIF(r.recipient, ''), NULLIF(r.group_id, 0), r.kind, r.body, NULLIF(r.client_msg_id, '')
FROM (SELECT unnest(sqlc.arg(convs)::text[]) AS conv, unnest(sqlc.arg(seqs)::bigint[]) AS seq,
             unnest(sqlc.arg(senders)::text[]) AS sender, unnest(sqlc.arg(recipients)::text[]) AS recipient,
             unnest(sqlc.arg(group_ids)::bigint[]) AS group_id, unnest(sqlc.arg(kinds)::text[]) AS kind,
             unnest(sqlc.arg(bodies)::text[]) AS body, unnest(sqlc.arg(client_msg_ids)::text[]) AS client_msg_id) r
RETURNING id, conv, seq, created_at;

-- name: MessageListAfterSeq :many
-- The oldest messages of conv with seq above after_seq, in seq order.
SELECT id, conv, seq, sender, recipient, group_id, kind, body, client_msg_id, created_at
FROM messages
WHERE conv = sqlc.arg(conv) AND seq > sqlc.arg(after_seq)
ORDER BY seq
LIMIT sqlc.arg(max_rows);

-- name: MessageListBeforeSeq :many
-- The newest messages of conv with seq below before_seq, newest first.
SELECT id, conv, seq, sender, recipient, group_id, kind, body, client_msg_id, created_at
FROM messages
WHERE conv = sqlc.arg(conv) AND seq < sqlc.arg(before_seq)
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
