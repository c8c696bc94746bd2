package messages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"tim/internal/reply"
	"tim/internal/store"
)

// Send is one message a client asks to send: to an account or to a group.
type Send struct {
	Sender      string
	To          string
	GroupID     int64
	Kind        string
	Body        string
	ClientMsgID string // optional idempotency key, unique per sender and conversation
	// Origin is the caller's name for the connection the send came from,
	// handed back with the new message to publish (0: none).
	Origin uint64
}

// Committed is a new message as publish receives it, with the Origin of the
// send that created it.
type Committed struct {
	Message
	Origin uint64
}

func (s Send) conv() string {
	if s.GroupID != 0 {
		return GroupKey(s.GroupID)
	}
	return DirectKey(s.Sender, s.To)
}

// MaxBatch is the most sends committed in one transaction.
const MaxBatch = 512

// DefaultMarkEvery is the committer's default for WithChangeMarks.
const DefaultMarkEvery = time.Second

type pending struct {
	send Send
	done func(Message, error)
	msg  Message
	err  error
}

// Committer commits sends in batches: one goroutine collects the sends
// waiting at that moment (up to MaxBatch) and commits them in one
// statement, then hands the new messages to publish in commit order.
type Committer struct {
	q         *store.Store // the committer's own connections, with a statement timeout
	logger    *slog.Logger
	publish   func([]Committed)
	batchEnd  func()          // see WithBatchEnd
	timeout   time.Duration   // bounds one batch's commit
	markEvery time.Duration   // see WithChangeMarks
	base      context.Context // ends when Abort is called
	abort     context.CancelFunc

	mu     sync.RWMutex
	closed bool
	in     chan *pending
	done   chan struct{}

	observe func(sends, stored int, took time.Duration, err error) // see WithObserver
}

// NewCommitter starts a committer. publish receives every batch of new
// messages after its commit, in commit order, from one goroutine; repeated
// sends (same client id) are not published again. A batch that cannot be
// committed within timeout fails with context.DeadlineExceeded.
//
// The committer opens connections of its own, configured like st's but
// with timeout as the server's statement timeout
// (store.WithStatementTimeout): a stalled commit is cancelled by PostgreSQL
// itself, so a send that fails with the deadline was not stored. (A
// deadline on the client side alone cannot promise that: the server may
// still commit a statement whose client gave up.)
func NewCommitter(ctx context.Context, st *store.Store, logger *slog.Logger, publish func([]Committed), timeout time.Duration, opts ...CommitterOption) (*Committer, error) {
	own, err := st.WithStatementTimeout(ctx, timeout, 2)
	if err != nil {
		return nil, fmt.Errorf("open committer connections: %w", err)
	}
	c := &Committer{q: own, logger: logger, publish: publish, timeout: timeout, markEvery: DefaultMarkEvery,
		in: make(chan *pending, 4*MaxBatch), done: make(chan struct{})}
	c.base, c.abort = context.WithCancel(context.Background())
	for _, o := range opts {
		o(c)
	}
	go c.run()
	return c, nil
}

// Send commits s and returns the stored message, which is the earlier one
// when s repeats a client id. The message is committed before Send returns
// and before publish sees it. Once queued, the send is committed or refused
// even if the caller goes away, so Send takes no context.
func (c *Committer) Send(s Send) (Message, error) {
	var m Message
	var err error
	done := make(chan struct{})
	c.SendAsync(s, func(msg Message, e error) {
		m, err = msg, e
		close(done)
	})
	<-done
	return m, err
}

// SendAsync queues s and returns; done is called from the committer
// goroutine once s is committed or refused, in queue order, so it must not
// block. SendAsync blocks only while the queue is full.
func (c *Committer) SendAsync(s Send, done func(Message, error)) {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		done(Message{}, reply.ShuttingDown)
		return
	}
	c.in <- &pending{send: s, done: done}
	c.mu.RUnlock()
}

// Close stops accepting sends, commits those already queued and waits.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.in)
	}
	c.mu.Unlock()
	<-c.done
	c.abort()
	c.q.Close()
}

// Abort fails the commit in flight and those still queued at once, with
// context.Canceled; for a shutdown that ran out of time. (The batch in
// flight may have been committed all the same; its senders resend, and a
// clientMsgId keeps that from storing it twice.) Close still waits
// for them.
func (c *Committer) Abort() { c.abort() }

func (c *Committer) run() {
	defer close(c.done)
	batch := make([]*pending, 0, MaxBatch)
	for p := range c.in {
		batch = append(batch[:0], p)
	collect:
		for len(batch) < MaxBatch {
			select {
			case p, ok := <-c.in:
				if !ok {
					break collect
				}
				batch = append(batch, p)
			default:
				break collect
			}
		}
		start := time.Now()
		fresh := c.commit(batch)
		if c.observe != nil {
			c.observe(len(batch), len(fresh), time.Since(start), batchError(batch))
		}
		if len(fresh) > 0 {
			c.publish(fresh)
		}
		for _, p := range batch {
			p.done(p.msg, p.err)
		}
		if c.batchEnd != nil {
			c.batchEnd()
		}
		clear(batch)
	}
}

