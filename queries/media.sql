-- name: MediaInsert :exec
-- width and height: a picture's dimensions, NULL when unknown or not a picture.
INSERT INTO media (name, kind, owner, size, content_type, sha256, created_at, width, height)
VALUES ($1, $2, $3, $4, $5, $6, $7, sqlc.narg(width), sqlc.narg(height));

-- name: MediaGetByNameAndKind :one
SELECT * FROM media WHERE name = $1 AND kind = $2;

-- name: MediaGetForDownload :one
-- The media called name if it is of kind, and whether it is revoked for
-- account: a file recalled with a message (media.recalled) that no media
-- message still carries unrecalled is revoked for everyone but its owner.
SELECT md.name, md.kind, md.owner, md.size, md.content_type, md.sha256, md.created_at, md.width, md.height,
       (md.recalled AND md.owner <> sqlc.arg(account)::text AND NOT EXISTS (
           SELECT 1 FROM messages m
           WHERE m.body = md.name AND m.kind IN ('image', 'audio', 'video') AND NOT m.recalled
       ))::boolean AS revoked
FROM media md
WHERE md.name = sqlc.arg(name) AND md.kind = sqlc.arg(kind);

-- name: MediaDeleteByName :one
-- Removes a media row and returns the blob key it referred to.
DELETE FROM media WHERE name = $1 RETURNING sha256;

-- name: MediaCountBySHA256 :one
-- How many media rows refer to one blob.
SELECT count(*)::bigint FROM media WHERE sha256 = $1;

-- name: MediaLockSHA256 :exec
-- Serialises, until the transaction ends, everything that adds or drops a
-- reference to one blob: an upload taking a reference and a clean-up
-- deciding that nothing refers to the blob any more.
SELECT pg_advisory_xact_lock(hashtextextended(sqlc.arg(sha256)::text, 0));

-- name: AvatarInsertIfAbsent :execrows
-- Gives account its first avatar; affects no row when it has one already
-- (waiting, if another transaction is inserting one, for that to end).
INSERT INTO avatars (account, media_name)
VALUES ($1, $2)
ON CONFLICT (account) DO NOTHING;

-- name: AvatarGetNameForUpdate :one
-- The media name of account's current avatar, locked until the transaction ends.
SELECT media_name FROM avatars WHERE account = $1 FOR UPDATE;

-- name: AvatarUpdate :exec
UPDATE avatars SET media_name = $2, updated_at = now() WHERE account = $1;

-- name: AvatarGetByAccount :one
-- The media row of account's current avatar.
SELECT m.*
FROM avatars a
JOIN media m ON m.name = a.media_name
WHERE a.account = $1;
