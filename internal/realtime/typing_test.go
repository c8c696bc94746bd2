package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"tim/gen/models"
	"tim/internal/messages"
	"tim/internal/testwait"
)

func typing(with string, groupID int64) models.TypingClientFrame {
	f := models.TypingClientFrame{Type: models.TypingClientFrameTypeTyping}
	if groupID != 0 {
		f.GroupId = &groupID
	} else {
		f.With = &with
	}
	return f
}

func (c *client) typing() models.TypingFrame {
	c.t.Helper()
	f := c.NextOf("typing")
	var tf models.TypingFrame
	b, _ := json.Marshal(f)
	if err := json.Unmarshal(b, &tf); err != nil {
		c.t.Fatal(err)
	}
	return tf
}

// TestTypingRelayedOncePerIntervalToFriendsAndMembers: a typing frame
// reaches the friend, or the group's other members, across instances; more
// of them within 2 s are dropped, also from the sender's other device on
// another instance; non-friends and non-members get 403 and reach nobody;
// a right lost without an event stops the relay at once; no sender hears
// its own.
func TestTypingRelayedOncePerIntervalToFriendsAndMembers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := e.peer()
	a, b, c, d, f := e.user("a"), e.user("b"), e.user("c"), e.user("d"), e.user("f")
	e.befriend("a", "b")
	e.group(9, "a", "b", "c")
	e.group(10, "a", "b", "f")
	// A message in each conversation: a socket that replayed its messages
	// is registered for live frames (ack=1: every socket replays them all).
	e.commit(messages.Send{Sender: "a", To: "b", Body: "hi"}, messages.Send{Sender: "a", GroupID: 9, Body: "hi"})
	open := func(env *env, path, token string, replayed int) *client {
		s := env.dial(path+"?ack=1", token)
		s.Next()
		if !strings.HasPrefix(path, "/websocket/9/") {
			s.Next()
		}
		s.opened(replayed)
		return s
	}
	aU := open(e, "/websocket/a", a, 2)
	a2 := open(p, "/websocket/a", a, 2)
	bU := open(p, "/websocket/b", b, 2)
	cG := open(p, "/websocket/9/c", c, 1)
	dU := open(e, "/websocket/d", d, 0)
	fU := open(e, "/websocket/f", f, 0)

	start := time.Now()
	for range 3 {
		aU.SendJSON(typing("b", 0))
	}
	aU.SendJSON(typing("", 9))
	if f := bU.typing(); f.From != "a" || f.With == nil || *f.With != "a" || f.GroupId != nil {
		t.Fatalf("b got %+v", f)
	}
	// The repeats were dropped: the next is the group's.
	if f := bU.typing(); f.From != "a" || f.GroupId == nil || *f.GroupId != 9 {
		t.Fatalf("b got %+v, want the group's", f)
	}
	if f := cG.typing(); f.From != "a" || *f.GroupId != 9 {
		t.Fatalf("c got %+v", f)
	}
	// a's other device, on the other instance, within the interval: its
	// direct typing is dropped, the next relayed is group 10's it sent
	// after it.
	a2.SendJSON(typing("b", 0))
	a2.SendJSON(typing("", 10))
	if f := bU.typing(); f.GroupId == nil || *f.GroupId != 10 {
		t.Fatalf("b got %+v, want group 10's", f)
	}

	// Not a friend, not a member: refused, relayed to nobody.
	dU.SendJSON(typing("b", 0))
	if code := dU.errorCode(); code != 403 {
		t.Fatalf("non-friend typing: %v", code)
	}
	dU.SendJSON(typing("", 9))
	if code := dU.errorCode(); code != 403 {
		t.Fatalf("non-member typing: %v", code)
	}

	// After the interval a's typing is relayed again.
	testwait.Eventually(t, wait, func() error {
		aU.SendJSON(typing("b", 0))
		got := bU.Poll("typing", 100*time.Millisecond)
		if got == nil {
			return errors.New("typing not relayed again")
		}
		if got["from"] != "a" || got["with"] != "a" {
			t.Fatalf("b got %v", got)
		}
		return nil
	})
	if since := time.Since(start); since < typingInterval {
		t.Fatalf("relayed again after %v, within the interval", since)
	}

	// The friendship ends without an event reaching anyone: the next typing
	// that passes the limit is refused.
	if _, err := e.q.FriendshipDeletePair(context.Background(), "a", "b"); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, wait, func() error {
		aU.SendJSON(typing("b", 0))
		got := aU.Poll("error", 100*time.Millisecond)
		if got == nil {
			return errors.New("typing of a former friend not refused")
		}
		if got["code"] != float64(403) {
			t.Fatalf("a got %v", got)
		}
		return nil
	})
	// Barriers: typing frames sent after the refused one, through each
	// instance, must be the next each socket hears. The refused frame was
	// not relayed to b, and a's own frames, had they been relayed to a,
	// would have come first from the same instance.
	fU.SendJSON(typing("", 10)) // through e, as aU's
	for name, s := range map[string]*client{"b": bU, "a": aU, "a's other device": a2} {
		if got := s.typing(); got.From != "f" || got.GroupId == nil || *got.GroupId != 10 {
			t.Fatalf("%s got %+v, want f's typing in group 10", name, got)
		}
	}
	cG.SendJSON(typing("", 9)) // through p, as a2's
	for name, s := range map[string]*client{"a": aU, "a's other device": a2} {
		if got := s.typing(); got.From != "c" || got.GroupId == nil || *got.GroupId != 9 {
			t.Fatalf("%s got %+v, want c's typing in group 9", name, got)
		}
	}
}

// TestTypingGate: one frame per key per interval, by the time it was let
// through; an earlier one never passes; old entries are swept.
func TestTypingGate(t *testing.T) {
	t.Parallel()
	var g typingGate
	t0 := time.Unix(1000, 0)
	k := typingKey{"a", "d:a:b"}
	if !g.allow(k, t0) || g.allow(k, t0.Add(typingInterval-time.Millisecond)) || g.allow(k, t0.Add(-time.Second)) {
		t.Fatal("second frame within the interval passed")
	}
	if !g.allow(typingKey{"a", "g:1"}, t0) {
		t.Fatal("another conversation was held back")
	}
	if !g.allow(k, t0.Add(typingInterval)) {
		t.Fatal("frame after the interval held back")
	}
	g.allow(typingKey{"z", "g:2"}, t0.Add(3*typingInterval))
	if len(g.last) != 1 {
		t.Fatalf("%d entries after a sweep, want 1", len(g.last))
	}
}
