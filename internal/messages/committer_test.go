package messages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"tim/internal/reply"
	"tim/internal/store"
	"tim/internal/testdb"
	"tim/internal/testlog"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// fixture: accounts a, b, c; a and b are friends; group 1 has a and b.
type fixture struct {
	ctx context.Context
	url string
	log *slog.Logger
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	logger := testlog.Logger(t, slog.LevelWarn)
	f := fixture{ctx: ctx, url: testdb.New(t), log: logger}
	st := f.store(t)
	if err := st.Migrate(ctx, logger); err != nil {
		t.Fatal(err)
	}
	for _, acc := range []string{"a", "b", "c"} {
		if _, err := st.UserInsert(ctx, store.NewUser{Account: acc, Username: acc, PasswordHash: "x", Sex: "male", Age: 20}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.FriendshipInsertPair(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := st.GroupInsertIfMissing(ctx, 1, "g", "a"); err != nil {
		t.Fatal(err)
	}
	for _, acc := range []string{"a", "b"} {
		if err := st.GroupMemberInsert(ctx, 1, acc, store.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// store opens a store of its own, as another instance would.
func (f fixture) store(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(f.ctx, f.url, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// recorder collects what a committer publishes; gate, when set, holds the
// committer in its first publish until it is closed.
type recorder struct {
	mu      sync.Mutex
	batches [][]Committed
	gate    chan struct{}
	held    chan struct{}
}

func (r *recorder) publish(msgs []Committed) {
	r.mu.Lock()
	first := len(r.batches) == 0
	r.batches = append(r.batches, append([]Committed(nil), msgs...))
	r.mu.Unlock()
	if first && r.gate != nil {
		close(r.held)
		<-r.gate
	}
}

func (r *recorder) all() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Message
	for _, b := range r.batches {
		for _, m := range b {
			out = append(out, m.Message)
		}
	}
	return out
}

func newCommitter(t *testing.T, st *store.Store, r *recorder, log *slog.Logger) *Committer {
	c, err := NewCommitter(context.Background(), st, log, r.publish, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type result struct {
	m   Message
	err error
}

// queueAll queues sends and returns a function that waits for their
// results, checking that answers come in queue order.
func queueAll(t *testing.T, c *Committer, sends []Send) func() []result {
	t.Helper()
	out := make([]result, len(sends))
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	wg.Add(len(sends))
	for i, s := range sends {
		c.SendAsync(s, func(m Message, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if i != next {
				t.Errorf("send %d answered before send %d", i, next)
			}
			next = i + 1
			out[i] = result{m, err}
		})
	}
	return func() []result { wg.Wait(); return out }
}

func sendAll(t *testing.T, c *Committer, sends []Send) []result {
	t.Helper()
	return queueAll(t, c, sends)()
}

func TestCommitterBatchesInOrder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := &recorder{gate: make(chan struct{}), held: make(chan struct{})}
	c := newCommitter(t, f.store(t), r, f.log)

	// The first send commits alone and its publish holds the committer,
	// so that every later send is waiting when it collects the next batch.
	first := make(chan result, 1)
	c.SendAsync(Send{Sender: "a", To: "b", Body: "first"}, func(m Message, err error) { first <- result{m, err} })
	<-r.held
	pic := f.mediaOf(t, "b", "chatpic", "image/png")
	var sends []Send
	for i := range 300 {
		switch i % 3 {
		case 0:
			sends = append(sends, Send{Sender: "a", To: "b", Body: fmt.Sprint(i), Origin: uint64(i)})
		case 1:
			sends = append(sends, Send{Sender: "b", To: "a", Body: pic, Kind: KindImage})
		default:
			sends = append(sends, Send{Sender: "b", GroupID: 1, Body: fmt.Sprint(i)})
		}
	}
	// Everything is queued (the queue holds more) before the committer
	// goes on.
	wait := queueAll(t, c, sends)
	close(r.gate)
	if res := <-first; res.err != nil || res.m.Seq != 1 {
		t.Fatalf("first send: %+v", res)
	}
	results := wait()

	if len(r.batches) != 2 || len(r.batches[1]) != len(sends) {
		sizes := []int{}
		for _, b := range r.batches {
			sizes = append(sizes, len(b))
		}
		t.Fatalf("published batches of %v, want [1 %d]", sizes, len(sends))
	}
	// Seqs follow queue order in each conversation, with no gap, and the
	// published messages are the acknowledged ones, in the same order.
	want := map[string]int64{DirectKey("a", "b"): 1, GroupKey(1): 0}
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("send %d: %v", i, res.err)
		}
		m := res.m
		want[m.Conv]++
		if m.Seq != want[m.Conv] || m.Body != sends[i].Body || m.ID == 0 || m.Time.IsZero() {
			t.Fatalf("send %d: got %+v, want seq %d", i, m, want[m.Conv])
		}
		if kind := sends[i].Kind; (kind == "" && m.Kind != KindText) || (kind != "" && m.Kind != kind) {
			t.Fatalf("send %d: kind %q", i, m.Kind)
		}
		if p := r.batches[1][i]; p.Message != m || p.Origin != sends[i].Origin {
			t.Fatalf("published %+v, acknowledged %+v from origin %d", p, m, sends[i].Origin)
		}
	}
	stored, err := NewReader(f.store(t)).After(f.ctx, DirectKey("a", "b"), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(stored)) != want[DirectKey("a", "b")] {
		t.Fatalf("stored %d direct messages", len(stored))
	}
	for i, m := range stored {
		if m.Seq != int64(i+1) {
			t.Fatalf("stored seq %d at %d", m.Seq, i)
		}
	}
}

func TestCommitterIdempotent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := &recorder{}
	c := newCommitter(t, f.store(t), r, f.log)

	// The same client id twice in one batch, then again in a later one,
	// even with another text: one message.
	res := sendAll(t, c, []Send{
		{Sender: "a", To: "b", Body: "hi", ClientMsgID: "x"},
		{Sender: "a", To: "b", Body: "hi", ClientMsgID: "x"},
	})
	again, err := c.Send(Send{Sender: "a", To: "b", Body: "changed", ClientMsgID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Message{res[0].m, res[1].m, again} {
		if res[0].err != nil || res[1].err != nil || m.ID != res[0].m.ID || m.Seq != 1 || m.Body != "hi" || m.ClientMsgID != "x" {
			t.Fatalf("got %+v and %+v, %+v", res[0], res[1], again)
		}
	}
	// Another sender may use the same client id.
	other, err := c.Send(Send{Sender: "b", To: "a", Body: "yo", ClientMsgID: "x"})
	if err != nil || other.ID == res[0].m.ID || other.Seq != 2 {
		t.Fatalf("other sender: %+v %v", other, err)
	}
	if got := len(r.all()); got != 2 {
		t.Fatalf("published %d messages, want 2", got)
	}
}

func TestCommitterRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	r := &recorder{}
	st := f.store(t)
	c := newCommitter(t, st, r, f.log)

	res := sendAll(t, c, []Send{
		{Sender: "a", To: "c", Body: "not a friend"},
		{Sender: "a", To: "b", Body: "ok"},
		{Sender: "c", GroupID: 1, Body: "not a member"},
		{Sender: "a", GroupID: 2, Body: "no such group"},
		{Sender: "b", GroupID: 1, Body: "ok"},
	})
	for i, want := range []error{reply.NotFriends, nil, reply.NotGroupMember, reply.NotGroupMember, nil} {
		if !errors.Is(res[i].err, want) {
			t.Fatalf("send %d: %+v", i, res[i])
		}
	}
	if res[1].m.Seq != 1 || res[4].m.Seq != 1 {
		t.Fatalf("allowed sends: %+v, %+v", res[1].m, res[4].m)
	}
	reader := NewReader(st)
	for _, conv := range []string{DirectKey("a", "c"), GroupKey(2)} {
		if msgs, err := reader.After(f.ctx, conv, 0, 10); err != nil || len(msgs) != 0 {
			t.Fatalf("%s: stored %v, %v", conv, msgs, err)
		}
	}
	if got := len(r.all()); got != 2 {
		t.Fatalf("published %d messages, want 2", got)
	}
}

// Two committers on two pools, as two instances, send to the same
// conversations at once: every seq is used once, with no gap, and each
// committer's sends keep their order.
func TestCommittersGapFree(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const n = 400
	committers := []*Committer{
		newCommitter(t, f.store(t), &recorder{}, f.log),
		newCommitter(t, f.store(t), &recorder{}, f.log),
	}
	results := make([][]result, len(committers))
	var wg sync.WaitGroup
	for k, c := range committers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sends []Send
			for i := range n {
				if i%2 == 0 {
					sends = append(sends, Send{Sender: "a", To: "b", Body: fmt.Sprintf("%d-%d", k, i)})
				} else {
					sends = append(sends, Send{Sender: "b", GroupID: 1, Body: fmt.Sprintf("%d-%d", k, i), ClientMsgID: fmt.Sprintf("%d-%d", k, i)})
				}
			}
			results[k] = sendAll(t, c, sends)
		}()
	}
	wg.Wait()
	for k, res := range results {
		last := map[string]int64{}
		for i, r := range res {
			if r.err != nil {
				t.Fatalf("committer %d send %d: %v", k, i, r.err)
			}
			if r.m.Seq <= last[r.m.Conv] {
				t.Fatalf("committer %d: seq %d after %d in %s", k, r.m.Seq, last[r.m.Conv], r.m.Conv)
			}
			last[r.m.Conv] = r.m.Seq
		}
	}
	reader := NewReader(f.store(t))
	for _, conv := range []string{DirectKey("a", "b"), GroupKey(1)} {
		msgs, err := reader.After(f.ctx, conv, 0, 10*n)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != n {
			t.Fatalf("%s: %d messages, want %d", conv, len(msgs), n)
		}
		for i, m := range msgs {
			if m.Seq != int64(i+1) {
				t.Fatalf("%s: seq %d at %d", conv, m.Seq, i)
			}
		}
	}
}

// TestStalledDatabaseFailsSendsInTime: when the database holds a send's
// conversation locked, the send fails once the commit timeout passes, and
// Abort fails the queued ones at once, instead of hanging every sender and
// the shutdown.
func TestStalledDatabaseFailsSendsInTime(t *testing.T) {
	f := setup(t)
	st := f.store(t)
	c, err := NewCommitter(f.ctx, st, f.log, func([]Committed) {}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Send(Send{Sender: "a", To: "b", Body: "first"}); err != nil {
		t.Fatal(err)
	}
	// Another session holds the conversation row's lock, as a stalled
	// writer would: a commit of its own that it neither ends nor rolls back
	// until the test is done.
	locked, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	unlock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unlock()
	held := make(chan error, 1)
	errRollback := errors.New("roll back")
	writer := f.store(t)
	go func() {
		held <- writer.Tx(f.ctx, func(q *store.Queries) error {
			_, err := q.MessageCommitBatch(f.ctx, []store.MessageSend{{
				Conv: DirectKey("a", "b"), UserA: "a", UserB: "b", Sender: "a", Recipient: "b", Kind: KindText, Body: "held",
			}}, DefaultMarkEvery)
			close(locked)
			if err != nil {
				return err
			}
			<-release
			return errRollback
		})
	}()
	<-locked
	if _, err := c.Send(Send{Sender: "a", To: "b", Body: "stalled"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send against a locked conversation: %v, want a deadline error", err)
	}
	c.Abort()
	if _, err := c.Send(Send{Sender: "b", To: "a", Body: "after abort"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("send after Abort: %v, want context.Canceled", err)
	}
	unlock()
	if err := <-held; !errors.Is(err, errRollback) {
		t.Fatalf("stalled writer: %v", err)
	}
	msgs, err := NewReader(st).After(f.ctx, DirectKey("a", "b"), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored, want only the first: %+v", len(msgs), msgs)
	}
}

// TestBatchEndFollowsEachBatch: the batch-end hook runs once per batch,
// after its publish and every one of its senders' callbacks, in the
// committer goroutine (so a callback may leave work for it unlocked).
func TestBatchEndFollowsEachBatch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var events []string // committer goroutine only, read after Close
	publish := func(msgs []Committed) { events = append(events, fmt.Sprintf("publish %d", len(msgs))) }
	c, err := NewCommitter(context.Background(), f.store(t), f.log, publish, 5*time.Second,
		WithBatchEnd(func() { events = append(events, "end") }))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		c.SendAsync(Send{Sender: "a", To: "b", Body: fmt.Sprint(i)}, func(Message, error) {
			events = append(events, "done")
			wg.Done()
		})
	}
	wg.Wait()
	c.Close()
	// Each batch: publish n, n × done, end.
	batches, sent := 0, 0
	for i := 0; i < len(events); {
		var n int
		if _, err := fmt.Sscanf(events[i], "publish %d", &n); err != nil || n == 0 || i+n+1 >= len(events)+1 {
			t.Fatalf("event %d is %q, want a batch's publish: %v", i, events[i], events)
		}
		for j := 1; j <= n; j++ {
			if events[i+j] != "done" {
				t.Fatalf("event %d is %q, want done: %v", i+j, events[i+j], events)
			}
		}
		if i+n+1 >= len(events) || events[i+n+1] != "end" {
			t.Fatalf("batch at event %d does not end with the hook: %v", i, events)
		}
		i += n + 2
		batches++
		sent += n
	}
	if sent != 50 || batches == 0 {
		t.Fatalf("%d sends in %d batches, want 50", sent, batches)
	}
}
