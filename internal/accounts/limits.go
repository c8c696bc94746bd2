package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"tim/internal/store"
)

// loginReservation is the failures recorded for a login attempt before its
// password is checked.
type loginReservation struct {
	ids []int64
}

// reserveLogin records the attempt as a failure for account and for addr,
// in one transaction that holds each key's lock while it counts and
// records, so that concurrent attempts cannot all slip under the limit. When
// either window is full it records nothing and returns how long the client
// must wait.
func (a *API) reserveLogin(ctx context.Context, account, addr string) (loginReservation, time.Duration, error) {
	type key struct {
		scope, key string
		limit      int
		window     time.Duration
	}
	var keys []key
	if account != "" && a.limits.LoginFailuresPerAccount > 0 {
		keys = append(keys, key{"account", account, a.limits.LoginFailuresPerAccount, a.limits.LoginAccountWindow})
	}
	if addr != "" && a.limits.LoginFailuresPerAddress > 0 {
		keys = append(keys, key{"address", addr, a.limits.LoginFailuresPerAddress, a.limits.LoginAddressWindow})
	}
	var res loginReservation
	var wait time.Duration
	err := a.q.Tx(ctx, func(q *store.Queries) error {
		res, wait = loginReservation{}, 0
		// Always the account's lock before the address's, so that two
		// attempts never wait for each other's second lock.
		for _, k := range keys {
			if err := q.RateLimitLock(ctx, "login:"+k.scope+":"+k.key); err != nil {
				return fmt.Errorf("lock login limit: %w", err)
			}
		}
		for _, k := range keys {
			id, retry, err := q.LoginFailureReserve(ctx, k.scope, k.key, int64(k.limit), k.window)
			if err != nil {
				return fmt.Errorf("reserve login attempt: %w", err)
			}
			if id == 0 {
				wait = max(wait, waitWithin(retry, k.window))
				continue
			}
			res.ids = append(res.ids, id)
		}
		if wait > 0 {
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		return loginReservation{}, wait, nil
	}
	if err != nil {
		return loginReservation{}, 0, err
	}
	return res, 0, nil
}

// release takes back the failures of an attempt whose password was right or
// was never checked. It runs even when the request's context has ended, and
// only logs when it fails: the attempt then counts as a failure, which errs
// on the safe side.
func (a *API) release(ctx context.Context, r loginReservation) {
	if len(r.ids) == 0 {
		return
	}
	if err := a.q.LoginFailureDelete(context.WithoutCancel(ctx), r.ids); err != nil {
		a.logger.WarnContext(ctx, "take back reserved login failures", slog.Any("err", err))
	}
}

// reserveRegistration records a registration attempt from addr unless its
// window is full, and then returns how long the client must wait.
func (a *API) reserveRegistration(ctx context.Context, addr string) (time.Duration, error) {
	if addr == "" || a.limits.RegistrationsPerAddress <= 0 {
		return 0, nil
	}
	var wait time.Duration
	err := a.q.Tx(ctx, func(q *store.Queries) error {
		if err := q.RateLimitLock(ctx, "register:"+addr); err != nil {
			return fmt.Errorf("lock registration limit: %w", err)
		}
		recorded, retry, err := q.RegistrationAttemptReserve(ctx, addr, int64(a.limits.RegistrationsPerAddress), a.limits.RegistrationWindow)
		if err != nil {
			return fmt.Errorf("record registration attempt: %w", err)
		}
		if !recorded {
			wait = waitWithin(retry, a.limits.RegistrationWindow)
		}
		return nil
	})
	return wait, err
}

// errRollback ends a transaction that must leave nothing behind.
var errRollback = errors.New("roll back")

// waitWithin is how long a refused client is told to wait: at least a
// second, and never longer than the window. The statement measures from
// its transaction's start, which may trail a row recorded meanwhile by an
// attempt that took the lock first; without the bound that lag was added
// to the wait (a Retry-After of 901 s for a window of 900).
func waitWithin(d, window time.Duration) time.Duration {
	return max(time.Second, min(d, window))
}

// retryAfter is a Retry-After header's value: whole seconds, rounded up.
func retryAfter(d time.Duration) int32 {
	return int32(min(math.Ceil(d.Seconds()), math.MaxInt32))
}
