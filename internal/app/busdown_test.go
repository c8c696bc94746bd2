package app_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats-server/v2/server"

	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/testenv"
	"tim/internal/testwait"
)

// TestRightsHoldWhileTheBusIsDown: with the NATS server stopped, UserLogout,
// leaveGroup and deleteFriend answer 200 and have closed the sockets they
// end on the instance that served them (which re-checks its sockets only
// hourly here, so that nothing else can close them), and those on the other
// instance within its TIM_RIGHTS_RECHECK_DEGRADED; a logged-out socket's
// send is not stored, and a leaver's user socket gets no more of the
// group's messages.
func TestRightsHoldWhileTheBusIsDown(t *testing.T) {
	t.Parallel()
	srv, here, there := twoOnOneBus(t)
	a, b, c := here.Register(t, "a"), here.Register(t, "b"), here.Register(t, "c")
	befriend(t, here, a, "a", "b")
	befriend(t, here, a, "a", "c")
	join(t, here, a, "a", 7)
	join(t, here, b, "b", 7)

	ua := dial(t, here, "/websocket/a", a)
	ua.Next()
	ua.Next()
	ub := dial(t, here, "/websocket/b", b)
	ub.Next()
	ub.Next()
	uc := dial(t, here, "/websocket/c", c)
	uc.Next()
	uc.Next()
	ucThere := dial(t, there, "/websocket/c", c)
	ucThere.Next()
	ucThere.Next()
	gb := dial(t, here, "/websocket/7/b", b)
	gb.NextOf("group.online")
	gbThere := dial(t, there, "/websocket/7/b", b)
	gbThere.NextOf("group.online")
	da := dial(t, here, "/websocket/OneToOne/a/b", a)
	da.Next()
	dbThere := dial(t, there, "/websocket/OneToOne/b/a", b)
	dbThere.Next()

	stopBus(t, srv, here, there)

	// Logout.
	out, err := here.Client.UserLogoutWithResponse(ctx, nil, testenv.Auth(c))
	if err != nil || out.StatusCode() != http.StatusOK {
		t.Fatalf("logout with the bus down: %v %s", err, out.Body)
	}
	_ = uc.WS().WriteMessage(websocket.TextMessage, []byte(`{"type":"send","to":"a","text":"after logout","clientMsgId":"c1"}`))
	if code := uc.Closed(); code != 4001 {
		t.Errorf("logged-out socket here: close code %d, want 4001", code)
	}
	if code := ucThere.Closed(); code != 4001 {
		t.Errorf("logged-out socket there: close code %d, want 4001", code)
	}
	ub.SendJSON(map[string]any{"type": "send", "to": "a", "text": "from b", "clientMsgId": "b1"})
	if m := ua.Message(); m.FromUser != "b" || m.Message != "from b" {
		t.Errorf("a got %+v, want b's message and nothing sent after the logout", m)
	}

	// leaveGroup.
	left, err := here.Client.LeaveGroupWithResponse(ctx, &models.LeaveGroupParams{UserAccount: "b", GroupID: 7}, testenv.Auth(b))
	if err != nil || left.StatusCode() != http.StatusOK {
		t.Fatalf("leaveGroup with the bus down: %v %s", err, left.Body)
	}
	if code := gb.Closed(); code != 4003 {
		t.Errorf("leaver's group socket here: close code %d, want 4003", code)
	}
	if code := gbThere.Closed(); code != 4003 {
		t.Errorf("leaver's group socket there: close code %d, want 4003", code)
	}
	gid := int64(7)
	ua.SendJSON(models.SendFrame{Type: "send", GroupId: &gid, Text: "after leaving"})
	to := "b"
	ua.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "direct"})
	if m := ub.Message(); m.Message != "direct" {
		t.Errorf("leaver's user socket got %+v, want the direct message and no more of the group's", m)
	}

	// deleteFriend.
	del, err := here.Client.DeleteFriendWithResponse(ctx, &models.DeleteFriendParams{UserAccount: "a", FriendAccount: "b"}, testenv.Auth(a))
	if err != nil || del.StatusCode() != http.StatusOK {
		t.Fatalf("deleteFriend with the bus down: %v %s", err, del.Body)
	}
	if code := da.Closed(); code != 4003 {
		t.Errorf("one-to-one socket here: close code %d, want 4003", code)
	}
	if code := dbThere.Closed(); code != 4003 {
		t.Errorf("one-to-one socket there: close code %d, want 4003", code)
	}
}

