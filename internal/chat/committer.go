package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"tim/gen/db"
	"tim/internal/store"
)

// Send is one message a client asks to send: to an account or to a group.
type Send struct {
	Sender      string
	To          string
	GroupID     int64
	Kind        string
	Body        string
	ClientMsgID string // optional idempotency key, unique per sender
}

func (s Send) conv() string {
	if s.GroupID != 0 {
		return GroupKey(s.GroupID)
	}
	return DirectKey(s.Sender, s.To)
}

// MaxBatch is the most sends committed in one transaction.
const MaxBatch = 512

type pending struct {
	send Send
	done func(Message, error)
	msg  Message
	err  error
}

// Committer commits sends in batches: one goroutine collects the sends
// waiting at that moment (up to MaxBatch) and commits them in one
// transaction, then hands the new messages to publish in commit order.
type Committer struct {
	pool    *pgxpool.Pool
	logger  *slog.Logger
	publish func([]Message)

	mu     sync.RWMutex
	closed bool
	in     chan *pending
	done   chan struct{}
}

// NewCommitter starts a committer. publish receives every batch of new
// messages after its commit, in commit order, from one goroutine; repeated
// sends (same client id) are not published again.
func NewCommitter(pool *pgxpool.Pool, logger *slog.Logger, publish func([]Message)) *Committer {
	c := &Committer{pool: pool, logger: logger, publish: publish, in: make(chan *pending, 4*MaxBatch), done: make(chan struct{})}
	go c.run()
	return c
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
		done(Message{}, ErrClosed)
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
}

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
		c.commit(batch)
	}
}

// commit stores batch, retrying the whole transaction when a concurrent
// instance raced it (a deadlock, or the same client id committed meanwhile).
func (c *Committer) commit(batch []*pending) {
	// Sends repeating a client id within the batch follow the first one.
	leaders := make([]*pending, 0, len(batch))
	var followers map[*pending]*pending
	seen := map[[2]string]*pending{}
	for _, p := range batch {
		if p.send.ClientMsgID != "" {
			k := [2]string{p.send.Sender, p.send.ClientMsgID}
			if l, ok := seen[k]; ok {
				if followers == nil {
					followers = map[*pending]*pending{}
				}
				followers[p] = l
				continue
			}
			seen[k] = p
		}
		leaders = append(leaders, p)
	}

	var fresh []Message
	var err error
	for attempt := 0; ; attempt++ {
		fresh, err = c.commitOnce(leaders)
		if err == nil || attempt == 5 || !retryable(err) {
			break
		}
		c.logger.Warn("retrying message batch", slog.Int("attempt", attempt+1), slog.String("error", err.Error()))
	}
	if err != nil {
		c.logger.Error("commit messages", slog.Int("sends", len(leaders)), slog.String("error", err.Error()))
		for _, p := range leaders {
			p.err = err
		}
	}
	if len(fresh) > 0 {
		c.publish(fresh)
	}
	for f, l := range followers {
		f.msg, f.err = l.msg, l.err
	}
	for _, p := range batch {
		p.done(p.msg, p.err)
	}
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01", "23505": // serialization failure, deadlock, unique violation
			return true
		}
	}
	return false
}

