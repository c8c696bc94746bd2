package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"tim/gen/models"
	"tim/internal/messages"
)

// readCursor is account's stored read cursor in conv, 0 when it has none.
func (e *env) readCursor(account, conv string) int64 {
	e.t.Helper()
	var seq int64
	err := e.pool.QueryRow(context.Background(), "SELECT read_seq FROM read_cursors WHERE account = $1 AND conv = $2", account, conv).Scan(&seq)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		e.t.Fatal(err)
	}
	return seq
}

// commit stores sends as the committer does for a socket, and tells every
// instance.
func (e *env) commit(sends ...messages.Send) {
	e.t.Helper()
	for _, s := range sends {
		if _, err := e.svc.committer.Send(s); err != nil {
			e.t.Fatal(err)
		}
	}
}

// opened reads a socket's opening frames and its n replayed messages.
func (c *client) opened(n int) {
	c.t.Helper()
	for range n {
		c.Message()
	}
}

func (c *client) receipt() models.ReceiptFrame {
	c.t.Helper()
	f := c.NextOf("receipt")
	var r models.ReceiptFrame
	b, _ := json.Marshal(f)
	if err := json.Unmarshal(b, &r); err != nil {
		c.t.Fatal(err)
	}
	return r
}

func (c *client) errorCode() float64 {
	c.t.Helper()
	f := c.Next()
	for f["type"] == "presence" || f["type"] == "group.presence" || f["type"] == "group.online" {
		f = c.Next()
	}
	if f["type"] != "error" {
		c.t.Fatalf("want an error frame, got %v", f)
	}
	return f["code"].(float64)
}

func read(with string, groupID, seq int64) models.ReadFrame {
	f := models.ReadFrame{Type: models.ReadFrameTypeRead, Seq: seq}
	if groupID != 0 {
		f.GroupId = &groupID
	} else {
		f.With = &with
	}
	return f
}

