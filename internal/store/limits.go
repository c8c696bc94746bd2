package store

import (
	"context"
	"time"

	"tim/gen/db"
)

// Rate limits live in PostgreSQL so that they hold across instances: each
// key is a sliding window of rows. Counting and recording for a key run in
// one transaction (Tx) that first takes the key's lock (RateLimitLock).

// RateLimitLock serialises, until the transaction ends, the count-and-record
// of one rate-limit key; the transaction then commits without waiting for
// its WAL to reach the disk. Call it inside Tx, before the reservation.
func (q *Queries) RateLimitLock(ctx context.Context, key string) error {
	return interpretError(q.q.RateLimitLock(ctx, key))
}

// LoginFailureReserve records a failed login for (scope, key) unless the
// window already holds limit of them. It returns the new row's id, or 0
// when the window is full, with how long until its oldest row leaves it.
func (q *Queries) LoginFailureReserve(ctx context.Context, scope, key string, limit int64, window time.Duration) (id int64, wait time.Duration, err error) {
	r, err := q.q.LoginFailureReserve(ctx, db.LoginFailureReserveParams{
		Scope: scope, Key: key, MaxFailures: limit, WindowSecs: window.Seconds(),
	})
	if err != nil {
		return 0, 0, interpretError(err)
	}
	return r.ID, secondsToDuration(r.WaitSecs), nil
}

// LoginFailureDelete takes back recorded failures by id.
func (q *Queries) LoginFailureDelete(ctx context.Context, ids []int64) error {
	return interpretError(q.q.LoginFailureDelete(ctx, ids))
}

// LoginFailureDeleteBefore forgets failures older than t and returns how
// many.
func (q *Queries) LoginFailureDeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := q.q.LoginFailureDeleteBefore(ctx, timestamptz(t))
	return n, interpretError(err)
}

// RegistrationAttemptReserve records a registration attempt from address
// unless the window already holds limit of them; recorded is false then,
// with how long until its oldest row leaves the window.
func (q *Queries) RegistrationAttemptReserve(ctx context.Context, address string, limit int64, window time.Duration) (recorded bool, wait time.Duration, err error) {
	r, err := q.q.RegistrationAttemptReserve(ctx, db.RegistrationAttemptReserveParams{
		Address: address, MaxAttempts: limit, WindowSecs: window.Seconds(),
	})
	if err != nil {
		return false, 0, interpretError(err)
	}
	return r.Recorded, secondsToDuration(r.WaitSecs), nil
}

// RegistrationAttemptDeleteBefore forgets attempts older than t and
// returns how many.
func (q *Queries) RegistrationAttemptDeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := q.q.RegistrationAttemptDeleteBefore(ctx, timestamptz(t))
	return n, interpretError(err)
}

func secondsToDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
