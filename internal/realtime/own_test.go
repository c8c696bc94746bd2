package realtime

import (
	"testing"

	"tim/gen/models"
	"tim/internal/messages"
)

// TestTypedSendAnsweredByAckAlone: on the user and one-to-one channels a
// typed send gets its ack and no copy of the message; plain text and the
// original {to,text} frames get both, as the original clients expect; the
// group channel gets every message, its own included; and the sender's
// other sockets get every message.
func TestTypedSendAnsweredByAckAlone(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	e.group(7, "a", "b")
	ua := e.dial("/websocket/a", a)
	ua.Next()
	ua.Next()
	other := e.dial("/websocket/a", a) // another device of a
	other.Next()
	other.Next()
	da := e.dial("/websocket/OneToOne/a/b", a)
	da.Next()
	ub := e.dial("/websocket/b", b)
	ub.Next()
	ub.Next()

	to, gid := "b", int64(7)
	ua.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "typed"})
	if ack := ua.onlyAck(); ack.Seq != 1 || ack.To == nil || *ack.To != "b" || ack.Id == 0 || ack.Time.IsZero() {
		t.Fatalf("ack of the typed send %+v", ack)
	}
	for name, c := range map[string]*client{"a's other device": other, "a's one-to-one socket": da, "b": ub} {
		if m := c.Message(); m.Seq != 1 || m.Message != "typed" {
			t.Fatalf("%s got %+v", name, m)
		}
	}
	// The original frame is answered by an ack and the message. Had the
	// typed send been copied, its frame would come first.
	ua.SendJSON(models.LegacySendFrame{To: "b", Text: "legacy"})
	acks, msgs := ua.AcksAndMessages(1, 1)
	if acks[0].Seq != 2 || msgs[0].Seq != 2 || msgs[0].Message != "legacy" {
		t.Fatalf("legacy send: ack %+v, message %+v", acks[0], msgs[0])
	}
	// Plain text on the one-to-one channel: ack and message.
	da.Send("plain")
	acks, msgs = da.AcksAndMessages(1, 2)
	if acks[0].Seq != 3 || msgs[0].Seq != 2 || msgs[1].Seq != 3 || msgs[1].Message != "plain" {
		t.Fatalf("plain text: ack %+v, messages %+v", acks[0], msgs)
	}
	// A typed send on the one-to-one channel: the ack alone. b's reply
	// is then the next message the socket sees.
	da.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "typed on one-to-one"})
	if ack := da.onlyAck(); ack.Seq != 4 {
		t.Fatalf("ack %+v", ack)
	}
	ub.SendJSON(models.SendFrame{Type: "send", To: ptr("a"), Text: "reply"})
	if m := da.Message(); m.Seq != 5 || m.Message != "reply" {
		t.Fatalf("one-to-one socket after its typed send got %+v, want b's reply (seq 5)", m)
	}

	// The group channel: the sending socket gets the message too.
	ga := e.dial("/websocket/7/a", a)
	ga.Next()
	ga.NextOf("group.online")
	ga.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: "to the group"})
	acks, msgs = ga.AcksAndMessages(1, 1)
	if acks[0].Seq != 1 || msgs[0].Seq != 1 || msgs[0].Message != "to the group" {
		t.Fatalf("group socket: ack %+v, message %+v", acks[0], msgs[0])
	}
}

// TestOwnMessageCountsAsDelivered: a typed send's seq counts as delivered
// to the socket that sent it, although no frame carried it there. Without
// ack mode the pong of the next ping confirms it; in ack mode the client
// may ack it from its ack frame. Either way the cursor moves past it, and
// the conversation goes on without a gap.
func TestOwnMessageCountsAsDelivered(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	conv := messages.DirectKey("a", "b")
	to := "b"

	ua := e.dial("/websocket/a", a)
	ua.Next()
	ua.Next()
	ua.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "one"})
	ua.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "two"})
	ua.AcksAndMessages(2, 0)
	e.waitCursor("a", conv, 2)
	ua.Close()

	acked := e.dial("/websocket/a?ack=1", a)
	acked.Next()
	acked.Next()
	acked.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "three"})
	ack := acked.onlyAck()
	acked.SendJSON(models.AckClientFrame{Type: "ack", With: &to, Seq: ack.Seq})
	e.waitCursor("a", conv, 3)

	// b's next message is live on the same socket: no gap was left.
	ub := e.dial("/websocket/b", b)
	ub.Next()
	ub.Next()
	for want := int64(1); want <= 3; want++ {
		if m := ub.Message(); m.Seq != want {
			t.Fatalf("b got seq %d, want %d", m.Seq, want)
		}
	}
	ub.SendJSON(models.SendFrame{Type: "send", To: ptr("a"), Text: "four"})
	if m := acked.Message(); m.Seq != 4 || m.Message != "four" {
		t.Fatalf("a got %+v, want seq 4", m)
	}
}

// onlyAck reads the next ack, skipping presence frames, and fails on a
// message frame before it.
func (c *client) onlyAck() models.AckFrame {
	c.t.Helper()
	acks, _ := c.AcksAndMessages(1, 0)
	return acks[0]
}
