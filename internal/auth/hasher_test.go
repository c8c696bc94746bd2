package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHasherTurnsAwayBeyondItsQueue(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, 1, 0, time.Minute)
	if err := h.acquire(ctx); err != nil { // hold the only slot
		t.Fatal(err)
	}
	if _, err := h.Hash(ctx, "secret-pass"); !errors.Is(err, ErrBusy) {
		t.Fatalf("no queue, slot taken: err = %v, want ErrBusy", err)
	}
	h.release()
	hash, err := h.Hash(ctx, "secret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if fresh, err := h.Verify(ctx, hash, "secret-pass"); err != nil || fresh != "" {
		t.Fatalf("Verify = %q, %v", fresh, err)
	}
	if _, err := h.Verify(ctx, hash, "wrong-pass"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: err = %v", err)
	}
}

func TestHasherQueueWaitsBoundedly(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, 1, 1, 50*time.Millisecond)
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	// The one queue place is taken by a caller that waits in vain.
	if err := h.acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("wait exceeded: err = %v, want ErrBusy", err)
	}
	// A waiter gets the slot when it is released.
	got := make(chan error, 1)
	h.wait = time.Minute
	h.queued.Init()
	go func() { got <- h.acquire(ctx) }()
	h.queued.WaitOrTimeout(t)
	// The queue is full now: the next caller is turned away at once.
	if err := h.acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("queue full: err = %v, want ErrBusy", err)
	}
	h.release()
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
	h.release()
	// A caller whose request ends stops waiting.
	if err := h.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.acquire(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err = %v", err)
	}
}

// newHasher returns a Hasher with the default (production) parameters.
func newHasher(t *testing.T, concurrency, queue int, wait time.Duration) *Hasher {
	t.Helper()
	h, err := NewHasher(DefaultPasswordParams(), concurrency, queue, wait)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
