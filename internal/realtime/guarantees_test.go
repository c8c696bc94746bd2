package realtime

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"tim/gen/models"
	"tim/internal/messages"
	"tim/internal/testwait"
)

// TestStalledReaderLosesNothing: a socket without ack mode whose client
// stops reading, and whose connection is then cut, must not count as
// delivered what sat unread in its buffers: the next socket replays every
// message, in order.
func TestStalledReaderLosesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.svc.confirmPinged.Init()
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next()
	stalled, _, err := e.tryDialRaw("/websocket/b", b)
	if err != nil {
		t.Fatal(err)
	}
	// 320 KiB: more than b's receive buffer (tryDialRaw keeps it small),
	// less than the server's send buffer takes without blocking.
	const n = 40
	body := strings.Repeat("x", 8<<10)
	for i := range n {
		ca.Send(fmt.Sprintf("%d %s", i, body))
		ca.AcksAndMessages(1, 1)
	}
	// Once the ping that confirms the last frame is written, the frames
	// have left the server, but the client never read them.
	for p := e.svc.confirmPinged.WaitOrTimeout(t); p.account != "b" || p.seqs[messages.DirectKey("a", "b")] != n; {
		p = e.svc.confirmPinged.WaitOrTimeout(t)
	}
	_ = stalled.conn.NetConn().Close()

	cb := e.dial("/websocket/b", b)
	cb.Next() // connected
	cb.Next() // users
	for i := range n {
		if m := cb.Message(); m.Seq != int64(i+1) {
			t.Fatalf("after the stall got seq %d, want %d", m.Seq, i+1)
		}
	}
}

// TestReadingClientIsConfirmed: a client without ack mode that reads its
// socket has its cursor advanced by its pongs, so that a reconnect does not
// replay what it read.
func TestReadingClientIsConfirmed(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next()
	cb := e.dial("/websocket/b", b)
	cb.Next() // connected
	cb.Next() // users
	const n = 5
	for i := range n {
		ca.Send(fmt.Sprintf("m%d", i))
	}
	ca.AcksAndMessages(n, n)
	for i := range n {
		if m := cb.Message(); m.Seq != int64(i+1) {
			t.Fatalf("got seq %d, want %d", m.Seq, i+1)
		}
	}
	e.waitCursor("b", messages.DirectKey("a", "b"), n)
	cb.Close()
	cb2 := e.dial("/websocket/b", b)
	cb2.Next() // connected
	cb2.Next() // users
	ca.Send("after")
	ca.AcksAndMessages(1, 1)
	if m := cb2.Message(); m.Seq != n+1 {
		t.Fatalf("after reconnecting got seq %d first, want %d (nothing replayed)", m.Seq, n+1)
	}
}

// TestClientMsgIDPerConversation: a client message id is an idempotency key
// within one conversation; reused in another conversation it names a new
// message, and every ack names its conversation.
func TestClientMsgIDPerConversation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.user("a")
	e.user("b")
	e.user("c")
	e.befriend("a", "b")
	e.befriend("a", "c")
	e.group(7, "a", "b")
	ca := e.dial("/websocket/a?ack=1", a)
	ca.Next()
	ca.Next()
	id := "same-id"
	b, c, g := "b", "c", int64(7)
	ca.SendJSON(models.SendFrame{Type: "send", To: &b, Text: "to b", ClientMsgId: &id})
	toB, _ := ca.AcksAndMessages(1, 0)
	ca.SendJSON(models.SendFrame{Type: "send", To: &c, Text: "to c", ClientMsgId: &id})
	toC, _ := ca.AcksAndMessages(1, 0)
	ca.SendJSON(models.SendFrame{Type: "send", GroupId: &g, Text: "to the group", ClientMsgId: &id})
	toG, _ := ca.AcksAndMessages(1, 0)
	if toB[0].To == nil || *toB[0].To != "b" || toC[0].To == nil || *toC[0].To != "c" || toG[0].GroupId == nil || *toG[0].GroupId != 7 {
		t.Fatalf("acks do not name their conversations: %+v %+v %+v", toB[0], toC[0], toG[0])
	}
	if toB[0].Id == toC[0].Id || toC[0].Id == toG[0].Id {
		t.Fatalf("one id in three conversations stored %d, %d, %d", toB[0].Id, toC[0].Id, toG[0].Id)
	}
	for conv, want := range map[string]string{messages.DirectKey("a", "b"): "to b", messages.DirectKey("a", "c"): "to c", messages.GroupKey(7): "to the group"} {
		msgs, err := e.svc.reader.After(context.Background(), conv, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Body != want {
			t.Fatalf("%s holds %+v, want one message %q", conv, msgs, want)
		}
	}
	// Within one conversation the id still dedupes.
	ca.SendJSON(models.SendFrame{Type: "send", To: &c, Text: "to c again", ClientMsgId: &id})
	if again := ca.Ack(); again.Id != toC[0].Id {
		t.Fatalf("repeat in the same conversation got %+v, want the ack of %d", again, toC[0].Id)
	}
}

// TestGroupPresenceCountsUnderConcurrency: sockets of one member opening
// and closing at once leave the presence table with the count of those
// still open.
func TestGroupPresenceCountsUnderConcurrency(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.user("a")
	e.group(1, "a")
	const n = 8
	clients := make([]*client, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := e.tryDial("/websocket/1/a", a, nil)
			if err != nil {
				t.Error(err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, c := range clients {
		c.NextOf("group.online")
	}
	count := func() int {
		var sockets int
		err := e.pool.QueryRow(context.Background(), `SELECT coalesce(sum(sockets), 0) FROM group_presence WHERE group_id = 1 AND account = 'a'`).Scan(&sockets)
		if err != nil {
			t.Fatal(err)
		}
		return sockets
	}
	waitFor := func(want int) {
		t.Helper()
		testwait.Eventually(t, wait, func() error {
			if got := count(); got != want {
				return fmt.Errorf("group presence counts %d sockets, want %d", got, want)
			}
			return nil
		})
	}
	waitFor(n)
	for _, c := range clients[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); c.Close() }()
	}
	wg.Wait()
	waitFor(1)
	clients[0].Close()
	waitFor(0)
}
