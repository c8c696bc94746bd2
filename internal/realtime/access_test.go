package realtime

import (
	"context"
	"strings"
	"testing"
	"time"

	"tim/gen/models"
	"tim/internal/auth"
	"tim/internal/messages"
)

// leave removes account from group g as the social API does: commit, then
// tell every instance.
func (e *env) leave(g int64, account string) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.q.GroupMemberDelete(ctx, g, account); err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.Unsubscribe(ctx, account, messages.GroupKey(g)); err != nil {
		e.t.Fatal(err)
	}
}

// TestLeaverLosesTheGroupOnEveryInstance: once a leave returns, the
// leaver's group socket on another instance is closed with 4003, its user
// socket there gets no more of the group's messages, and a sync of the
// group is refused.
func TestLeaverLosesTheGroupOnEveryInstance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.peer()
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	e.group(1, "a", "b")
	ca := e.dial("/websocket/a", a)
	ca.Next()
	ca.Next()
	group := p.dial("/websocket/1/b", b)
	group.NextOf("group.online")
	user := p.dial("/websocket/b", b)
	user.Next()
	user.Next()
	gid := int64(1)
	ca.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: "before"})
	if m := user.Message(); m.Message != "before" {
		t.Fatalf("b got %+v", m)
	}

	e.leave(1, "b")
	if code := group.Closed(); code != CloseNoLongerPeer {
		t.Fatalf("group socket closed with %d, want %d", code, CloseNoLongerPeer)
	}
	ca.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: "after"})
	to := "b"
	ca.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "direct"})
	if m := user.Message(); m.Message != "direct" {
		t.Fatalf("b's user socket got %+v after leaving, want the direct message", m)
	}
	user.SendJSON(models.SyncFrame{Type: "sync", GroupId: &gid, AfterSeq: 0})
	if f := user.NextOf("error"); f["code"] != float64(403) {
		t.Fatalf("sync of a left group answered %v", f)
	}
}

// TestSyncChecksMembershipNow: a group socket whose member left (the event
// lost) may not replay the group's history.
func TestSyncChecksMembershipNow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.group(1, "a", "b")
	group := e.dial("/websocket/1/b", b)
	group.NextOf("group.online")
	ca := e.dial("/websocket/1/a", a)
	ca.NextOf("group.online")
	ca.Send("history")
	ca.AcksAndMessages(1, 1)
	if m := group.Message(); m.Message != "history" {
		t.Fatalf("b got %+v", m)
	}
	if _, err := e.q.GroupMemberDelete(context.Background(), 1, "b"); err != nil {
		t.Fatal(err)
	}
	gid := int64(1)
	group.SendJSON(models.SyncFrame{Type: "sync", GroupId: &gid, AfterSeq: 0})
	if f := group.NextOf("error"); f["code"] != float64(403) {
		t.Fatalf("sync after leaving answered %v", f)
	}
}

// TestUnfriendClosesDirectSockets: once a friendship ends, the one-to-one
// sockets between the two, on every instance, close with 4003.
func TestUnfriendClosesDirectSockets(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.peer()
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next()
	cb := p.dial("/websocket/OneToOne/b/a", b)
	cb.Next()
	ctx := context.Background()
	if _, err := e.q.FriendshipDeletePair(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Unsubscribe(ctx, "a", messages.DirectKey("a", "b")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{ca, cb} {
		if code := c.Closed(); code != CloseNoLongerPeer {
			t.Fatalf("one-to-one socket closed with %d, want %d", code, CloseNoLongerPeer)
		}
	}
}

// TestSocketLivesNoLongerThanItsToken: at the token's expiry the socket
// closes with 4001.
func TestSocketLivesNoLongerThanItsToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("a")
	short, err := auth.NewIssuer([]byte(strings.Repeat("k", 32)), "tim", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := short.Issue("a", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial("/websocket/a", tok)
	c.Next()
	if code := c.Closed(); code != CloseLoggedOut {
		t.Fatalf("closed with %d at expiry, want %d", code, CloseLoggedOut)
	}
}

// TestRecheckRepairsLostEvents: when a change event never arrived, the
// periodic re-check of rights closes what the change took away.
func TestRecheckRepairsLostEvents(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	e.group(1, "a", "b")
	group := e.dial("/websocket/1/b", b)
	group.NextOf("group.online")
	direct := e.dial("/websocket/OneToOne/b/a", b)
	direct.Next()
	user := e.dial("/websocket/a", a)
	user.Next()
	user.Next()
	ctx := context.Background()
	// Changed behind the service's back: no event.
	if _, err := e.q.GroupMemberDelete(ctx, 1, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.q.FriendshipDeletePair(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	claims, err := e.issuer.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.q.RevokedTokenInsert(ctx, claims.JTI, "a", claims.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.recheck(ctx, e.svc.hub.openSockets()); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[*client]int{group: CloseNoLongerPeer, direct: CloseNoLongerPeer, user: CloseLoggedOut} {
		if code := c.Closed(); code != want {
			t.Fatalf("closed with %d, want %d", code, want)
		}
	}
}

// TestMessageLostByTheBusIsCaughtUp: a committed message the bus never
// carried reaches the recipient's open socket without waiting for the next
// message of its conversation.
func TestMessageLostByTheBusIsCaughtUp(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("a")
	b := e.user("b")
	e.befriend("a", "b")
	cb := e.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	// A committer whose batches are never published: the bus "lost" them.
	lost, err := messages.NewCommitter(context.Background(), e.q, e.logger, func([]messages.Committed) {}, 5*time.Second,
		messages.WithChangeMarks(testHealEvery/2))
	if err != nil {
		t.Fatal(err)
	}
	defer lost.Close()
	if _, err := lost.Send(messages.Send{Sender: "a", To: "b", Body: "lost on the bus"}); err != nil {
		t.Fatal(err)
	}
	if m := cb.Message(); m.Message != "lost on the bus" || m.Seq != 1 {
		t.Fatalf("b got %+v", m)
	}

	// One lost right after one delivered: the conversation's change mark
	// stays where the delivered one put it, and the healing still finds it.
	ca := e.dial("/websocket/a", e.token("a"))
	ca.Next()
	ca.Next()
	ca.SendJSON(map[string]any{"type": "send", "to": "b", "text": "delivered"})
	if m := cb.Message(); m.Message != "delivered" || m.Seq != 2 {
		t.Fatalf("b got %+v", m)
	}
	if _, err := lost.Send(messages.Send{Sender: "a", To: "b", Body: "lost right after"}); err != nil {
		t.Fatal(err)
	}
	if m := cb.Message(); m.Message != "lost right after" || m.Seq != 3 {
		t.Fatalf("b got %+v", m)
	}
}
