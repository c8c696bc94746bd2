-- Friendship and group membership. Checks used by realtime live here too.

-- name: FriendshipExists :one
SELECT EXISTS (SELECT 1 FROM friendships WHERE account = $1 AND friend = $2);

-- name: GroupMemberExists :one
SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = $1 AND account = $2);

-- name: GroupMembership :one
-- Whether the group exists and whether account is a member of it, in one
-- round trip.
SELECT EXISTS (SELECT 1 FROM groups WHERE id = sqlc.arg(group_id)) AS group_exists,
       EXISTS (SELECT 1 FROM group_members WHERE group_id = sqlc.arg(group_id) AND account = sqlc.arg(account)) AS member;

-- name: GroupMemberAccounts :many
SELECT account FROM group_members WHERE group_id = $1 ORDER BY account;

-- name: FriendAccounts :many
SELECT friend FROM friendships WHERE account = $1 ORDER BY friend;

-- name: DeliveryCursorSetToGroupEnd :exec
-- A member who joins starts at the group's newest message: history before
-- the join is readable through /Tim/groupMessages but not pushed as unread.
INSERT INTO delivery_cursors (account, conv, delivered_seq)
SELECT sqlc.arg(account), c.key, c.last_seq FROM conversations c WHERE c.group_id = sqlc.arg(group_id)
ON CONFLICT (account, conv) DO UPDATE SET delivered_seq = excluded.delivered_seq;

-- name: FriendshipInsertPair :execrows
-- Both rows of a friendship in one statement. Callers pass lo < hi so that
-- concurrent calls for the same pair, in either direction, take the unique
-- index entries in the same order and cannot deadlock; a pair that exists
-- already inserts nothing.
INSERT INTO friendships (account, friend)
VALUES (sqlc.arg(lo)::text, sqlc.arg(hi)::text), (sqlc.arg(hi)::text, sqlc.arg(lo)::text)
ON CONFLICT (account, friend) DO NOTHING;

-- name: FriendshipDeletePair :execrows
-- Both rows of a friendship; callers pass lo < hi, as for the insert.
DELETE FROM friendships
WHERE (account = sqlc.arg(lo)::text AND friend = sqlc.arg(hi)::text)
   OR (account = sqlc.arg(hi)::text AND friend = sqlc.arg(lo)::text);

-- name: GroupInsertIfMissing :exec
-- A join creates the group it names when it does not exist yet. A concurrent
-- creator of the same id makes this wait, then do nothing.
INSERT INTO groups (id, name, owner)
VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING;

-- name: GroupLockForUpdate :one
-- Serialises joins and leaves of one group, so member_count and the member
-- limit hold under concurrency.
SELECT * FROM groups WHERE id = $1 FOR UPDATE;

-- name: GroupMemberInsert :exec
-- A member joins with a role, at the group's newest seq (history
-- visibility "joined" reads above it).
INSERT INTO group_members (group_id, account, role, joined_seq)
VALUES (sqlc.arg(group_id), sqlc.arg(account), sqlc.arg(role),
        coalesce((SELECT c.last_seq FROM conversations c WHERE c.group_id = sqlc.arg(group_id)), 0));

-- name: GroupMemberList :many
-- The members of a group with their roles and mutes; a mute that has
-- passed reads as none.
SELECT account, role,
       CASE WHEN muted_until > now() THEN muted_until END::timestamptz AS muted_until
FROM group_members WHERE group_id = $1 ORDER BY account;

-- name: GroupMemberDelete :execrows
DELETE FROM group_members WHERE group_id = $1 AND account = $2;

-- name: GroupMemberCountAdjust :one
-- Call with the group row locked (GroupLockForUpdate).
UPDATE groups SET member_count = member_count + sqlc.arg(delta)::integer
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: GroupListByMember :many
SELECT g.* FROM groups g
JOIN group_members m ON m.group_id = g.id
WHERE m.account = $1
ORDER BY g.id;

-- name: GroupMembershipsOf :many
-- The groups each of accounts belongs to.
SELECT account, group_id FROM group_members WHERE account = ANY(sqlc.arg(accounts)::text[]);
