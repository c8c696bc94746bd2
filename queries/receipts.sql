-- Read cursors.

-- name: ReadCursorAdvanceBatch :many
-- Moves a batch of read cursors in one statement. Each read i names its
-- reader, its conversation (conv, and peer for a direct one or group_id
-- for a group) and seq. A read moves the cursor only when its target
-- exists, the reader is a member of the group (direct: a party, by the
-- key), seq is at most the conversation's last_seq and above the cursor;
-- of several reads of one cursor in the batch the largest wins. It
-- returns one row per read, by its 1-based position i, saying why it did
-- not move (target_exists, allowed, last_seq: -1 when the conversation
-- has no row) and the cursor after the statement. friends says whether a
-- direct read's parties are friends that no block stands between.
WITH input AS (
    SELECT unnest(sqlc.arg(readers)::text[]) AS reader, unnest(sqlc.arg(peers)::text[]) AS peer,
           unnest(sqlc.arg(group_ids)::bigint[]) AS group_id, unnest(sqlc.arg(convs)::text[]) AS conv,
           unnest(sqlc.arg(seqs)::bigint[]) AS seq, generate_subscripts(sqlc.arg(readers)::text[], 1) AS i
), checked AS (
    SELECT input.i, input.reader, input.conv, input.seq, c.last_seq,
           CASE WHEN input.group_id = 0 THEN EXISTS (SELECT 1 FROM users u WHERE u.account = input.peer)
                ELSE EXISTS (SELECT 1 FROM groups g WHERE g.id = input.group_id) END AS target_exists,
           input.group_id = 0
               OR EXISTS (SELECT 1 FROM group_members gm WHERE gm.group_id = input.group_id AND gm.account = input.reader) AS allowed,
           input.group_id = 0
               AND EXISTS (SELECT 1 FROM friendships f WHERE f.account = input.reader AND f.friend = input.peer)
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker = input.reader AND b.blocked = input.peer)
                                                         OR (b.blocker = input.peer AND b.blocked = input.reader)) AS friends
    FROM input
    LEFT JOIN conversations c ON c.key = input.conv
), wanted AS (
    SELECT DISTINCT ON (ch.reader, ch.conv) ch.i, ch.reader, ch.conv, ch.seq
    FROM checked ch
    WHERE ch.target_exists AND ch.allowed AND ch.seq <= ch.last_seq
    ORDER BY ch.reader, ch.conv, ch.seq DESC, ch.i
), moved AS (
    INSERT INTO read_cursors AS r (account, conv, read_seq)
    SELECT w.reader, w.conv, w.seq FROM wanted w
    ORDER BY w.reader, w.conv
    ON CONFLICT (account, conv) DO UPDATE SET read_seq = excluded.read_seq, updated_at = now()
    WHERE r.read_seq < excluded.read_seq
    RETURNING r.account, r.conv, r.read_seq, r.updated_at
)
SELECT ch.i::bigint AS i, ch.target_exists::boolean AS target_exists, ch.allowed::boolean AS allowed,
       ch.friends::boolean AS friends, coalesce(ch.last_seq, -1)::bigint AS last_seq,
       (w.i IS NOT NULL AND mv.account IS NOT NULL)::boolean AS moved,
       coalesce(mv.read_seq, old.read_seq, 0)::bigint AS read_seq,
       coalesce(mv.updated_at, old.updated_at, now())::timestamptz AS read_at
FROM checked ch
LEFT JOIN wanted w ON w.i = ch.i
LEFT JOIN moved mv ON mv.account = ch.reader AND mv.conv = ch.conv
LEFT JOIN read_cursors old ON old.account = ch.reader AND old.conv = ch.conv
ORDER BY ch.i;

-- name: ReadCursorSetToGroupEnd :exec
-- A member who joins has read the group up to its newest message, as its
-- delivery cursor starts there: history from before the join is not unread.
INSERT INTO read_cursors (account, conv, read_seq)
SELECT sqlc.arg(account)::text, c.key, c.last_seq FROM conversations c WHERE c.group_id = sqlc.arg(group_id)::bigint
ON CONFLICT (account, conv) DO UPDATE SET read_seq = GREATEST(read_cursors.read_seq, excluded.read_seq), updated_at = now();
