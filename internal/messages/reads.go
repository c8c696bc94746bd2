package messages

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"tim/internal/reply"
	"tim/internal/store"
)

// A read is refused, and nothing changed, with reply.UserNotFound (the
// direct conversation's other party does not exist), reply.GroupNotFound,
// reply.NotGroupMember (the reader is not a member, or left),
// reply.NoConversation (the direct conversation has no messages),
// reply.BeyondEnd (seq is past the conversation's newest message) or
// reply.ShuttingDown. Other errors are failures.

// Read asks to move Reader's read cursor to Seq in the direct conversation
// with With, or in group GroupID (exactly one is set).
type Read struct {
	Reader  string
	With    string
	GroupID int64
	Seq     int64
}

// Conv is the read's conversation key.
func (r Read) Conv() string {
	if r.GroupID != 0 {
		return GroupKey(r.GroupID)
	}
	return DirectKey(r.Reader, r.With)
}

// Receipt is a read cursor after a Read.
type Receipt struct {
	Read
	// Cursor is the read cursor after the read: Seq when it moved, else the
	// cursor as it stood, at or past Seq.
	Cursor int64
	// Time is when the cursor reached Cursor.
	Time time.Time
	// Moved says the read moved the cursor; only then are receipts sent.
	Moved bool
	// Friends says the parties of a direct conversation are friends, so
	// the other party hears of the read.
	Friends bool
}

type pendingRead struct {
	read Read
	done func(Receipt, error)
}

// Reads moves read cursors in batches, as the Committer commits sends: one
// goroutine takes the reads waiting at that moment (up to MaxBatch) and
// stores them in one statement, so a busy server writes a few statements a
// second rather than one per read.
type Reads struct {
	store   convStore
	logger  *slog.Logger
	timeout time.Duration

	mu     sync.RWMutex
	closed bool
	in     chan *pendingRead
	done   chan struct{}
}

// NewReads starts the batcher; timeout bounds one batch's statement.
func NewReads(st *store.Store, logger *slog.Logger, timeout time.Duration) *Reads {
	r := &Reads{store: convStore{q: st}, logger: logger, timeout: timeout, in: make(chan *pendingRead, 4*MaxBatch), done: make(chan struct{})}
	go r.run()
	return r
}

// MarkAsync queues rd; done is called from the batcher goroutine once rd is
// stored or refused, so it must not block. It blocks only while the queue
// is full.
func (r *Reads) MarkAsync(rd Read, done func(Receipt, error)) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		done(Receipt{Read: rd}, reply.ShuttingDown)
		return
	}
	r.in <- &pendingRead{read: rd, done: done}
}

// Mark stores rd and returns the cursor after it. Once queued the read is
// stored or refused even if ctx ends first.
func (r *Reads) Mark(ctx context.Context, rd Read) (Receipt, error) {
	type result struct {
		rc  Receipt
		err error
	}
	ch := make(chan result, 1)
	r.MarkAsync(rd, func(rc Receipt, err error) { ch <- result{rc, err} })
	select {
	case res := <-ch:
		return res.rc, res.err
	case <-ctx.Done():
		return Receipt{Read: rd}, fmt.Errorf("mark read: %w", ctx.Err())
	}
}

// Close stops accepting reads, stores those queued and waits.
func (r *Reads) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.in)
	}
	r.mu.Unlock()
	<-r.done
}

func (r *Reads) run() {
	defer close(r.done)
	batch := make([]*pendingRead, 0, MaxBatch)
	for p := range r.in {
		batch = append(batch[:0], p)
	collect:
		for len(batch) < MaxBatch {
			select {
			case p, ok := <-r.in:
				if !ok {
					break collect
				}
				batch = append(batch, p)
			default:
				break collect
			}
		}
		reads := make([]Read, len(batch))
		for i, p := range batch {
			reads[i] = p.read
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		out, err := r.store.advanceReads(ctx, reads)
		cancel()
		if err != nil {
			r.logger.Error("store read cursors", slog.Int("reads", len(batch)), slog.Any("err", err))
		}
		for i, p := range batch {
			if err != nil {
				p.done(Receipt{Read: p.read}, err)
				continue
			}
			p.done(out[i].receipt, out[i].err)
		}
		clear(batch)
	}
}

// readOutcome is what the store made of one read.
type readOutcome struct {
	receipt Receipt
	err     error
}
