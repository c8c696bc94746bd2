-- Server instances and who is connected where, for presence across instances.

-- name: InstanceHeartbeat :exec
INSERT INTO instances (id) VALUES ($1)
ON CONFLICT (id) DO UPDATE SET last_seen = now();

-- name: InstanceDelete :exec
-- Removes an instance with its presence rows (ON DELETE CASCADE).
DELETE FROM instances WHERE id = $1;

-- name: InstanceDeleteDead :execrows
-- Forgets instances silent for longer than the given number of seconds.
DELETE FROM instances WHERE last_seen < now() - make_interval(secs => sqlc.arg(older_than_secs)::float8);

-- name: PresenceDeleteInstance :exec
DELETE FROM presence WHERE instance_id = $1;

-- name: PresenceApply :exec
-- Sets the socket counts of accounts on one instance; a count of 0 removes
-- the row.
WITH v AS (
    SELECT unnest(sqlc.arg(accounts)::text[]) AS account, unnest(sqlc.arg(sockets)::int[]) AS sockets
), del AS (
    DELETE FROM presence p USING v
    WHERE p.instance_id = sqlc.arg(instance_id) AND p.account = v.account AND v.sockets = 0
)
INSERT INTO presence (instance_id, account, sockets)
SELECT sqlc.arg(instance_id), v.account, v.sockets FROM v WHERE v.sockets > 0
ORDER BY v.account
ON CONFLICT (instance_id, account) DO UPDATE SET sockets = excluded.sockets;

-- name: PresenceOnlineAccounts :many
-- Which of accounts have a socket on a live instance.
SELECT DISTINCT p.account FROM presence p JOIN instances i ON i.id = p.instance_id
WHERE p.account = ANY(sqlc.arg(accounts)::text[])
  AND i.last_seen > now() - make_interval(secs => sqlc.arg(presence_timeout_secs)::float8);

-- name: FriendshipListOf :many
-- The friends of each of accounts that no block stands between, either
-- way: those who see each other's presence and may hold one-to-one
-- sockets with each other.
SELECT f.account, f.friend FROM friendships f
WHERE f.account = ANY(sqlc.arg(accounts)::text[])
  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker = f.account AND b.blocked = f.friend)
                                            OR (b.blocker = f.friend AND b.blocked = f.account))
ORDER BY f.account, f.friend;

-- name: GroupPresenceDeleteInstance :exec
DELETE FROM group_presence WHERE instance_id = $1;

-- name: GroupPresenceUpsert :exec
INSERT INTO group_presence (instance_id, group_id, account, sockets)
VALUES ($1, $2, $3, $4)
ON CONFLICT (instance_id, group_id, account) DO UPDATE SET sockets = excluded.sockets;

-- name: GroupPresenceDelete :exec
DELETE FROM group_presence WHERE instance_id = $1 AND group_id = $2 AND account = $3;

-- name: GroupPresenceOnline :many
-- The members connected to a group socket on a live instance.
SELECT DISTINCT u.account, u.username
FROM group_presence gp
JOIN instances i ON i.id = gp.instance_id
JOIN users u ON u.account = gp.account
WHERE gp.group_id = sqlc.arg(group_id)
  AND i.last_seen > now() - make_interval(secs => sqlc.arg(presence_timeout_secs)::float8)
ORDER BY u.account;

-- name: UserUsernames :many
SELECT account, username FROM users WHERE account = ANY(sqlc.arg(accounts)::text[]);

-- name: PresenceTakeStale :many
-- Removes the presence rows of instances silent for longer than the given
-- number of seconds (other than the caller) and returns their accounts.
-- Concurrent callers on several instances each get distinct rows.
DELETE FROM presence p
USING instances i
WHERE p.instance_id = i.id
  AND i.id <> sqlc.arg(self)
  AND i.last_seen < now() - make_interval(secs => sqlc.arg(older_than_secs)::float8)
RETURNING p.account;

-- name: DeliveryCursorListForConv :many
-- How far each of accounts has been delivered in conv (accounts never
-- delivered are missing).
SELECT account, delivered_seq FROM delivery_cursors
WHERE conv = sqlc.arg(conv) AND account = ANY(sqlc.arg(accounts)::text[]);

-- name: InstanceListLive :many
-- The instances whose heartbeat is within the given number of seconds:
-- those a broadcast of a change of rights waits for.
SELECT id FROM instances
WHERE last_seen > now() - make_interval(secs => sqlc.arg(within_secs)::float8)
ORDER BY id;
