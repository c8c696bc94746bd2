package messages

import (
	"time"

	"tim/internal/reply"
)

// CommitterOption adjusts a new Committer.
type CommitterOption func(*Committer)

// WithObserver has f called after each batch's commit, from the committer
// goroutine, with the batch's sends, the messages it stored, how long the
// commit took and the error its senders got (nil when it was committed).
func WithObserver(f func(sends, stored int, took time.Duration, err error)) CommitterOption {
	return func(c *Committer) { c.observe = f }
}

// WithBatchEnd has f called from the committer goroutine after each batch,
// once publish and every sender's done callback have run: what they queued
// for one batch can then go out together.
func WithBatchEnd(f func()) CommitterOption {
	return func(c *Committer) { c.batchEnd = f }
}

// WithChangeMarks sets how old a conversation's change mark must be before
// a commit moves it (store.Queries.MessageCommitBatch): in between, the
// conversation's row is updated in place (HOT). Whoever reads the marks
// (store.Queries.ConversationsChanged) waits that much longer. Default
// DefaultMarkEvery.
func WithChangeMarks(every time.Duration) CommitterOption {
	return func(c *Committer) { c.markEvery = every }
}

// batchError is the error a batch failed with, if it failed: refusals of
// single sends (no right, no such media) are not failures.
func batchError(batch []*pending) error {
	for _, p := range batch {
		if _, refused := reply.As(p.err); p.err != nil && !refused {
			return p.err
		}
	}
	return nil
}
