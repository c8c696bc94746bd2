-- name: UserInsert :one
INSERT INTO users (account, username, password_hash, sex, age)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: UserGetByAccount :one
SELECT * FROM users WHERE account = $1;

-- name: UserSetPasswordHash :exec
UPDATE users SET password_hash = $2 WHERE account = $1;

-- name: UserRevokeAllTokens :exec
UPDATE users SET token_generation = token_generation + 1 WHERE account = $1;

-- name: TokenState :one
-- What a token's verification needs: the account's token generation and
-- whether this token was revoked one by one.
SELECT u.token_generation,
       EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = sqlc.arg(jti)) AS revoked
FROM users u
WHERE u.account = sqlc.arg(account);

-- name: UserProfiles :many
-- Users with their avatar and whether a live instance holds a socket of theirs.
SELECT u.id, u.account, u.username, u.sex, u.age,
       a.media_name AS avatar,
       EXISTS (
           SELECT 1 FROM presence p JOIN instances i ON i.id = p.instance_id
           WHERE p.account = u.account AND i.last_seen > now() - make_interval(secs => sqlc.arg(presence_timeout_secs)::float8)
       ) AS online
FROM users u
LEFT JOIN avatars a ON a.account = u.account
WHERE u.account = ANY(sqlc.arg(accounts)::text[])
ORDER BY u.account;

-- name: RevokedTokenInsert :exec
INSERT INTO revoked_tokens (jti, account, expires_at)
VALUES ($1, $2, $3)
ON CONFLICT (jti) DO NOTHING;

-- name: RevokedTokenDeleteExpired :execrows
DELETE FROM revoked_tokens WHERE expires_at < now();

-- name: TokensRevokedAmong :many
-- Of the tokens (account, jti, generation) held by open sockets, those that
-- no longer verify: revoked one by one, of an earlier generation, or of an
-- account that is gone.
SELECT v.jti::text AS jti
FROM (SELECT unnest(sqlc.arg(accounts)::text[]) AS account, unnest(sqlc.arg(jtis)::text[]) AS jti,
             unnest(sqlc.arg(generations)::integer[]) AS generation) v
LEFT JOIN users u ON u.account = v.account
WHERE u.account IS NULL OR u.token_generation <> v.generation
   OR EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = v.jti);
