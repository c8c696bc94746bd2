package main

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// convKey names one direct conversation as its recipient sees it.
type convKey struct{ recipient, peer string }

// ledger compares the seqs acknowledged to senders with the seqs their
// recipients received, over every connection each recipient opened. Its
// figures depend on what was received, never on timing.
type ledger struct {
	mu    sync.Mutex
	convs map[convKey]*convLedger
	conns map[string]int // connections opened, by class
	stray int64          // messages in conversations nobody expected
}

// convLedger is one conversation's account.
type convLedger struct {
	class   string // how the recipient behaves, for the report
	acked   map[int64]struct{}
	got     map[int64]int32 // seq -> connections it arrived on
	missing int             // acked seqs not received yet
	upTo    int64           // every seq up to this one was received

	repeated             int64 // arrivals of a seq already received on an earlier connection
	disorder, dups, gaps int64 // within one connection
}

func newLedger() *ledger {
	return &ledger{convs: map[convKey]*convLedger{}, conns: map[string]int{}}
}

// expect registers a conversation whose recipient behaves as class.
func (l *ledger) expect(k convKey, class string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.convs[k] == nil {
		l.convs[k] = &convLedger{class: class, acked: map[int64]struct{}{}, got: map[int64]int32{}}
	}
}

// acked records that the server acknowledged seq of conversation k to its
// sender.
func (l *ledger) acked(k convKey, seq int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.convs[k]
	if c == nil {
		l.stray++
		return
	}
	if _, dup := c.acked[seq]; dup {
		return
	}
	c.acked[seq] = struct{}{}
	if c.got[seq] == 0 {
		c.missing++
	}
}

// missing is how many of conversation k's acked seqs were not received yet.
func (l *ledger) missing(k convKey) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.convs[k]; c != nil {
		return c.missing
	}
	return 0
}

// missingFor is how many acked seqs recipient has not received yet, over
// all its conversations.
func (l *ledger) missingFor(recipient string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, c := range l.convs {
		if k.recipient == recipient {
			n += c.missing
		}
	}
	return n
}

// contiguous is the newest seq of conversation k up to which the recipient
// received everything: what an ack-mode client acknowledges.
func (l *ledger) contiguous(k convKey) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.convs[k]; c != nil {
		return c.upTo
	}
	return 0
}

// connection starts the account of one new connection of a recipient of
// class. A connTally belongs to the goroutine reading that connection.
func (l *ledger) connection(class string) *connTally {
	l.mu.Lock()
	l.conns[class]++
	l.mu.Unlock()
	return &connTally{l: l, convs: map[convKey]*connConv{}}
}

// connTally checks the frames of one connection: in each conversation they
// must carry rising seqs, one by one, each once.
type connTally struct {
	l     *ledger
	convs map[convKey]*connConv
}

type connConv struct {
	last int64
	seen map[int64]struct{}
}

// received records seq of conversation k arriving on this connection and
// returns how many acked seqs of k are still missing.
func (t *connTally) received(k convKey, seq int64) int {
	cc := t.convs[k]
	first := cc == nil
	if first {
		cc = &connConv{seen: map[int64]struct{}{}}
		t.convs[k] = cc
	}
	_, again := cc.seen[seq]
	cc.seen[seq] = struct{}{}

	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.convs[k]
	if c == nil {
		l.stray++
		return 0
	}
	switch {
	case again:
		c.dups++
	case first:
	case seq < cc.last:
		c.disorder++
	case seq > cc.last+1:
		c.gaps++
	}
	if !again {
		if c.got[seq] > 0 {
			c.repeated++
		} else if _, ok := c.acked[seq]; ok {
			c.missing--
		}
		c.got[seq]++
		for c.got[c.upTo+1] > 0 {
			c.upTo++
		}
	}
	cc.last = max(cc.last, seq)
	return c.missing
}

// tally is the account of a class of recipients (or of all of them).
type tally struct {
	class        string
	convs, conns int
	acked        int64 // seqs acknowledged to senders
	received     int64 // distinct seqs received
	lost         int64 // acked and never received
	repeated     int64 // received again on a later connection
	beyondAcked  int64 // received but never acked (the sender missed the ack)
	disorder     int64 // within one connection: a seq older than one before it
	dups         int64 // within one connection: a seq received twice
	gaps         int64 // within one connection: a seq skipped
	stray        int64 // messages in conversations nobody expected
}

// ok is false when a message was lost or a connection broke the order.
func (t tally) ok() bool {
	return t.lost == 0 && t.disorder == 0 && t.dups == 0 && t.gaps == 0 && t.stray == 0
}

func (t *tally) add(o tally) {
	t.convs += o.convs
	t.conns += o.conns
	t.acked += o.acked
	t.received += o.received
	t.lost += o.lost
	t.repeated += o.repeated
	t.beyondAcked += o.beyondAcked
	t.disorder += o.disorder
	t.dups += o.dups
	t.gaps += o.gaps
	t.stray += o.stray
}

func (t tally) String() string {
	return fmt.Sprintf("acked %d, received %d (%d never acked), lost %d, repeated %d; within one connection: out of order %d, duplicates %d, gaps %d",
		t.acked, t.received, t.beyondAcked, t.lost, t.repeated, t.disorder, t.dups, t.gaps)
}

// summary returns the tally of each class, sorted by class, and the total.
func (l *ledger) summary() ([]tally, tally) {
	l.mu.Lock()
	defer l.mu.Unlock()
	by := map[string]*tally{}
	for _, c := range l.convs {
		t := by[c.class]
		if t == nil {
			t = &tally{class: c.class}
			by[c.class] = t
		}
		t.convs++
		t.acked += int64(len(c.acked))
		t.received += int64(len(c.got))
		t.lost += int64(c.missing)
		for seq := range c.got {
			if _, ok := c.acked[seq]; !ok {
				t.beyondAcked++
			}
		}
		t.repeated += c.repeated
		t.disorder += c.disorder
		t.dups += c.dups
		t.gaps += c.gaps
	}
	total := tally{class: "all", stray: l.stray}
	var out []tally
	for class, t := range by {
		t.conns = l.conns[class]
		out = append(out, *t)
		total.add(*t)
	}
	slices.SortFunc(out, func(a, b tally) int { return cmp.Compare(a.class, b.class) })
	return out, total
}
