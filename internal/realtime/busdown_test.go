package realtime

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/messages"
	"tim/internal/testwait"
)

// busDown starts two instances on an external NATS, and returns them with a
// function that stops the NATS and waits until both lost it. here, the
// instance that serves the changes, re-checks its sockets only every hour
// while the bus is down, so that what holds on it holds through the verb;
// there re-checks every 100 ms.
func busDown(t *testing.T) (here, there *env, stop func()) {
	t.Helper()
	ns := natsServer(t, 0)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	url := "nats://" + ns.Addr().(*net.TCPAddr).String()
	here = setup(t, func(c *config.Config) {
		c.NATS.URL = url
		c.Realtime.RightsRecheckDegraded = time.Hour
	})
	there = here.peer(func(c *config.Config) { c.Realtime.RightsRecheckDegraded = 100 * time.Millisecond })
	stop = func() {
		t.Helper()
		ns.Shutdown()
		ns.WaitForShutdown()
		for _, e := range []*env{here, there} {
			testwait.Eventually(t, wait, func() error {
				if e.bus.Connected() {
					return fmt.Errorf("instance %s is still connected to the bus", e.svc.instanceID)
				}
				return nil
			})
		}
	}
	return here, there, stop
}

// sockets returns account's open sockets on e's instance that match.
func (e *env) sockets(account string, match func(*socket) bool) []*socket {
	e.t.Helper()
	var out []*socket
	for _, so := range e.svc.hub.openSockets() {
		if so.account == account && match(so) {
			out = append(out, so)
		}
	}
	if len(out) == 0 {
		e.t.Fatalf("no socket of %s to watch", account)
	}
	return out
}

// wantClosing fails the test unless every one of socks is closing: the
// verb that just returned closed them.
func wantClosing(t *testing.T, what string, socks []*socket) {
	t.Helper()
	for _, so := range socks {
		if !so.closing() {
			t.Errorf("%s: a socket of %s is still open when the verb returned", what, so.account)
		}
	}
}

// wantClose waits for each socket's close code.
func wantClose(t *testing.T, code int, socks map[string]*client) {
	t.Helper()
	for name, c := range socks {
		if got := c.Closed(); got != code {
			t.Errorf("%s: closed with %d, want %d", name, got, code)
		}
	}
}

// wantDown fails the test unless the verb's broadcast found the bus down,
// published to there and waited for nobody.
func wantDown(t *testing.T, here, there *env) {
	t.Helper()
	tr := here.svc.broadcasted.WaitOrTimeout(t)
	if !tr.down || !slices.Equal(tr.asked, []string{there.svc.instanceID}) || len(tr.answered) > 0 {
		t.Errorf("broadcast while the bus is down: %+v, want it to publish to %s and wait for nobody", tr, there.svc.instanceID)
	}
}

