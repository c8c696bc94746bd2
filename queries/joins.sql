-- Who may join a group: random group ids, join requests, roles as
-- admission sees them, blocks as an invitation sees them, and the floor of
-- what a member of a "joined" group may read.

-- name: GroupInsertWithID :one
-- A group created by createGroup under an id drawn at random. Returns no
-- row when the id is taken (by a live or a dissolved group: ids are never
-- reused); the caller draws again.
INSERT INTO groups (id, name, owner, join_policy, history_visibility)
VALUES (sqlc.arg(id), sqlc.arg(name), sqlc.arg(owner), sqlc.narg(join_policy), sqlc.arg(history_visibility))
ON CONFLICT (id) DO NOTHING
RETURNING *;

-- name: GroupMemberRole :one
-- The role of account in group_id; no row when it is not a member.
SELECT role FROM group_members WHERE group_id = $1 AND account = $2;

-- name: GroupManagers :many
-- The owner and admins of a group, who answer its join requests.
SELECT account FROM group_members
WHERE group_id = $1 AND role IN ('owner', 'admin')
ORDER BY account;

-- name: BlockExists :one
-- Whether blocker blocks blocked.
SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker = $1 AND blocked = $2);

-- name: JoinRequestInsert :one
-- A pending request of account to join group_id. Returns no row when one
-- is pending already (join_requests_pending); the caller reads that one.
INSERT INTO join_requests (group_id, account, message)
VALUES ($1, $2, $3)
ON CONFLICT (group_id, account) WHERE status = 'pending' DO NOTHING
RETURNING *;

-- name: JoinRequestGetPending :one
-- The pending request of account to join group_id.
SELECT * FROM join_requests WHERE group_id = $1 AND account = $2 AND status = 'pending';

-- name: JoinRequestGet :one
SELECT * FROM join_requests WHERE id = $1;

-- name: JoinRequestAnswer :one
-- Answers a pending request: status accepted or rejected. Returns no row
-- when it is no longer pending, so that of two answers racing only one
-- changes it (the second waits for the first's row lock, then sees it
-- answered).
UPDATE join_requests
SET status = sqlc.arg(status), answered_by = sqlc.arg(answered_by), answered_at = now()
WHERE id = sqlc.arg(id) AND status = 'pending'
RETURNING *;

-- name: JoinRequestAcceptPending :exec
-- An invitation accepts the pending request of the account it adds.
UPDATE join_requests
SET status = 'accepted', answered_by = sqlc.arg(answered_by), answered_at = now()
WHERE group_id = sqlc.arg(group_id) AND account = sqlc.arg(account) AND status = 'pending';

-- name: JoinRequestListPending :many
-- A page of a group's pending requests, newest first, below before_id. The
-- order is the ids', which the pages are cut by, so that no request falls
-- between two pages (created_at, its transaction's start, may order two
-- concurrent requests otherwise).
SELECT * FROM join_requests
WHERE group_id = sqlc.arg(group_id) AND status = 'pending' AND id < sqlc.arg(before_id)
ORDER BY id DESC
LIMIT sqlc.arg(max_rows);

-- name: GroupReadFloor :one
-- Whether the group exists, whether account is a member, and the seq at or
-- below which the member reads nothing: its joined_seq when the group's
-- history is visible from the join only, else 0.
SELECT EXISTS (SELECT 1 FROM groups eg WHERE eg.id = sqlc.arg(group_id)::bigint) AS group_exists,
       EXISTS (SELECT 1 FROM group_members mm WHERE mm.group_id = sqlc.arg(group_id)::bigint AND mm.account = sqlc.arg(account)::text) AS member,
       coalesce((SELECT CASE WHEN g.history_visibility = 'joined' THEN gm.joined_seq ELSE 0 END
                 FROM groups g JOIN group_members gm ON gm.group_id = g.id
                 WHERE g.id = sqlc.arg(group_id)::bigint AND gm.account = sqlc.arg(account)::text), 0)::bigint AS floor_seq;
