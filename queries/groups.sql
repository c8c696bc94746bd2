-- Group administration: roles, mutes, the group's settings, dissolving,
-- and the group's events, rows of its conversation with seqs of their own.
-- Every statement here runs with the group row locked (GroupLockForUpdate).

-- name: GroupMemberGetForUpdate :one
-- A member's role and mute (NULL once it has passed), its row locked until
-- the transaction ends.
SELECT role, CASE WHEN muted_until > now() THEN muted_until END::timestamptz AS muted_until
FROM group_members
WHERE group_id = sqlc.arg(group_id) AND account = sqlc.arg(account)
FOR UPDATE;

-- name: GroupMemberSetRole :execrows
UPDATE group_members SET role = sqlc.arg(role)
WHERE group_id = sqlc.arg(group_id) AND account = sqlc.arg(account);

-- name: GroupMemberSetMute :one
-- Mutes the member for secs seconds from now; 0 lifts the mute.
UPDATE group_members
SET muted_until = CASE WHEN sqlc.arg(secs)::integer > 0
                       THEN now() + make_interval(secs => sqlc.arg(secs)::integer) END
WHERE group_id = sqlc.arg(group_id) AND account = sqlc.arg(account)
RETURNING muted_until;

-- name: GroupSetOwner :exec
UPDATE groups SET owner = sqlc.arg(owner) WHERE id = sqlc.arg(id);

-- name: GroupUpdateSettings :one
-- Sets each setting given; a NULL keeps the stored value.
UPDATE groups
SET name = coalesce(sqlc.narg(name), name),
    announcement = coalesce(sqlc.narg(announcement), announcement),
    join_policy = coalesce(sqlc.narg(join_policy), join_policy),
    history_visibility = coalesce(sqlc.narg(history_visibility), history_visibility),
    muted = coalesce(sqlc.narg(muted), muted)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: GroupDissolve :many
-- Marks the group dissolved (its row stays, so that its id is never used
-- again) and removes every member; returns the former members.
WITH gone AS (
    DELETE FROM group_members WHERE group_id = sqlc.arg(id) RETURNING account
), marked AS (
    UPDATE groups SET dissolved_at = now(), member_count = 0 WHERE id = sqlc.arg(id) RETURNING id
)
SELECT gone.account FROM gone, marked ORDER BY gone.account;

-- name: ConversationTakeGroupSeq :one
-- Reserves the next seq of the group's conversation, creating it when the
-- group has no message yet; under its row lock until the transaction ends.
INSERT INTO conversations AS c (key, group_id, last_seq)
VALUES (sqlc.arg(conv), sqlc.arg(group_id), 1)
ON CONFLICT (key) DO UPDATE SET last_seq = c.last_seq + 1, updated_at = now(), changed_at = now()
RETURNING c.last_seq;

-- name: MessageInsertEvent :one
-- Stores a group event at seq, the actor as sender, body its JSON.
INSERT INTO messages (conv, seq, sender, group_id, kind, body)
VALUES (sqlc.arg(conv), sqlc.arg(seq), sqlc.arg(sender), sqlc.arg(group_id), 'event', sqlc.arg(body))
RETURNING id, created_at;
