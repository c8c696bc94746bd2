package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tim/internal/testsignal"
)

// ErrBusy means a password hash or check did not run: every slot was taken
// and the queue was full, or the wait for a slot ran out.
var ErrBusy = errors.New("password hashing is busy")

// Hasher runs password hashes and checks a bounded number at a time. Each
// argon2id hash takes (by default) 19 MiB and most of a core for tens of
// milliseconds, so unbounded concurrency turns a burst of registrations or
// logins into gigabytes of memory and timeouts for everyone. A caller that
// finds every slot taken waits in a bounded queue for a bounded time, then
// gets ErrBusy.
type Hasher struct {
	params  PasswordParams
	slots   chan struct{} // one token per running hash
	waiting chan struct{} // one token per caller waiting for a slot
	wait    time.Duration
	queued  testsignal.Signal[struct{}] // a caller took a place in the queue
}

// NewHasher returns a Hasher that hashes with params, runs at most
// concurrency hashes at once (at least one) and lets at most queue callers
// wait, each for at most wait.
func NewHasher(params PasswordParams, concurrency, queue int, wait time.Duration) (*Hasher, error) {
	if err := params.Validate(); err != nil {
		return nil, fmt.Errorf("argon2id parameters: %w", err)
	}
	return &Hasher{
		params:  params,
		slots:   make(chan struct{}, max(concurrency, 1)),
		waiting: make(chan struct{}, max(queue, 0)),
		wait:    wait,
	}, nil
}

// RetryAfter is what to tell a client that got ErrBusy: about the time in
// which the queue turns over.
func (h *Hasher) RetryAfter() time.Duration { return max(h.wait, time.Second) }

// Hash returns an argon2id hash of password made with the Hasher's
// parameters (see HashPassword).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(password, h.params)
}

// Verify checks password against hash (see CheckPassword). When they match
// and the hash is stale (bcrypt, or made with other parameters than the
// Hasher's), fresh is a new argon2id hash of password, made in
// the same slot; otherwise fresh is empty. A wrong password is ErrMismatch.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (fresh string, err error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	stale, err := CheckPassword(hash, password, h.params)
	if err != nil || !stale {
		return "", err
	}
	fresh, err = HashPassword(password, h.params)
	if err != nil {
		return "", fmt.Errorf("rehash password: %w", err)
	}
	return fresh, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.waiting <- struct{}{}:
		h.queued.Signal(struct{}{})
	default:
		return ErrBusy
	}
	defer func() { <-h.waiting }()
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return fmt.Errorf("wait for a password hashing slot: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }
