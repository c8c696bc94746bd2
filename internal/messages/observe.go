package messages

import (
	"errors"
	"time"
)

// CommitterOption adjusts a new Committer.
type CommitterOption func(*Committer)

// WithObserver has f called after each batch's commit, from the committer
// goroutine, with the batch's sends, the messages it stored, how long the
// commit took and the error its senders got (nil when it was committed).
func WithObserver(f func(sends, stored int, took time.Duration, err error)) CommitterOption {
	return func(c *Committer) { c.observe = f }
}

// batchError is the error a batch failed with, if it failed: refusals of
// single sends (ErrForbidden) are not failures.
func batchError(batch []*pending) error {
	for _, p := range batch {
		if p.err != nil && !errors.Is(p.err, ErrForbidden) {
			return p.err
		}
	}
	return nil
}
