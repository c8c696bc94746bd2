package realtime

import (
	"context"
	"testing"
	"time"

	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/messages"
	"tim/internal/store"
)

// An instance that dies without shutting down leaves presence rows; once
// its heartbeat is older than the presence timeout, a surviving instance
// removes them and tells the friends of its users that they went offline.
func TestDeadInstanceUsersGoOffline(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *config.Config) { c.Realtime.PresenceTimeout = 3 * time.Second })
	e.user("a")
	b := e.user("b")
	e.befriend("a", "b")
	cb := e.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	// The dead instance: a online there, and silent for longer than the
	// timeout (no query backdates a heartbeat, so the fixture does).
	ctx := context.Background()
	if err := e.q.InstanceHeartbeat(ctx, "dead"); err != nil {
		t.Fatal(err)
	}
	if err := e.q.PresenceApply(ctx, "dead", []string{"a"}, []int32{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE instances SET last_seen = now() - interval '1 hour' WHERE id = 'dead'`); err != nil {
		t.Fatal(err)
	}
	if p := cb.NextOf("presence"); p["account"] != "a" || p["online"] != false {
		t.Fatalf("presence %v", p)
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM presence WHERE instance_id = 'dead'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("dead instance's presence rows: %d, %v", n, err)
	}
}

// A group joined after the user socket opened starts flowing to it (from
// the join on), and stops once the user left.
func TestGroupJoinedAndLeftWhileConnected(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	e.group(1, "a")
	ctx := context.Background()
	ca := e.dial("/websocket/a", a)
	ca.Next()
	ca.Next()
	cb := e.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	gid := int64(1)
	sendGroup := func(text string) {
		ca.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: text})
		if acks, _ := ca.AcksAndMessages(1, 0); acks[0].GroupId == nil || *acks[0].GroupId != gid {
			t.Fatalf("a's ack %+v", acks[0])
		}
	}
	sendGroup("before")

	// b joins as the social API does: member and cursor at the group's end
	// in one transaction, so that no membership check sees one without the
	// other.
	if err := e.q.Tx(ctx, func(q *store.Queries) error {
		if err := q.GroupMemberInsert(ctx, 1, "b", store.RoleMember); err != nil {
			return err
		}
		return q.DeliveryCursorSetToGroupEnd(ctx, "b", gid)
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Subscribe(ctx, "b", messages.GroupKey(gid)); err != nil {
		t.Fatal(err)
	}
	sendGroup("after join")
	if m := cb.Message(); m.Message != "after join" || m.Seq != 2 {
		t.Fatalf("b got %+v", m)
	}

	// b leaves; once the leave was applied, group messages stop.
	if _, err := e.q.GroupMemberDelete(ctx, 1, "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Unsubscribe(ctx, "b", messages.GroupKey(gid)); err != nil {
		t.Fatal(err)
	}
	sendGroup("after leave")
	to := "b"
	ca.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "direct"})
	if m := cb.Message(); m.Message != "direct" {
		t.Fatalf("b got %+v after leaving", m)
	}
}
