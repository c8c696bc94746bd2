package social_test

import (
	"net/http"
	"slices"
	"testing"

	"tim/gen/models"
	"tim/internal/wstest"
)

func (f *fixture) block(u user, target string) (int, []byte) {
	f.t.Helper()
	resp, err := f.c.BlockWithResponse(f.ctx, &models.BlockParams{UserAccount: u.account, TargetAccount: target}, u.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode(), resp.Body
}

func (f *fixture) blocks(u user) []string {
	f.t.Helper()
	resp, err := f.c.GetBlocksWithResponse(f.ctx, &models.GetBlocksParams{Account: u.account}, u.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	wantStatus(f.t, "blocks", resp.HTTPResponse, resp.Body, http.StatusOK, "获取屏蔽列表成功")
	var out []string
	for _, u := range resp.JSON200.Data {
		out = append(out, u.Account)
	}
	return out
}

// TestBlockRefusesRequests: while a blocks b, b's requests get only 403
// 无权限 and a's get the message to unblock first; blocking cancels the
// requests pending between them; the friendship stays.
func TestBlockRefusesRequests(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b, c := f.newUser("blk"), f.newUser("blk"), f.newUser("blk")
	f.setPolicy(a, models.FriendPolicyApproval)
	r := f.mustAsk(b, a, "")

	if code, body := f.block(a, b.account); code != http.StatusOK {
		t.Fatalf("block: %d %s", code, body)
	}
	if code, _ := f.block(a, b.account); code != http.StatusOK {
		t.Fatal("blocking again is not a no-op")
	}
	if got := f.blocks(a); !slices.Equal(got, []string{b.account}) {
		t.Fatalf("a's blocks %v", got)
	}
	if code, _ := f.answerFriend(a, r.Id, true); code != http.StatusConflict {
		t.Fatalf("a request pending at the block can still be answered: %d", code)
	}
	resp := f.addFriend(b, a.account)
	wantStatus(t, "the blocked asking", resp.HTTPResponse, resp.Body, http.StatusForbidden, "无权限")
	resp = f.addFriend(a, b.account)
	wantStatus(t, "the blocker asking", resp.HTTPResponse, resp.Body, http.StatusForbidden, "你已屏蔽对方，请先解除屏蔽")
	if rel := f.relation(a, b).Relation; rel != models.RelationBlocked {
		t.Fatalf("a sees %s", rel)
	}

	// A friendship survives a block.
	f.mustAddFriend(a, c.account)
	if code, _ := f.block(c, a.account); code != http.StatusOK {
		t.Fatal("block a friend")
	}
	if !slices.Equal(f.friends(a), []string{c.account}) || !slices.Equal(f.friends(c), []string{a.account}) {
		t.Fatal("the block ended the friendship")
	}
	// Private: a sees c as a friend, without whether c is online.
	if p := f.relation(a, c); p.Relation != models.RelationFriend || p.Online != nil {
		t.Fatalf("a sees c as %+v", p)
	}

	// Refusals of the operation itself.
	if code, _ := f.block(a, a.account); code != http.StatusBadRequest {
		t.Fatalf("self block: %d", code)
	}
	if code, _ := f.block(a, "nobody_"+runTag); code != http.StatusNotFound {
		t.Fatalf("block of an unknown account: %d", code)
	}

	// Unblocked, b may ask again.
	unblock, err := f.c.UnblockWithResponse(f.ctx, &models.UnblockParams{UserAccount: a.account, TargetAccount: b.account}, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "unblock", unblock.HTTPResponse, unblock.Body, http.StatusOK, "已解除屏蔽")
	if got := f.blocks(a); len(got) != 0 {
		t.Fatalf("a's blocks after unblocking %v", got)
	}
	f.mustAsk(b, a, "")
}

// TestBlockHidesOnlineStatus: a friend who blocks the account, or whom it
// blocks, shows offline in getFriends and in the users frame.
func TestBlockHidesOnlineStatus(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("hide"), f.newUser("hide")
	f.mustAddFriend(a, b.account)
	f.userSocket(a)
	online := func(viewer, friend user) models.UserOnlineStatus {
		resp, err := f.c.GetFriendsWithResponse(f.ctx, &models.GetFriendsParams{Account: viewer.account}, viewer.auth)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("getFriends: %v", err)
		}
		for _, u := range resp.JSON200.Data {
			if u.Account == friend.account {
				return u.OnlineStatus
			}
		}
		t.Fatalf("%s not a friend of %s", friend.account, viewer.account)
		return 0
	}
	if online(b, a) != 1 { // the open returns once a is online
		t.Fatal("a is not online before the block")
	}
	seen := f.userSocket(b)
	if code, _ := f.block(a, b.account); code != http.StatusOK {
		t.Fatal("block")
	}
	// b's open socket, which saw a online, sees a go.
	if p := seen.Until("presence"); p["account"] != a.account || p["online"] != false {
		t.Fatalf("b got %v at the block, want a offline", p)
	}
	if online(b, a) != 0 {
		t.Fatal("b sees a online while a blocks b")
	}
	bSock := wstest.MustDial(t, f.env.WebSocketURL("/websocket/"+b.account), b.token)
	bSock.NextOf("connected")
	var users models.UsersFrame
	decode(t, bSock.NextOf("users"), &users)
	if slices.ContainsFunc(users.Users, func(u models.OnlineUser) bool { return u.Account == a.account }) {
		t.Fatalf("b's users frame %+v lists a", users.Users)
	}
	if _, err := f.c.UnblockWithResponse(f.ctx, &models.UnblockParams{UserAccount: a.account, TargetAccount: b.account}, a.auth); err != nil {
		t.Fatal(err)
	}
	if online(b, a) != 1 {
		t.Fatal("b does not see a online after the unblock")
	}
	if p := seen.Until("presence"); p["account"] != a.account || p["online"] != true {
		t.Fatalf("b got %v at the unblock, want a online", p)
	}
}
