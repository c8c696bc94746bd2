package social_test

import (
	"net/http"
	"testing"

	"tim/gen/models"
	"tim/internal/wstest"
)

// wantGroupRemoved reads c's frames up to its next groupRemoved and fails
// unless it names group g, reason and by.
func wantGroupRemoved(t *testing.T, who string, c *wstest.Conn, g int64, reason, by string) {
	t.Helper()
	f := c.Until("groupRemoved")
	if f["groupId"] != float64(g) || f["reason"] != reason || f["by"] != by {
		t.Errorf("%s got %v, want groupRemoved of group %d, %s by %s", who, f, g, reason, by)
	}
}

// noGroupRemovedBefore reads c's frames up to the next of type typ, which
// comes after any groupRemoved would have, and fails on a groupRemoved.
func noGroupRemovedBefore(t *testing.T, who string, c *wstest.Conn, typ string) {
	t.Helper()
	for {
		f := c.Next()
		if f["type"] == "groupRemoved" {
			t.Errorf("%s got %v, want no groupRemoved", who, f)
		}
		if f["type"] == typ {
			return
		}
	}
}

// TestGroupRemovedOnKick: a kicked member's user socket is told, after it
// stopped carrying the group, who removed it (groupRemoved kicked); an ack
// of the group's seqs is refused from then on. The admin who kicked is
// told nothing.
func TestGroupRemovedOnKick(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, m := f.newMember("removed"), f.newMember("removed"), f.newMember("removed")
	g := f.adminGroup(o, ad, m)

	kicked := f.dial("/websocket/"+m.account+"?ack=1", m)
	kicked.NextOf("users")
	actor := f.userSocket(ad.user)
	f.wantOK("admin kicks a member", f.kick(ad, g, m.account))
	wantGroupRemoved(t, "kicked member", kicked, g, "kicked", ad.account)

	kicked.SendJSON(models.AckClientFrame{Type: "ack", GroupId: &g, Seq: 1})
	if e := kicked.Until("error"); e["code"] != float64(http.StatusForbidden) || e["message"] != "无权确认该会话" {
		t.Errorf("ack of the lost group got %v, want 403 无权确认该会话", e)
	}

	// A notice to the admin would come before a friendAdded made after
	// the kick.
	f.mustAddFriend(m.user, ad.account)
	noGroupRemovedBefore(t, "the admin who kicked", actor, "friendAdded")
}

// TestGroupRemovedOnDissolve: every member of a dissolved group but the
// owner who dissolved it hears groupRemoved dissolved, by the owner.
func TestGroupRemovedOnDissolve(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, m := f.newMember("removed"), f.newMember("removed"), f.newMember("removed")
	g := f.adminGroup(o, ad, m)

	socks := map[string]*wstest.Conn{}
	for _, u := range []member{o, ad, m} {
		socks[u.account] = f.userSocket(u.user)
	}
	f.wantOK("dissolve", f.dissolve(o, g))
	wantGroupRemoved(t, "admin", socks[ad.account], g, "dissolved", o.account)
	wantGroupRemoved(t, "member", socks[m.account], g, "dissolved", o.account)

	f.mustAddFriend(m.user, o.account)
	noGroupRemovedBefore(t, "the owner who dissolved", socks[o.account], "friendAdded")
}