// commit stores batch, retrying the whole statement when a concurrent
// committer raced it (a deadlock, or the same client id committed
// meanwhile), sets each send's msg or err and returns the new messages.
func (c *Committer) commit(batch []*pending) []Committed {
	// Sends repeating a client id in one conversation within the batch
	// follow the first one.
	leaders := make([]*pending, 0, len(batch))
	var followers map[*pending]*pending
	var seen map[[3]string]*pending
	for _, p := range batch {
		if p.send.ClientMsgID != "" {
			k := [3]string{p.send.Sender, p.send.conv(), p.send.ClientMsgID}
			if l, ok := seen[k]; ok {
				if followers == nil {
					followers = map[*pending]*pending{}
				}
				followers[p] = l
				continue
			}
			if seen == nil {
				seen = map[[3]string]*pending{}
			}
			seen[k] = p
		}
		leaders = append(leaders, p)
	}

	var fresh []Committed
	var err error
	for attempt := 0; ; attempt++ {
		fresh, err = c.commitOnce(leaders)
		if err == nil || attempt == 5 || !retryable(err) {
			break
		}
		c.logger.WarnContext(c.base, "retrying message batch", slog.Int("attempt", attempt+1), slog.Any("err", err))
	}
	if err != nil {
		c.logger.ErrorContext(c.base, "commit messages", slog.Int("sends", len(leaders)), slog.Any("err", err))
		for _, p := range leaders {
			p.err = err
		}
	}
	for f, l := range followers {
		f.msg, f.err = l.msg, l.err
	}
	return fresh
}

// retryable reports whether a commit failed for racing a concurrent
// committer: a serialization failure or deadlock, or the same client id
// committed meanwhile.
func retryable(err error) bool {
	return errors.Is(err, store.ErrSerialization) || errors.Is(err, store.ErrConflict)
}

// commitOnce commits leaders in one statement, setting each one's msg or
// err, and returns the messages it created, in batch order.
func (c *Committer) commitOnce(leaders []*pending) ([]Committed, error) {
	// The server cancels the statement at c.timeout; the client gives up a
	// little later, for a connection that stalls.
	ctx, cancel := context.WithTimeout(c.base, c.timeout+2*time.Second)
	defer cancel()
	n := len(leaders)
	sends := make([]store.MessageSend, n)
	results := make([]Message, n)
	for i, p := range leaders {
		s := p.send
		kind := s.Kind
		if kind == "" {
			kind = KindText
		}
		m := Message{Sender: s.Sender, GroupID: s.GroupID, Kind: kind, Body: s.Body, ClientMsgID: s.ClientMsgID}
		send := store.MessageSend{
			Sender: s.Sender, GroupID: s.GroupID, Kind: kind, Body: s.Body, ClientMsgID: s.ClientMsgID, MediaKind: mediaKind(kind),
		}
		if s.GroupID != 0 {
			m.Conv = GroupKey(s.GroupID)
		} else {
			m.Conv, m.Recipient = DirectKey(s.Sender, s.To), s.To
			send.UserA, send.UserB, _, _ = ParseKey(m.Conv)
		}
		send.Conv, send.Recipient = m.Conv, m.Recipient
		results[i], sends[i] = m, send
	}
	// One statement in its own transaction: one round trip. A statement
	// the server timed out fails with context.DeadlineExceeded.
	rows, err := c.q.MessageCommitBatch(ctx, sends, c.markEvery)
	if err != nil {
		return nil, fmt.Errorf("commit messages: %w", err)
	}
	status := make([]store.CommitStatus, n)
	mutedUntil := make([]time.Time, n)
	for _, r := range rows {
		i := r.Index
		if i < 0 || i >= n || status[i] != "" {
			return nil, fmt.Errorf("commit messages: unexpected row for send %d", i+1)
		}
		status[i], mutedUntil[i] = r.Status, r.MutedUntil
		results[i].ID, results[i].Seq, results[i].Time, results[i].Media = r.ID, r.Seq, r.Time, r.Media
	}
	fresh := make([]Committed, 0, len(rows))
	for i, p := range leaders {
		switch status[i] {
		case store.CommitNew:
			p.msg, p.err = results[i], nil
			fresh = append(fresh, Committed{Message: results[i], Origin: p.send.Origin})
		case store.CommitRepeated:
			p.msg, p.err = c.storedMessage(ctx, results[i])
		case store.CommitForbidden:
			p.msg, p.err = Message{}, forbidden(p.send)
		case store.CommitBlocked:
			p.msg, p.err = Message{}, reply.NoPermission
		case store.CommitBlocking:
			p.msg, p.err = Message{}, reply.YouBlock
		case store.CommitNoMedia:
			p.msg, p.err = Message{}, reply.FileNotFound
		case store.CommitWrongKind:
			p.msg, p.err = Message{}, wrongMedia(p.send.Kind)
		case store.CommitNotOwner:
			p.msg, p.err = Message{}, reply.NotOwnUpload
		case store.CommitMuted:
			p.msg, p.err = Message{}, mutedRefusal(mutedUntil[i])
		default: // no row: the statement and this code disagree
			p.msg, p.err = Message{}, fmt.Errorf("commit messages: send %d ended %q", i+1, status[i])
		}
	}
	return fresh, nil
}

// mutedRefusal is the refusal of a send whose sender is muted until until,
// or, when until is zero, in a group muted as a whole.
func mutedRefusal(until time.Time) error {
	if until.IsZero() {
		return reply.Muted
	}
	return reply.MutedUntil(until)
}

// storedMessage reads the message stored under m's sender, conversation
// and client id.
func (c *Committer) storedMessage(ctx context.Context, m Message) (Message, error) {
	r, err := c.q.MessageGetByClientID(ctx, m.Sender, m.Conv, m.ClientMsgID)
	if err != nil {
		return Message{}, fmt.Errorf("read repeated send: %w", err)
	}
	return Message(r), nil
}
