-- name: RateLimitLock :exec
-- Serialises, until the transaction ends, the count-and-record of one
-- rate-limit key. Limits live in PostgreSQL so that they hold across
-- instances; each key is a sliding window of rows. The lock must be taken
-- in an earlier statement than the one that counts and records, because a
-- statement sees only what was committed before it started.
-- The transaction also commits without waiting for its WAL to reach the
-- disk: the lock is held until then, and a crash may at worst forget the
-- last fraction of a second of counts.
SELECT pg_advisory_xact_lock(hashtextextended('rate-limit:' || sqlc.arg(key)::text, 0)),
       set_config('synchronous_commit', 'off', true);

-- name: LoginFailureReserve :one
-- Records a failed login for key unless the window already holds
-- max_failures of them. id is the new row's id, or 0 when the window is
-- full; wait_secs is then how long until its oldest row leaves it.
WITH recent AS (
    SELECT count(*)::bigint AS failures, min(f.failed_at) AS oldest
    FROM login_failures f
    WHERE f.scope = sqlc.arg(scope)::text AND f.key = sqlc.arg(key)::text
      AND f.failed_at > now() - make_interval(secs => sqlc.arg(window_secs)::float8)
), reserved AS (
    INSERT INTO login_failures (scope, key)
    SELECT sqlc.arg(scope)::text, sqlc.arg(key)::text FROM recent
    WHERE recent.failures < sqlc.arg(max_failures)::bigint
    RETURNING id
)
SELECT coalesce((SELECT id FROM reserved), 0)::bigint AS id,
       coalesce(extract(epoch FROM recent.oldest + make_interval(secs => sqlc.arg(window_secs)::float8) - now()), 0)::float8 AS wait_secs
FROM recent;

-- name: LoginFailureDelete :exec
-- Takes back failures recorded for an attempt whose password was right, or
-- that was never checked.
DELETE FROM login_failures WHERE id = ANY(sqlc.arg(ids)::bigint[]);

-- name: LoginFailureDeleteBefore :execrows
DELETE FROM login_failures WHERE failed_at < $1;

-- name: RegistrationAttemptReserve :one
-- Records a registration attempt from address unless the window already
-- holds max_attempts of them; wait_secs is then how long until its oldest
-- row leaves it.
WITH recent AS (
    SELECT count(*)::bigint AS attempts, min(r.attempted_at) AS oldest
    FROM registration_attempts r
    WHERE r.address = sqlc.arg(address)::text
      AND r.attempted_at > now() - make_interval(secs => sqlc.arg(window_secs)::float8)
), recorded AS (
    INSERT INTO registration_attempts (address)
    SELECT sqlc.arg(address)::text FROM recent
    WHERE recent.attempts < sqlc.arg(max_attempts)::bigint
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM recorded) AS recorded,
       coalesce(extract(epoch FROM recent.oldest + make_interval(secs => sqlc.arg(window_secs)::float8) - now()), 0)::float8 AS wait_secs
FROM recent;

-- name: RegistrationAttemptDeleteBefore :execrows
DELETE FROM registration_attempts WHERE attempted_at < $1;
