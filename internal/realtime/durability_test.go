package realtime

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"tim/gen/models"
	"tim/internal/config"
)

func TestRestartBetweenSendAndConnect(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next()
	const n = 20
	for i := range n {
		ca.Send(fmt.Sprintf("m%d", i))
	}
	ca.AcksAndMessages(n, n)
	e.restart()
	if code := ca.Closed(); code != CloseGoingAway {
		t.Fatalf("close code %d", code)
	}
	cb := e.dial("/websocket/OneToOne/b/a", b)
	cb.Next()
	for i := range n {
		if m := cb.Message(); m.Seq != int64(i+1) || m.Message != fmt.Sprintf("m%d", i) {
			t.Fatalf("got %+v", m)
		}
	}
}

func TestReconnectMidBurst(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next()
	cb := e.dial("/websocket/b?ack=1", b)
	cb.Next()
	cb.Next()
	const n = 300
	for i := range n {
		ca.Send(fmt.Sprintf("m%d", i))
	}
	// b acknowledges the first 100, then drops the connection mid-burst.
	var acked int64
	for range 100 {
		m := cb.Message()
		if m.Seq != acked+1 {
			t.Fatalf("seq %d after %d", m.Seq, acked)
		}
		acked = m.Seq
		with := "a"
		cb.SendJSON(models.AckClientFrame{Type: "ack", With: &with, Seq: m.Seq})
	}
	cb.Close()
	// The new socket starts right after what was acknowledged at the latest
	// and continues without gaps to the end.
	cb2 := e.dial("/websocket/b?ack=1", b)
	cb2.Next()
	cb2.Next()
	m := cb2.Message()
	if m.Seq > acked+1 {
		t.Fatalf("resumed at %d after ack %d", m.Seq, acked)
	}
	for m.Seq < n {
		next := cb2.Message()
		if next.Seq != m.Seq+1 {
			t.Fatalf("seq %d after %d", next.Seq, m.Seq)
		}
		m = next
	}
}

func TestTwoInstances(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.peer()
	a, b := e.user("a"), e.user("b")
	c := e.user("c")
	e.befriend("a", "b")
	e.group(5, "a", "b", "c")

	// Presence crosses instances: b (on the peer) sees a come online.
	cb := p.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	ca := e.dial("/websocket/a", a)
	ca.Next()
	ca.Next()
	if f := cb.NextOf("presence"); f["account"] != "a" || f["online"] != true {
		t.Fatalf("presence %v", f)
	}
	// Direct and group messages both ways, from both instances.
	gid := int64(5)
	const n = 40
	for i := range n {
		to := "b"
		ca.SendJSON(models.SendFrame{Type: "send", To: &to, Text: fmt.Sprintf("d%d", i)})
		cb.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: fmt.Sprintf("g%d", i)})
	}
	check := func(c *client, nAcks int) {
		t.Helper()
		// Each gets the other's messages; a typed send is answered by its
		// ack alone.
		_, msgs := c.AcksAndMessages(nAcks, n)
		last := map[string]int64{}
		for _, m := range msgs {
			conv := "g"
			if m.GroupId == nil {
				conv = "d"
			}
			if m.Seq != last[conv]+1 {
				t.Fatalf("%s seq %d after %d", conv, m.Seq, last[conv])
			}
			last[conv] = m.Seq
		}
	}
	check(ca, n)
	check(cb, n)

	// Killing an instance loses nothing committed: c, offline so far,
	// connects to the survivor and gets every group message.
	cc := e.dial("/websocket/5/c", c)
	cc.Next()
	e.stop()
	cc.Closed()
	cc2 := p.dial("/websocket/c", c)
	cc2.Next()
	cc2.Next()
	for i := range n {
		if m := cc2.Message(); m.Seq != int64(i+1) {
			t.Fatalf("c got %+v", m)
		}
	}
	if f := cb.NextOf("presence"); f["account"] != "a" || f["online"] != false {
		t.Fatalf("presence %v", f)
	}
}

func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	// A write blocked on b's full pipe waits until b reads again.
	e := setup(t, func(c *config.Config) { c.Realtime.SocketQueueBytes, c.Realtime.WriteTimeout = 64<<10, time.Minute })
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next()
	// b does not read while a sends: the kernel buffers fill, then its
	// queue, and the server closes it as a slow consumer. When b reads
	// again, it gets what was written and then the close frame.
	cb, _, err := e.tryDialRaw("/websocket/b?ack=1", b)
	if err != nil {
		t.Fatal(err)
	}
	// 170 messages of 30,000 bytes: more than the server's largest kernel
	// send buffer (4 MiB by default), b's (tryDialRaw keeps it small) and
	// b's queue hold.
	big := strings.Repeat("x", 30000)
	const n = 170
	// The sender paces itself, so that only b falls behind.
	for i := range n {
		ca.Send(fmt.Sprintf("%d %s", i, big))
		ca.AcksAndMessages(1, 1)
	}
	if got := cb.drain(); got != CloseSlowConsumer {
		t.Fatalf("close code %d, want %d", got, CloseSlowConsumer)
	}
	// Nothing is lost: the next socket replays everything in order.
	cb2 := e.dial("/websocket/b", b)
	cb2.Next()
	cb2.Next()
	for i := range n {
		if m := cb2.Message(); m.Seq != int64(i+1) {
			t.Fatalf("got seq %d, want %d", m.Seq, i+1)
		}
	}
}