// TestLogoutHoldsWhileTheBusIsDown: with the bus down, a logout closes the
// token's sockets on the instance that served it before it returns (4001),
// so that a send on one of them afterwards is not stored, and on another
// instance within RightsRecheckDegraded; the verb waits for nobody.
func TestLogoutHoldsWhileTheBusIsDown(t *testing.T) {
	t.Parallel()
	here, there, stop := busDown(t)
	a := here.user("a")
	here.user("b")
	here.befriend("a", "b")
	user := here.dial("/websocket/a", a)
	user.Next()
	user.Next()
	direct := here.dial("/websocket/OneToOne/a/b", a)
	direct.Next()
	far := there.dial("/websocket/a", a)
	far.Next()
	far.Next()
	kept := here.dial("/websocket/a", here.token("a")) // another session
	kept.Next()
	kept.Next()
	stop()

	ctx := context.Background()
	claims, err := here.issuer.Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := here.q.RevokedTokenInsert(ctx, claims.JTI, "a", claims.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	socks := here.sockets("a", func(so *socket) bool { return so.jti == claims.JTI })
	here.svc.broadcasted.Init()
	if err := here.svc.Disconnect(ctx, "a", claims.JTI); err != nil {
		t.Fatalf("logout with the bus down: %v", err)
	}
	wantClosing(t, "logout", socks)
	wantDown(t, here, there)
	// Sends after the logout: refused, the sockets being closed.
	_ = user.WS().WriteMessage(websocket.TextMessage, []byte(`{"type":"send","to":"b","text":"after logout","clientMsgId":"u1"}`))
	_ = direct.WS().WriteMessage(websocket.TextMessage, []byte("after logout too"))
	wantClose(t, CloseLoggedOut, map[string]*client{"user socket here": user, "one-to-one socket here": direct, "user socket there": far})

	// The other session still sends; its message is the conversation's
	// only one.
	kept.SendJSON(map[string]any{"type": "send", "to": "b", "text": "kept", "clientMsgId": "k1"})
	if ack := kept.Until("ack"); ack["clientMsgId"] != "k1" {
		t.Fatalf("other session's ack: %v", ack)
	}
	stored, err := here.q.MessageListAfterSeq(ctx, messages.DirectKey("a", "b"), 0, false, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Body != "kept" {
		t.Errorf("stored after the logout: %+v, want only the other session's message", stored)
	}
}

// TestLeaveHoldsWhileTheBusIsDown: with the bus down, a leave closes the
// leaver's group sockets on the instance that served it before it returns
// (4003) and its user socket there gets no more of the group's messages;
// on another instance its group socket closes within RightsRecheckDegraded.
func TestLeaveHoldsWhileTheBusIsDown(t *testing.T) {
	t.Parallel()
	here, there, stop := busDown(t)
	a, b := here.user("a"), here.user("b")
	here.befriend("a", "b")
	here.group(1, "a", "b")
	sender := here.dial("/websocket/a", a)
	sender.Next()
	sender.Next()
	user := here.dial("/websocket/b", b)
	user.Next()
	user.Next()
	group := here.dial("/websocket/1/b", b)
	group.NextOf("group.online")
	far := there.dial("/websocket/1/b", b)
	far.NextOf("group.online")
	gid := int64(1)
	sender.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: "before"})
	if m := user.Message(); m.Message != "before" {
		t.Fatalf("b got %+v", m)
	}
	stop()

	ctx := context.Background()
	if _, err := here.q.GroupMemberDelete(ctx, 1, "b"); err != nil {
		t.Fatal(err)
	}
	socks := here.sockets("b", func(so *socket) bool { return so.ch == channelGroup })
	here.svc.broadcasted.Init()
	if err := here.svc.Unsubscribe(ctx, "b", messages.GroupKey(1)); err != nil {
		t.Fatalf("leave with the bus down: %v", err)
	}
	wantClosing(t, "leave", socks)
	wantDown(t, here, there)
	sender.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: "after"})
	to := "b"
	sender.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "direct"})
	if m := user.Message(); m.Message != "direct" {
		t.Errorf("b's user socket got %+v after leaving, want the direct message", m)
	}
	wantClose(t, CloseNoLongerPeer, map[string]*client{"group socket here": group, "group socket there": far})
}

// TestUnfriendHoldsWhileTheBusIsDown: with the bus down, the end of a
// friendship closes the two accounts' one-to-one sockets with each other
// on the instance that served it before it returns (4003), and on another
// instance within RightsRecheckDegraded.
func TestUnfriendHoldsWhileTheBusIsDown(t *testing.T) {
	t.Parallel()
	here, there, stop := busDown(t)
	a, b := here.user("a"), here.user("b")
	here.befriend("a", "b")
	mine := here.dial("/websocket/OneToOne/a/b", a)
	mine.Next()
	theirs := here.dial("/websocket/OneToOne/b/a", b)
	theirs.Next()
	far := there.dial("/websocket/OneToOne/b/a", b)
	far.Next()
	stop()

	ctx := context.Background()
	if _, err := here.q.FriendshipDeletePair(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	direct := func(so *socket) bool { return so.ch == channelDirect }
	socks := append(here.sockets("a", direct), here.sockets("b", direct)...)
	here.svc.broadcasted.Init()
	if err := here.svc.Unsubscribe(ctx, "a", messages.DirectKey("a", "b")); err != nil {
		t.Fatalf("unfriend with the bus down: %v", err)
	}
	wantClosing(t, "unfriend", socks)
	wantDown(t, here, there)
	wantClose(t, CloseNoLongerPeer, map[string]*client{"a's socket here": mine, "b's socket here": theirs, "b's socket there": far})
}