// TestReadReceiptsReachEveryDeviceOnEveryInstance: a read frame on one of
// b's sockets is stored, and the receipt reaches b's other device and a's
// user and one-to-one sockets on both instances, each with `with` seen from
// its side; a group read reaches b's sockets only; the cursor only moves
// forward; refused reads change nothing.
func TestReadReceiptsReachEveryDeviceOnEveryInstance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.peer()
	a, b := e.user("a"), e.user("b")
	e.user("c")
	e.befriend("a", "b")
	e.group(9, "a", "b")
	e.group(7, "a")
	e.commit(
		messages.Send{Sender: "a", To: "b", Body: "1"}, messages.Send{Sender: "a", To: "b", Body: "2"},
		messages.Send{Sender: "b", To: "a", Body: "3"}, messages.Send{Sender: "a", To: "b", Body: "4"},
		messages.Send{Sender: "a", GroupID: 9, Body: "g1"}, messages.Send{Sender: "a", GroupID: 9, Body: "g2"},
	)
	// ack=1: no cursor moves, so every socket replays everything.
	b1 := e.dial("/websocket/b?ack=1", b)
	b1.Next()
	b1.Next()
	b1.opened(6)
	b2 := p.dial("/websocket/b?ack=1", b)
	b2.Next()
	b2.Next()
	b2.opened(6)
	a1 := p.dial("/websocket/a?ack=1", a)
	a1.Next()
	a1.Next()
	a1.opened(6)
	a2 := e.dial("/websocket/OneToOne/a/b?ack=1", a)
	a2.Next()
	a2.opened(4)
	direct := messages.DirectKey("a", "b")

	b1.SendJSON(read("a", 0, 2))
	for _, c := range []*client{b1, b2, a1, a2} {
		r := c.receipt()
		with := "a"
		if c == a1 || c == a2 {
			with = "b"
		}
		if r.Reader != "b" || r.With == nil || *r.With != with || r.GroupId != nil || r.Seq != 2 || r.Time.IsZero() {
			t.Fatalf("receipt %+v, want reader b with %s seq 2", r, with)
		}
	}
	if got := e.readCursor("b", direct); got != 2 {
		t.Fatalf("stored read cursor %d, want 2", got)
	}

	// A group read goes to the reader's own sockets only.
	b1.SendJSON(read("", 9, 2))
	for _, c := range []*client{b1, b2} {
		if r := c.receipt(); r.Reader != "b" || r.GroupId == nil || *r.GroupId != 9 || r.With != nil || r.Seq != 2 {
			t.Fatalf("group receipt %+v", r)
		}
	}
	// Backwards changes nothing and sends nothing: the next receipt
	// everywhere is the one for seq 4 (a1 never saw the group's).
	b1.SendJSON(read("a", 0, 1))
	b1.SendJSON(read("a", 0, 4))
	for _, c := range []*client{b1, b2, a1, a2} {
		if r := c.receipt(); r.With == nil || r.Seq != 4 {
			t.Fatalf("receipt %+v, want the direct one at 4", r)
		}
	}

	// Refusals, each with its code, and nothing stored.
	for _, tc := range []struct {
		c     *client
		frame string
		code  float64
	}{
		{b1, `{"type":"read","with":"a","seq":5}`, 400},             // beyond the end
		{b1, `{"type":"read","groupId":9,"seq":3}`, 400},            // beyond the end
		{b1, `{"type":"read","with":"b","seq":1}`, 400},             // oneself
		{b1, `{"type":"read","with":"a","seq":0}`, 400},             // not positive
		{b1, `{"type":"read","with":"a","groupId":9,"seq":1}`, 400}, // both
		{a2, `{"type":"read","with":"c","seq":1}`, 400},             // not this socket's conversation
		{b1, `{"type":"read","with":"zz","seq":1}`, 404},            // unknown account
		{b1, `{"type":"read","with":"c","seq":1}`, 404},             // no conversation
		{b1, `{"type":"read","groupId":8,"seq":1}`, 404},            // unknown group
		{b1, `{"type":"read","groupId":7,"seq":1}`, 403},            // not a member
	} {
		tc.c.Send(tc.frame)
		if code := tc.c.errorCode(); code != tc.code {
			t.Fatalf("%s: error %v, want %v", tc.frame, code, tc.code)
		}
	}
	if d, g := e.readCursor("b", direct), e.readCursor("b", messages.GroupKey(9)); d != 4 || g != 2 {
		t.Fatalf("read cursors %d and %d after refusals, want 4 and 2", d, g)
	}
	if got := e.readCursor("b", messages.GroupKey(7)); got != 0 {
		t.Fatalf("non-member's cursor %d", got)
	}

	// Leaving a group ends the right to mark it read.
	e.leave(9, "b")
	b2.Send(`{"type":"read","groupId":9,"seq":1}`)
	if code := b2.errorCode(); code != 403 {
		t.Fatalf("read after leaving: error %v, want 403", code)
	}
}

// TestReadCursorsSurviveARestart: a stored read cursor is still there after
// the instance restarts: marking the same seq again moves nothing, the
// next seq moves it.
func TestReadCursorsSurviveARestart(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	e.commit(messages.Send{Sender: "a", To: "b", Body: "1"}, messages.Send{Sender: "a", To: "b", Body: "2"})
	cb := e.dial("/websocket/b?ack=1", b)
	cb.Next()
	cb.Next()
	cb.opened(2)
	cb.SendJSON(read("a", 0, 1))
	if r := cb.receipt(); r.Seq != 1 {
		t.Fatalf("receipt %+v", r)
	}
	e.restart()
	cb.Closed()
	ca := e.dial("/websocket/a?ack=1", a)
	ca.Next()
	ca.Next()
	ca.opened(2)
	cb = e.dial("/websocket/b?ack=1", b)
	cb.Next()
	cb.Next()
	cb.opened(2)
	cb.SendJSON(read("a", 0, 1)) // already read: nothing
	cb.SendJSON(read("a", 0, 2))
	if r := ca.receipt(); r.Seq != 2 || *r.With != "b" {
		t.Fatalf("receipt %+v, want seq 2", r)
	}
	if got := e.readCursor("b", messages.DirectKey("a", "b")); got != 2 {
		t.Fatalf("read cursor %d", got)
	}
}
