-- The conversation list and group readers.

-- name: ConversationListForAccount :many
-- One page of account's conversations, most recent activity first: its
-- direct conversations that have messages and every group it belongs to
-- (a group without messages yet has last_seq 0 and its join time as
-- activity). The page is cut from the conversations' keys and times alone
-- (every one of the account's is sorted, no more); then each of its rows
-- gets its name, both read cursors, its newest message (recall events
-- aside: a recalled message shows as recalled) and its unread count:
-- last_seq - read_seq less the account's own messages past its read cursor
-- (counted on messages_conv_sender) and less the recall events and group
-- events there (counted on messages_conv_recall and messages_conv_event),
-- which take seqs but are no messages; the newest message is never one.
-- Pages after the first start after (after_activity, after_key) when
-- paged. In a group whose history is visible from the join only, nothing
-- at or below the member's joined_seq counts: not as its newest message,
-- not as unread (the read cursor reads as at least joined_seq). Each row's details
-- are subqueries by primary key, so that the planner has no joins to
-- order and reads nothing but the page's rows.
WITH convs AS (
    SELECT c.key AS key, c.last_seq AS last_seq, c.updated_at AS activity,
           (CASE WHEN c.user_a = sqlc.arg(account)::text THEN c.user_b ELSE c.user_a END)::text AS peer,
           0::bigint AS group_id
    FROM conversations c
    WHERE (c.user_a = sqlc.arg(account)::text OR c.user_b = sqlc.arg(account)::text) AND c.last_seq > 0
    UNION ALL
    SELECT coalesce(c.key, 'g:' || gm.group_id::text)::text, coalesce(c.last_seq, 0)::bigint,
           coalesce(c.updated_at, gm.joined_at)::timestamptz, ''::text, gm.group_id
    FROM group_members gm
    LEFT JOIN conversations c ON c.group_id = gm.group_id
    WHERE gm.account = sqlc.arg(account)::text
), page AS (
    SELECT cv.key, cv.last_seq, cv.activity, cv.peer, cv.group_id
    FROM convs cv
    WHERE NOT sqlc.arg(paged)::boolean
       OR (cv.activity, cv.key) < (sqlc.arg(after_activity)::timestamptz, sqlc.arg(after_key)::text)
    ORDER BY cv.activity DESC, cv.key DESC
    LIMIT sqlc.arg(max_rows)::integer
)
SELECT p.key::text AS conv, p.last_seq::bigint AS last_seq, p.activity::timestamptz AS activity,
       p.peer::text AS peer, p.group_id::bigint AS group_id,
       coalesce(CASE WHEN p.group_id = 0 THEN (SELECT u.username FROM users u WHERE u.account = p.peer)
                     ELSE (SELECT g.name FROM groups g WHERE g.id = p.group_id) END, '')::text AS name,
       r.read_seq::bigint AS read_seq,
       (CASE WHEN p.group_id = 0
             THEN coalesce((SELECT prc.read_seq FROM read_cursors prc WHERE prc.account = p.peer AND prc.conv = p.key), 0)
             ELSE 0 END)::bigint AS peer_read_seq,
       (p.last_seq - r.read_seq - (
           SELECT count(*) FROM messages o
           WHERE o.conv = p.key AND o.sender = sqlc.arg(account)::text AND o.kind NOT IN ('recall', 'event')
             AND o.seq > r.read_seq AND o.seq <= p.last_seq
       ) - (
           SELECT count(*) FROM messages e
           WHERE e.conv = p.key AND e.kind = 'recall' AND e.seq > r.read_seq AND e.seq <= p.last_seq
       ) - (
           SELECT count(*) FROM messages ge
           WHERE ge.conv = p.key AND ge.kind = 'event' AND ge.seq > r.read_seq AND ge.seq <= p.last_seq
       ))::bigint AS unread,
       (m.seq IS NOT NULL)::boolean AS has_message,
       coalesce(m.seq, 0)::bigint AS msg_seq,
       coalesce(m.id, 0)::bigint AS msg_id, coalesce(m.sender, '')::text AS msg_sender,
       coalesce(m.recipient, '')::text AS msg_recipient, coalesce(m.kind, '')::text AS msg_kind,
       coalesce(m.body, '')::text AS msg_body, coalesce(m.client_msg_id, '')::text AS msg_client_msg_id,
       coalesce(m.created_at, p.activity)::timestamptz AS msg_time,
       m.media_type AS msg_media_type, m.media_size AS msg_media_size,
       m.media_width AS msg_media_width, m.media_height AS msg_media_height,
       coalesce(m.recalled, false)::boolean AS msg_recalled
FROM page p
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.group_id = 0 THEN 0
                ELSE coalesce((SELECT gm.joined_seq FROM groups g
                               JOIN group_members gm ON gm.group_id = g.id AND gm.account = sqlc.arg(account)::text
                               WHERE g.id = p.group_id AND g.history_visibility = 'joined'), 0) END AS floor_seq
) f
CROSS JOIN LATERAL (
    SELECT greatest(f.floor_seq, coalesce((SELECT rc.read_seq FROM read_cursors rc WHERE rc.account = sqlc.arg(account)::text AND rc.conv = p.key), 0)) AS read_seq
) r
LEFT JOIN LATERAL (
    SELECT mm.seq, mm.id, mm.sender, mm.recipient, mm.kind, mm.body, mm.client_msg_id, mm.created_at,
           mm.media_type, mm.media_size, mm.media_width, mm.media_height, mm.recalled
    FROM messages mm WHERE mm.conv = p.key AND mm.seq <= p.last_seq AND mm.seq > f.floor_seq AND mm.kind NOT IN ('recall', 'event')
    ORDER BY mm.seq DESC LIMIT 1
) m ON true
ORDER BY p.activity DESC, p.key DESC;

-- name: GroupReaderList :many
-- The current members of a group whose read cursor in its conversation is
-- at least seq, by account.
SELECT rc.account, u.username, rc.read_seq
FROM read_cursors rc
JOIN group_members gm ON gm.group_id = sqlc.arg(group_id)::bigint AND gm.account = rc.account
JOIN users u ON u.account = rc.account
WHERE rc.conv = sqlc.arg(conv)::text AND rc.read_seq >= sqlc.arg(seq)::bigint
ORDER BY rc.account;