// TestAdministrationHoldsWhileTheBusIsDown: with the NATS server stopped,
// a kick, a dissolve and a block answer 200 and have closed the sockets
// they end on the serving instance (which re-checks hourly here), and on
// the other instance within its TIM_RIGHTS_RECHECK_DEGRADED; a mute and a
// block refuse sends on the other instance at once, since every send
// checks them as it commits.
func TestAdministrationHoldsWhileTheBusIsDown(t *testing.T) {
	t.Parallel()
	srv, here, there := twoOnOneBus(t)
	a, b, c, d := here.Register(t, "a"), here.Register(t, "b"), here.Register(t, "c"), here.Register(t, "d")
	befriend(t, here, a, "a", "c")
	join(t, here, a, "a", 7) // a owns 7 and 8
	join(t, here, b, "b", 7)
	join(t, here, d, "d", 7)
	join(t, here, a, "a", 8)
	join(t, here, d, "d", 8)

	gb := dial(t, here, "/websocket/7/b", b)
	gb.NextOf("group.online")
	gbThere := dial(t, there, "/websocket/7/b", b)
	gbThere.NextOf("group.online")
	gdThere := dial(t, there, "/websocket/8/d", d)
	gdThere.NextOf("group.online")
	udThere := dial(t, there, "/websocket/d", d)
	udThere.NextOf("users")
	dc := dial(t, here, "/websocket/OneToOne/c/a", c)
	dc.Next()
	dcThere := dial(t, there, "/websocket/OneToOne/c/a", c)
	dcThere.Next()

	stopBus(t, srv, here, there)

	// A kick.
	kick, err := here.Client.KickMemberWithResponse(ctx, &models.KickMemberParams{UserAccount: "a", GroupID: 7, TargetAccount: "b"}, testenv.Auth(a))
	if err != nil || kick.StatusCode() != http.StatusOK {
		t.Fatalf("kickMember with the bus down: %v %s", err, kick.Body)
	}
	if code := gb.Closed(); code != 4003 {
		t.Errorf("kicked member's group socket here: close code %d, want 4003", code)
	}
	if code := gbThere.Closed(); code != 4003 {
		t.Errorf("kicked member's group socket there: close code %d, want 4003", code)
	}

	// A mute, served here, refuses d's send there.
	mute, err := here.Client.MuteMemberWithResponse(ctx, &models.MuteMemberParams{UserAccount: "a", GroupID: 7, TargetAccount: "d", Seconds: 600}, testenv.Auth(a))
	if err != nil || mute.StatusCode() != http.StatusOK {
		t.Fatalf("muteMember with the bus down: %v %s", err, mute.Body)
	}
	g7 := int64(7)
	udThere.SendJSON(models.SendFrame{Type: "send", GroupId: &g7, Text: "muted"})
	if e := udThere.NextOf("error"); e["code"] != float64(http.StatusForbidden) || e["message"] != "禁言中" || e["mutedUntil"] == nil {
		t.Errorf("muted member's send there: %v, want 403 禁言中 with mutedUntil", e)
	}

	// A dissolve.
	dis, err := here.Client.DissolveGroupWithResponse(ctx, &models.DissolveGroupParams{UserAccount: "a", GroupID: 8}, testenv.Auth(a))
	if err != nil || dis.StatusCode() != http.StatusOK {
		t.Fatalf("dissolveGroup with the bus down: %v %s", err, dis.Body)
	}
	if code := gdThere.Closed(); code != 4003 {
		t.Errorf("dissolved group's socket there: close code %d, want 4003", code)
	}

	// A block.
	blk, err := here.Client.BlockWithResponse(ctx, &models.BlockParams{UserAccount: "a", TargetAccount: "c"}, testenv.Auth(a))
	if err != nil || blk.StatusCode() != http.StatusOK {
		t.Fatalf("block with the bus down: %v %s", err, blk.Body)
	}
	if code := dc.Closed(); code != 4003 {
		t.Errorf("blocked pair's one-to-one socket here: close code %d, want 4003", code)
	}
	if code := dcThere.Closed(); code != 4003 {
		t.Errorf("blocked pair's one-to-one socket there: close code %d, want 4003", code)
	}
}

// twoOnOneBus starts a NATS server and two instances on it: here, which
// re-checks its sockets' rights only hourly while the bus is down (so that
// only a change's local apply can close them), and there, which re-checks
// every 200 ms then.
func twoOnOneBus(t *testing.T) (srv *server.Server, here, there *testenv.Env) {
	t.Helper()
	srv = runNATS(t, 0)
	url := fmt.Sprintf("nats://tim:bus-pw@127.0.0.1:%d", srv.Addr().(*net.TCPAddr).Port)
	here = testenv.New(t, testenv.WithConfig(func(c *config.Config) {
		c.NATS.URL = url
		c.Realtime.RightsRecheckDegraded = time.Hour
	}))
	there = here.Peer(t, testenv.WithConfig(func(c *config.Config) { c.Realtime.RightsRecheckDegraded = 200 * time.Millisecond }))
	return srv, here, there
}

// stopBus shuts the NATS server down and waits until every instance of
// envs says it is not ready.
func stopBus(t *testing.T, srv *server.Server, envs ...*testenv.Env) {
	t.Helper()
	srv.Shutdown()
	srv.WaitForShutdown()
	for _, e := range envs {
		testwait.Eventually(t, wait, func() error {
			if ready(e.URL) == nil {
				return fmt.Errorf("%s still ready with the bus down", e.URL)
			}
			return nil
		})
	}
}
