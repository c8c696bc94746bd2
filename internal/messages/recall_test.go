package messages

import (
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"tim/internal/realtime/frame"
	"tim/internal/reply"
)

// exec runs a statement the store has no method for (a fixture only a
// test needs) on a connection of its own.
func (f fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	pool, err := pgxpool.New(f.ctx, f.url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(f.ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
}

// TestRecall: the sender recalls within the window, in the socket's
// conversation or any it sees: the event takes the next seq after every
// message, names the recalled id, and the message keeps its seq but loses
// its body and media. Everyone else, a message of a conversation the
// account cannot see, a recall event, a recalled or an expired message is
// refused and changes nothing.
func TestRecall(t *testing.T) {
	t.Parallel()
	f := setup(t)
	st := f.store(t)
	c := newCommitter(t, st, &recorder{}, f.log)
	rd, rc := NewReader(st), NewRecaller(st)
	pic := f.media(t, "chatpic", "image/png")
	send := func(s Send) Message {
		t.Helper()
		m, err := c.Send(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	img := send(Send{Sender: "a", To: "b", Kind: KindImage, Body: pic})
	txt := send(Send{Sender: "b", To: "a", Body: "from b"})
	grp := send(Send{Sender: "a", GroupID: 1, Body: "to the group"})
	old := send(Send{Sender: "a", To: "b", Body: "old"})
	f.exec(t, "UPDATE messages SET created_at = now() - interval '3 minutes' WHERE id = $1", old.ID)
	direct := DirectKey("a", "b")
	window := 2 * time.Minute

	for _, tc := range []struct {
		name string
		req  RecallRequest
		want error
	}{
		{"recipient", RecallRequest{Account: "b", ID: img.ID}, reply.NotSender},
		{"outsider", RecallRequest{Account: "c", ID: img.ID}, reply.NoMessage},
		{"other socket's conversation", RecallRequest{Account: "a", ID: img.ID, Conv: GroupKey(1)}, reply.NoMessage},
		{"non-member", RecallRequest{Account: "c", ID: grp.ID}, reply.NoMessage},
		{"member not sender", RecallRequest{Account: "b", ID: grp.ID}, reply.NotSender},
		{"unknown id", RecallRequest{Account: "a", ID: 1 << 40}, reply.NoMessage},
		{"past the window", RecallRequest{Account: "a", ID: old.ID}, reply.RecallExpired},
		{"someone else's, recipient's conversation", RecallRequest{Account: "a", ID: txt.ID}, reply.NotSender},
	} {
		tc.req.Window = window
		if _, err := rc.Recall(f.ctx, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	if msgs, err := rd.After(f.ctx, direct, 0, 100); err != nil || len(msgs) != 3 || msgs[0].Recalled || msgs[0].Media == nil {
		t.Fatalf("refused recalls changed the conversation: %+v, %v", msgs, err)
	}

	ev, err := rc.Recall(f.ctx, RecallRequest{Account: "a", ID: img.ID, Conv: direct, Window: window})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Kind != KindRecall || ev.Seq != 4 || ev.Recalls != img.ID || ev.Sender != "a" || ev.Recipient != "b" || ev.Conv != direct || ev.ID == 0 || ev.Time.IsZero() {
		t.Fatalf("event %+v", ev)
	}
	if f := frame.RecallOf(ev.Framed()); f.Id != img.ID || f.Seq != 4 || f.By != "a" || f.With == nil || *f.With != "b" || f.GroupId != nil {
		t.Fatalf("recall frame %+v", f)
	}
	// Catch-up: the recalled message in place, the event at its own seq.
	msgs, err := rd.After(f.ctx, direct, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 || msgs[3].Seq != 4 || msgs[3].Kind != KindRecall || msgs[3].Recalls != img.ID {
		t.Fatalf("after the recall: %+v", msgs)
	}
	r := msgs[0]
	if r.ID != img.ID || r.Seq != img.Seq || !r.Recalled || r.Body != "" || r.Media != nil || r.Kind != KindImage {
		t.Fatalf("recalled message %+v", r)
	}
	if fr := frame.MessageOf(r.Framed()); fr.Recalled == nil || !*fr.Recalled || fr.Message != "" || fr.Media != nil {
		t.Fatalf("recalled frame %+v", fr)
	}
	// History lists messages only.
	hist, err := rd.after(f.ctx, direct, 0, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	if before, err := rd.Before(f.ctx, direct, 100, 100); err != nil || len(hist) != 3 || len(before) != 3 || !hist[0].Recalled || !before[0].Recalled {
		t.Fatalf("history %+v / %+v, %v", hist, before, err)
	}

	if _, err := rc.Recall(f.ctx, RecallRequest{Account: "a", ID: img.ID, Window: window}); !errors.Is(err, reply.Recalled) {
		t.Errorf("second recall: %v", err)
	}
	if _, err := rc.Recall(f.ctx, RecallRequest{Account: "a", ID: ev.ID, Window: window}); !errors.Is(err, reply.NoMessage) {
		t.Errorf("recall of the event: %v", err)
	}
	// A later message follows the event without a gap.
	if m := send(Send{Sender: "b", To: "a", Body: "after"}); m.Seq != 5 {
		t.Errorf("next message seq %d, want 5", m.Seq)
	}

	gev, err := rc.Recall(f.ctx, RecallRequest{Account: "a", ID: grp.ID, Window: window})
	if err != nil {
		t.Fatal(err)
	}
	if f := frame.RecallOf(gev.Framed()); f.Seq != 2 || f.GroupId == nil || *f.GroupId != 1 || f.With != nil || f.By != "a" {
		t.Fatalf("group recall frame %+v", f)
	}
}
