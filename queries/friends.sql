-- Friend policies, friend requests and blocks.

-- name: FriendPairLock :exec
-- Serialises every change of one pair's friendship and requests (callers
-- pass lo < hi): two accounts asking each other at once, or an answer and
-- a cancel of one request, run one after the other.
SELECT pg_advisory_xact_lock(hashtextextended('tim.friend:' || sqlc.arg(lo)::text || ':' || sqlc.arg(hi)::text, 0));

-- name: UserFriendPolicy :one
SELECT friend_policy FROM users WHERE account = $1;

-- name: UserProfileUpdate :one
-- Changes the fields given (NULL keeps a field) and returns the account's
-- profile.
UPDATE users SET
    username = coalesce(sqlc.narg(username), username),
    age = coalesce(sqlc.narg(age), age),
    sex = coalesce(sqlc.narg(sex), sex),
    friend_policy = coalesce(sqlc.narg(friend_policy), friend_policy)
WHERE account = sqlc.arg(account)
RETURNING friend_policy;

-- name: FriendRequestInsert :one
INSERT INTO friend_requests (from_account, to_account, message, expires_at)
VALUES (sqlc.arg(from_account), sqlc.arg(to_account), sqlc.arg(message), now() + make_interval(secs => sqlc.arg(ttl_secs)::float8))
RETURNING *;

-- name: FriendRequestPending :one
-- The pending request from from_account to to_account that has not
-- expired.
SELECT * FROM friend_requests
WHERE from_account = $1 AND to_account = $2 AND status = 'pending' AND expires_at > now();

-- name: FriendRequestExpirePair :exec
-- Marks expired the pending requests from from_account to to_account whose
-- time has passed.
UPDATE friend_requests SET status = 'expired', answered_at = expires_at
WHERE from_account = $1 AND to_account = $2 AND status = 'pending' AND expires_at <= now();

-- name: FriendRequestGet :one
SELECT * FROM friend_requests WHERE id = $1;

-- name: FriendRequestClose :one
-- Moves request id from pending to status, when it is pending and has not
-- expired; no row otherwise.
UPDATE friend_requests SET status = sqlc.arg(status), answered_at = now()
WHERE id = sqlc.arg(id) AND status = 'pending' AND expires_at > now()
RETURNING *;

-- name: FriendRequestCloseBetween :exec
-- Closes with status every pending request between a and b, either way.
UPDATE friend_requests SET status = sqlc.arg(status), answered_at = now()
WHERE status = 'pending'
  AND ((from_account = sqlc.arg(a) AND to_account = sqlc.arg(b)) OR (from_account = sqlc.arg(b) AND to_account = sqlc.arg(a)));

-- name: FriendRequestListTo :many
-- Pending, unexpired requests to account, newest first, below before_id.
SELECT * FROM friend_requests
WHERE to_account = $1 AND status = 'pending' AND expires_at > now() AND id < sqlc.arg(before_id)
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- name: FriendRequestListFrom :many
-- Pending, unexpired requests from account, newest first, below before_id.
SELECT * FROM friend_requests
WHERE from_account = $1 AND status = 'pending' AND expires_at > now() AND id < sqlc.arg(before_id)
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- name: BlockInsert :exec
INSERT INTO blocks (blocker, blocked) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: BlockDelete :exec
DELETE FROM blocks WHERE blocker = $1 AND blocked = $2;

-- name: BlockBetween :one
-- Whether a blocks b, and whether b blocks a.
SELECT EXISTS (SELECT 1 FROM blocks x WHERE x.blocker = sqlc.arg(a)::text AND x.blocked = sqlc.arg(b)::text) AS a_blocks,
       EXISTS (SELECT 1 FROM blocks y WHERE y.blocker = sqlc.arg(b)::text AND y.blocked = sqlc.arg(a)::text) AS b_blocks;

-- name: BlockedAccounts :many
-- The accounts account blocks, ordered by account.
SELECT blocked FROM blocks WHERE blocker = $1 ORDER BY blocked;

-- name: BlockPartners :many
-- The accounts that a block stands between account and, either way.
SELECT x.blocked AS account FROM blocks x WHERE x.blocker = sqlc.arg(account)::text
UNION
SELECT y.blocker FROM blocks y WHERE y.blocked = sqlc.arg(account)::text;