// commitOnce runs one transaction for leaders, setting each one's msg or
// err, and returns the messages it created.
func (c *Committer) commitOnce(leaders []*pending) ([]Message, error) {
	ctx := context.Background()
	n := len(leaders)
	results := make([]Message, n)
	errs := make([]error, n)
	var fresh []Message
	err := store.InTx(ctx, c.pool, func(q *db.Queries) error {
		senders := make([]string, n)
		peers := make([]string, n)
		groups := make([]int64, n)
		for i, p := range leaders {
			senders[i], peers[i], groups[i] = p.send.Sender, p.send.To, p.send.GroupID
			errs[i] = ErrForbidden
		}
		allowed, err := q.MessageSendAllowed(ctx, db.MessageSendAllowedParams{Senders: senders, Peers: peers, GroupIds: groups})
		if err != nil {
			return fmt.Errorf("check senders: %w", err)
		}
		ok := make([]bool, n)
		for _, i := range allowed {
			ok[i-1] = true
			errs[i-1] = nil
		}

		// Sends whose client id is already stored get the stored message.
		var idSenders, ids []string
		for i, p := range leaders {
			if ok[i] && p.send.ClientMsgID != "" {
				idSenders = append(idSenders, p.send.Sender)
				ids = append(ids, p.send.ClientMsgID)
			}
		}
		stored := map[[2]string]Message{}
		if len(ids) > 0 {
			rows, err := q.MessageListByClientIDs(ctx, db.MessageListByClientIDsParams{Senders: idSenders, ClientMsgIds: ids})
			if err != nil {
				return fmt.Errorf("find repeated sends: %w", err)
			}
			for _, r := range rows {
				m := messageFromRow(r)
				stored[[2]string{m.Sender, m.ClientMsgID}] = m
			}
		}

		// Reserve seqs per conversation, in batch order.
		counts := map[string]int64{}
		var keys []string
		var ins []int
		for i, p := range leaders {
			if !ok[i] {
				continue
			}
			if m, dup := stored[[2]string{p.send.Sender, p.send.ClientMsgID}]; dup && p.send.ClientMsgID != "" {
				results[i] = m
				continue
			}
			k := p.send.conv()
			if counts[k] == 0 {
				keys = append(keys, k)
			}
			counts[k]++
			ins = append(ins, i)
		}
		if len(ins) == 0 {
			return nil
		}
		sort.Strings(keys)
		usersA := make([]string, len(keys))
		usersB := make([]string, len(keys))
		gids := make([]int64, len(keys))
		ns := make([]int64, len(keys))
		for i, k := range keys {
			usersA[i], usersB[i], gids[i], _ = ParseKey(k)
			ns[i] = counts[k]
		}
		if err := q.ConversationInsertMissing(ctx, db.ConversationInsertMissingParams{Keys: keys, UsersA: usersA, UsersB: usersB, GroupIds: gids}); err != nil {
			return fmt.Errorf("create conversations: %w", err)
		}
		if _, err := q.ConversationLockOrdered(ctx, keys); err != nil {
			return fmt.Errorf("lock conversations: %w", err)
		}
		bumped, err := q.ConversationBumpSeq(ctx, db.ConversationBumpSeqParams{Keys: keys, Counts: ns})
		if err != nil {
			return fmt.Errorf("reserve seqs: %w", err)
		}
		next := make(map[string]int64, len(bumped))
		for _, r := range bumped {
			next[r.Key] = r.LastSeq - counts[r.Key] + 1
		}
		arg := db.MessageInsertBatchParams{
			Convs: make([]string, len(ins)), Seqs: make([]int64, len(ins)), Senders: make([]string, len(ins)),
			Recipients: make([]string, len(ins)), GroupIds: make([]int64, len(ins)), Kinds: make([]string, len(ins)),
			Bodies: make([]string, len(ins)), ClientMsgIds: make([]string, len(ins)),
		}
		for j, i := range ins {
			s := leaders[i].send
			k := s.conv()
			seq, found := next[k]
			if !found {
				return fmt.Errorf("conversation %s was not reserved", k)
			}
			next[k]++
			kind := s.Kind
			if kind == "" {
				kind = KindText
			}
			results[i] = Message{Conv: k, Seq: seq, Sender: s.Sender, Recipient: s.To, GroupID: s.GroupID, Kind: kind, Body: s.Body, ClientMsgID: s.ClientMsgID}
			if s.GroupID != 0 {
				results[i].Recipient = ""
			}
			arg.Convs[j], arg.Seqs[j], arg.Senders[j], arg.Recipients[j] = k, seq, s.Sender, results[i].Recipient
			arg.GroupIds[j], arg.Kinds[j], arg.Bodies[j], arg.ClientMsgIds[j] = s.GroupID, kind, s.Body, s.ClientMsgID
		}
		rows, err := q.MessageInsertBatch(ctx, arg)
		if err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
		type at struct {
			conv string
			seq  int64
		}
		inserted := make(map[at]db.MessageInsertBatchRow, len(rows))
		for _, r := range rows {
			inserted[at{r.Conv, r.Seq}] = r
		}
		fresh = make([]Message, 0, len(ins))
		for _, i := range ins {
			r, found := inserted[at{results[i].Conv, results[i].Seq}]
			if !found || r.ID == nil {
				return fmt.Errorf("message %s/%d was not inserted", results[i].Conv, results[i].Seq)
			}
			results[i].ID, results[i].Time = *r.ID, r.CreatedAt.Time
			fresh = append(fresh, results[i])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, p := range leaders {
		p.msg, p.err = results[i], errs[i]
	}
	return fresh, nil
}
