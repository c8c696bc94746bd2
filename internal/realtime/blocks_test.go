package realtime

import (
	"context"
	"testing"
)

// TestRecheckClosesOneToOneSocketsAcrossABlock: a block whose event never
// arrived closes the one-to-one sockets between the two at the periodic
// re-check, both ways, and leaves those with another friend open.
func TestRecheckClosesOneToOneSocketsAcrossABlock(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b, c := e.user("a"), e.user("b"), e.user("c")
	e.befriend("a", "b")
	e.befriend("a", "c")
	ab := e.dial("/websocket/OneToOne/a/b", a)
	ab.Next()
	ba := e.dial("/websocket/OneToOne/b/a", b)
	ba.Next()
	ca := e.dial("/websocket/OneToOne/c/a", c)
	ca.Next()
	ctx := context.Background()
	// Made behind the service's back: no event.
	if err := e.q.BlockInsert(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.recheck(ctx, e.svc.hub.openSockets()); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*client{"a's": ab, "b's": ba} {
		if code := s.Closed(); code != CloseNoLongerPeer {
			t.Fatalf("%s one-to-one socket closed with %d, want %d", name, code, CloseNoLongerPeer)
		}
	}
	ca.Send("still here")
	if acks, _ := ca.AcksAndMessages(1, 1); acks[0].To == nil || *acks[0].To != "a" {
		t.Fatalf("c's socket with a: %+v", acks[0])
	}
}
