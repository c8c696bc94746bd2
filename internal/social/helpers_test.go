package social_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/social"
	"tim/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// runTag marks this run's accounts, so that they are unlikely to exist by
// accident (e.g. the unknown accounts the tests name).
var runTag = func() string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}()

var accountSeq atomic.Int64

// user is a registered, logged-in account.
type user struct {
	account string
	token   string
	auth    client.RequestEditorFn
}

// fixture is what a test needs: the server's client and a way to make users.
type fixture struct {
	t   *testing.T
	env *testenv.Env
	c   *client.ClientWithResponses
	ctx context.Context
}

func setup(t *testing.T, opts ...testenv.Option) *fixture {
	t.Helper()
	env := testenv.New(t, opts...)
	return &fixture{t: t, env: env, c: env.Client, ctx: t.Context()}
}

// newUser registers a fresh account whose name starts with prefix.
func (f *fixture) newUser(prefix string) user {
	f.t.Helper()
	account := fmt.Sprintf("%s_%s_%d", prefix, runTag, accountSeq.Add(1))
	token := f.env.Register(f.t, account)
	return user{account: account, token: token, auth: testenv.Auth(token)}
}

// newUsers registers n fresh accounts.
func (f *fixture) newUsers(prefix string, n int) []user {
	f.t.Helper()
	users := make([]user, n)
	for i := range users {
		users[i] = f.newUser(prefix)
	}
	return users
}

// freshGroupID is a random group id, beyond what the server's sequence
// (starting at 100000) reaches in a test, and at most social.MaxGroupID.
func freshGroupID() int64 {
	const low = 1_000_000_000_000
	return low + mrand.Int64N(social.MaxGroupID-low+1)
}

// wantStatus fails the test unless the response has the status code and an
// envelope with the same code and the message.
func wantStatus(t *testing.T, what string, resp *http.Response, body []byte, code int, message string) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s: status %d, want %d; body %s", what, resp.StatusCode, code, body)
	}
	if message != "" && !bytes.Contains(body, []byte(`"message":"`+message+`"`)) {
		t.Fatalf("%s: body %s, want message %q", what, body, message)
	}
	if !bytes.Contains(body, fmt.Appendf(nil, `"code":%d`, code)) {
		t.Fatalf("%s: body %s, want code %d in the envelope", what, body, code)
	}
	if bytes.Contains(bytes.ToLower(body), []byte("password")) {
		t.Fatalf("%s: body mentions a password: %s", what, body)
	}
}

func (f *fixture) addFriend(u user, friend string) *client.AddFriendResponse {
	f.t.Helper()
	resp, err := f.c.AddFriendWithResponse(f.ctx, &models.AddFriendParams{UserAccount: u.account, FriendAccount: friend}, u.auth)
	if err != nil {
		f.t.Fatalf("addFriend: %v", err)
	}
	return resp
}

func (f *fixture) mustAddFriend(u user, friend string) {
	f.t.Helper()
	resp := f.addFriend(u, friend)
	wantStatus(f.t, "addFriend", resp.HTTPResponse, resp.Body, http.StatusOK, "添加好友成功")
}

func (f *fixture) deleteFriend(u user, friend string) *client.DeleteFriendResponse {
	f.t.Helper()
	resp, err := f.c.DeleteFriendWithResponse(f.ctx, &models.DeleteFriendParams{UserAccount: u.account, FriendAccount: friend}, u.auth)
	if err != nil {
		f.t.Fatalf("deleteFriend: %v", err)
	}
	return resp
}

// friends returns the accounts of u's friends, in the order served.
func (f *fixture) friends(u user) []string {
	f.t.Helper()
	resp, err := f.c.GetFriendsWithResponse(f.ctx, &models.GetFriendsParams{Account: u.account}, u.auth)
	if err != nil {
		f.t.Fatalf("getFriends: %v", err)
	}
	wantStatus(f.t, "getFriends", resp.HTTPResponse, resp.Body, http.StatusOK, "获取好友列表成功")
	accounts := make([]string, 0, len(resp.JSON200.Data))
	for _, fr := range resp.JSON200.Data {
		accounts = append(accounts, fr.Account)
	}
	return accounts
}

func (f *fixture) joinGroup(u user, id int64) *client.JoinGroupResponse {
	f.t.Helper()
	resp, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{UserAccount: u.account, GroupID: id}, u.auth)
	if err != nil {
		f.t.Fatalf("joinGroup: %v", err)
	}
	return resp
}

func (f *fixture) mustJoinGroup(u user, id int64) models.Group {
	f.t.Helper()
	resp := f.joinGroup(u, id)
	wantStatus(f.t, "joinGroup", resp.HTTPResponse, resp.Body, http.StatusOK, "加入群聊成功")
	return resp.JSON200.Data
}

func (f *fixture) leaveGroup(u user, id int64) *client.LeaveGroupResponse {
	f.t.Helper()
	resp, err := f.c.LeaveGroupWithResponse(f.ctx, &models.LeaveGroupParams{UserAccount: u.account, GroupID: id}, u.auth)
	if err != nil {
		f.t.Fatalf("leaveGroup: %v", err)
	}
	return resp
}

func (f *fixture) createGroup(u user, name string) models.Group {
	f.t.Helper()
	resp, err := f.c.CreateGroupWithResponse(f.ctx, &models.CreateGroupParams{UserAccount: u.account, GroupName: name}, u.auth)
	if err != nil {
		f.t.Fatalf("createGroup: %v", err)
	}
	wantStatus(f.t, "createGroup", resp.HTTPResponse, resp.Body, http.StatusOK, "创建群聊成功")
	return resp.JSON200.Data
}

// groups returns u's groups, in the order served.
func (f *fixture) groups(u user) []models.Group {
	f.t.Helper()
	resp, err := f.c.GetGroupsWithResponse(f.ctx, &models.GetGroupsParams{Account: u.account}, u.auth)
	if err != nil {
		f.t.Fatalf("getGroups: %v", err)
	}
	wantStatus(f.t, "getGroups", resp.HTTPResponse, resp.Body, http.StatusOK, "获取群聊列表成功")
	return resp.JSON200.Data
}

// group returns u's group id, failing when u is not a member.
func (f *fixture) group(u user, id int64) models.Group {
	f.t.Helper()
	gs := f.groups(u)
	i := slices.IndexFunc(gs, func(g models.Group) bool { return g.Id == id })
	if i < 0 {
		f.t.Fatalf("group %d not among %s's groups %+v", id, u.account, gs)
	}
	return gs[i]
}

// members returns the accounts of the group's members as u sees them.
func (f *fixture) members(u user, id int64) []string {
	f.t.Helper()
	resp, err := f.c.GetGroupMembersWithResponse(f.ctx, &models.GetGroupMembersParams{GroupID: id}, u.auth)
	if err != nil {
		f.t.Fatalf("getGroupMembers: %v", err)
	}
	wantStatus(f.t, "getGroupMembers", resp.HTTPResponse, resp.Body, http.StatusOK, "获取群成员成功")
	accounts := make([]string, 0, len(resp.JSON200.Data))
	for _, m := range resp.JSON200.Data {
		accounts = append(accounts, m.Account)
	}
	return accounts
}

func accountsOf(users ...user) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.account
	}
	slices.Sort(out)
	return out
}

// withQuery replaces the request's query string, to send a URL exactly as
// the API document writes it.
func withQuery(raw string) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.URL.RawQuery = raw
		return nil
	}
}
