package social_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/testenv"
	"tim/internal/wstest"
)

// member is a registered account with its token, for sockets.
type member struct {
	user
	token string
}

func (f *fixture) newMember(prefix string) member {
	f.t.Helper()
	account := fmt.Sprintf("%s_%s_%d", prefix, runTag, accountSeq.Add(1))
	token := f.env.Register(f.t, account)
	return member{user: user{account: account, token: token, auth: testenv.Auth(token)}, token: token}
}

// adminGroup makes a group of owner o, admin ad and plain members ms.
func (f *fixture) adminGroup(o, ad member, ms ...member) int64 {
	f.t.Helper()
	id := freshGroupID()
	f.mustJoinGroup(o.user, id)
	f.mustJoinGroup(ad.user, id)
	for _, m := range ms {
		f.mustJoinGroup(m.user, id)
	}
	f.wantOK("setGroupRole", f.setRole(o, id, ad.account, "admin"))
	return id
}

// result is an answer's status and body.
type result struct {
	status int
	body   []byte
}

func (f *fixture) want(what string, r result, code int, message string) {
	f.t.Helper()
	wantStatus(f.t, what, &http.Response{StatusCode: r.status}, r.body, code, message)
}

func (f *fixture) wantOK(what string, r result) {
	f.t.Helper()
	f.want(what, r, http.StatusOK, "")
}

func (f *fixture) setRole(by member, g int64, target, role string) result {
	r, err := f.c.SetGroupRoleWithResponse(f.ctx, &models.SetGroupRoleParams{UserAccount: by.account, GroupID: g, TargetAccount: target, Role: models.SetGroupRoleParamsRole(role)}, by.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{r.StatusCode(), r.Body}
}

func (f *fixture) kick(by member, g int64, target string) result {
	r, err := f.c.KickMemberWithResponse(f.ctx, &models.KickMemberParams{UserAccount: by.account, GroupID: g, TargetAccount: target}, by.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{r.StatusCode(), r.Body}
}

func (f *fixture) mute(by member, g int64, target string, secs int32) result {
	r, err := f.c.MuteMemberWithResponse(f.ctx, &models.MuteMemberParams{UserAccount: by.account, GroupID: g, TargetAccount: target, Seconds: secs}, by.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{r.StatusCode(), r.Body}
}

func (f *fixture) muteGroup(by member, g int64, muted bool) result {
	r, err := f.c.MuteGroupWithResponse(f.ctx, &models.MuteGroupParams{UserAccount: by.account, GroupID: g, Muted: muted}, by.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{r.StatusCode(), r.Body}
}

func (f *fixture) transfer(by member, g int64, target string) result {
	r, err := f.c.TransferGroupWithResponse(f.ctx, &models.TransferGroupParams{UserAccount: by.account, GroupID: g, TargetAccount: target}, by.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{r.StatusCode(), r.Body}
}

func (f *fixture) dissolve(by member, g int64) result {
	r, err := f.c.DissolveGroupWithResponse(f.ctx, &models.DissolveGroupParams{UserAccount: by.account, GroupID: g}, by.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{r.StatusCode(), r.Body}
}

func (f *fixture) updateGroup(by member, g int64, body models.UpdateGroupRequest) (result, *client.UpdateGroupResponse) {
	r, err := f.c.UpdateGroupWithResponse(f.ctx, &models.UpdateGroupParams{UserAccount: by.account, GroupID: g}, body, by.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return result{r.StatusCode(), r.Body}, r
}

// roles returns the group's members' roles and mutes as u sees them.
func (f *fixture) roles(u member, g int64) map[string]models.GroupMember {
	f.t.Helper()
	resp, err := f.c.GetGroupMembersWithResponse(f.ctx, &models.GetGroupMembersParams{GroupID: g}, u.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	wantStatus(f.t, "getGroupMembers", resp.HTTPResponse, resp.Body, http.StatusOK, "获取群成员成功")
	out := map[string]models.GroupMember{}
	for _, m := range resp.JSON200.Data {
		out[m.Account] = m
	}
	return out
}

// history returns the group's history as u reads it, or the refusal.
func (f *fixture) history(u member, g int64) ([]models.MessageFrame, result) {
	f.t.Helper()
	resp, err := f.c.GetGroupMessagesWithResponse(f.ctx, &models.GetGroupMessagesParams{Account: u.account, GroupID: g}, u.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	if resp.JSON200 == nil {
		return nil, result{resp.StatusCode(), resp.Body}
	}
	return resp.JSON200.Data, result{resp.StatusCode(), resp.Body}
}

func (f *fixture) dial(path string, m member) *wstest.Conn {
	f.t.Helper()
	return wstest.MustDial(f.t, f.env.WebSocketURL(path), m.token)
}

// groupSocket opens m's socket of group g, past its opening frames.
func (f *fixture) groupSocket(m member, g int64) *wstest.Conn {
	f.t.Helper()
	c := f.dial(fmt.Sprintf("/websocket/%d/%s", g, m.account), m)
	c.NextOf("connected")
	c.NextOf("group.online")
	return c
}

// send sends text to group g on c and returns the ack or error frame.
func send(c *wstest.Conn, g int64, text, id string) map[string]any {
	c.SendJSON(models.SendFrame{Type: "send", GroupId: &g, Text: text, ClientMsgId: &id})
	for {
		fr := c.Next()
		if fr["type"] == "ack" || fr["type"] == "error" {
			return fr
		}
	}
}

// TestSetGroupRole: the owner makes admins and members, no one else may;
// the member list shows the roles; the target must be another member.
func TestSetGroupRole(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, m, out := f.newMember("role"), f.newMember("role"), f.newMember("role"), f.newMember("role")
	g := f.adminGroup(o, ad, m)

	r := f.roles(m, g)
	if r[o.account].Role != models.GroupRoleOwner || r[ad.account].Role != models.GroupRoleAdmin || r[m.account].Role != models.GroupRoleMember {
		t.Fatalf("roles %+v", r)
	}
	f.want("admin sets a role", f.setRole(ad, g, m.account, "admin"), http.StatusForbidden, "仅群主可以操作")
	f.want("member sets a role", f.setRole(m, g, m.account, "admin"), http.StatusForbidden, "仅群主可以操作")
	f.want("owner sets its own role", f.setRole(o, g, o.account, "member"), http.StatusBadRequest, "不能对自己执行该操作")
	f.want("role of a non-member", f.setRole(o, g, out.account, "admin"), http.StatusNotFound, "对方不是群成员")
	f.want("role by a non-member", f.setRole(out, g, m.account, "admin"), http.StatusForbidden, "不是群成员，无权查看")
	f.want("role in an unknown group", f.setRole(o, freshGroupID(), m.account, "admin"), http.StatusNotFound, "群聊不存在")
	f.want("role for another account", f.setRole(member{user: user{account: o.account, auth: m.auth}}, g, m.account, "admin"), http.StatusForbidden, "无权操作其他账号")

	f.wantOK("owner demotes the admin", f.setRole(o, g, ad.account, "member"))
	if r := f.roles(o, g); r[ad.account].Role != models.GroupRoleMember {
		t.Fatalf("after demotion %+v", r[ad.account])
	}
	f.want("former admin kicks", f.kick(ad, g, m.account), http.StatusForbidden, "仅群主或管理员可以操作")
}

// TestKickMember: the owner kicks anyone, an admin members only; the
// kicked account loses the group at once: its group socket closes with
// 4003, its user socket stops carrying the group, getGroups and history
// refuse it.
func TestKickMember(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, ad2, m, m2 := f.newMember("kick"), f.newMember("kick"), f.newMember("kick"), f.newMember("kick"), f.newMember("kick")
	g := f.adminGroup(o, ad, ad2, m, m2)
	f.wantOK("second admin", f.setRole(o, g, ad2.account, "admin"))

	f.want("member kicks", f.kick(m, g, m2.account), http.StatusForbidden, "仅群主或管理员可以操作")
	f.want("admin kicks an admin", f.kick(ad, g, ad2.account), http.StatusForbidden, "不能对同级或更高角色的成员操作")
	f.want("admin kicks the owner", f.kick(ad, g, o.account), http.StatusForbidden, "不能对同级或更高角色的成员操作")
	f.want("admin kicks itself", f.kick(ad, g, ad.account), http.StatusBadRequest, "不能对自己执行该操作")

	groupSock := f.groupSocket(m, g)
	userSock := f.userSocket(m.user)
	f.wantOK("admin kicks a member", f.kick(ad, g, m.account))
	if code := groupSock.Closed(); code != 4003 {
		t.Errorf("kicked member's group socket closed with %d, want 4003", code)
	}
	if gs := f.groups(m.user); len(gs) != 0 {
		t.Errorf("kicked member's groups %+v", gs)
	}
	if _, r := f.history(m, g); r.status != http.StatusForbidden {
		t.Errorf("kicked member's history: %d %s", r.status, r.body)
	}
	f.want("kick a non-member", f.kick(ad, g, m.account), http.StatusNotFound, "对方不是群成员")
	// The user socket no longer carries the group: a message sent after
	// the kick does not reach it, while a direct message sent later does.
	ack := send(f.userSocket(o.user), g, "after the kick", "k-1")
	if ack["type"] != "ack" {
		t.Fatalf("owner's send: %v", ack)
	}
	f.mustAddFriend(o.user, m.account)
	oc := f.userSocket(o.user)
	oc.SendJSON(models.SendFrame{Type: "send", To: &m.account, Text: "direct"})
	for {
		fr := userSock.Next()
		if fr["type"] == "message" {
			if fr["message"] != "direct" {
				t.Fatalf("kicked member got %v, want only the direct message", fr)
			}
			break
		}
	}

	f.wantOK("owner kicks an admin", f.kick(o, g, ad2.account))
	if got := f.members(o.user, g); !slices.Equal(got, accountsOf(o.user, ad.user, m2.user)) {
		t.Errorf("members %v", got)
	}
	if got := f.group(o.user, g); got.MemberCount != 3 {
		t.Errorf("memberCount %d, want 3", got.MemberCount)
	}
}

// race runs the two calls at once and returns their answers.
func race(a, b func() result) (result, result) {
	var ra, rb result
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ra = a() }()
	go func() { defer wg.Done(); rb = b() }()
	wg.Wait()
	return ra, rb
}

// TestConcurrentAdministration: operations on one group take turns and
// each reads the roles the other left. Admins are of equal rank and
// cannot kick each other (403 both ways); an admin's kick of a member
// racing the owner's promotion of that member ends with exactly one of
// them done; two transfers at once leave exactly one owner.
func TestConcurrentAdministration(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for range 4 {
		o, a, b, m := f.newMember("race"), f.newMember("race"), f.newMember("race"), f.newMember("race")
		g := f.adminGroup(o, a, b, m)
		f.wantOK("second admin", f.setRole(o, g, b.account, "admin"))

		ra, rb := race(func() result { return f.kick(a, g, b.account) }, func() result { return f.kick(b, g, a.account) })
		if ra.status != http.StatusForbidden || rb.status != http.StatusForbidden {
			t.Fatalf("admins kicking each other: %d %s / %d %s, want 403 both", ra.status, ra.body, rb.status, rb.body)
		}

		kick, promote := race(func() result { return f.kick(a, g, m.account) }, func() result { return f.setRole(o, g, m.account, "admin") })
		members := f.roles(o, g)
		switch {
		case kick.status == http.StatusOK && promote.status == http.StatusNotFound:
			if _, ok := members[m.account]; ok {
				t.Fatalf("kicked first, yet still a member: %+v", members)
			}
		case kick.status == http.StatusForbidden && promote.status == http.StatusOK:
			if members[m.account].Role != models.GroupRoleAdmin {
				t.Fatalf("promoted first, yet %+v", members[m.account])
			}
		default:
			t.Fatalf("kick %d %s, promote %d %s: want exactly one done", kick.status, kick.body, promote.status, promote.body)
		}

		t1, t2 := race(func() result { return f.transfer(o, g, a.account) }, func() result { return f.transfer(o, g, b.account) })
		if (t1.status == http.StatusOK) == (t2.status == http.StatusOK) {
			t.Fatalf("two transfers: %d %s / %d %s, want exactly one done", t1.status, t1.body, t2.status, t2.body)
		}
		owners := 0
		for _, mm := range f.roles(o, g) {
			if mm.Role == models.GroupRoleOwner {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("%d owners after two transfers at once", owners)
		}
	}
}

// TestMuteMember: a muted member's sends are refused with 403 禁言中 and
// the mute's end, nothing stored; the member list shows it; 0 lifts it;
// no one mutes the owner, an admin mutes members only.
func TestMuteMember(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, m := f.newMember("mute"), f.newMember("mute"), f.newMember("mute")
	g := f.adminGroup(o, ad, m)

	f.want("admin mutes the owner", f.mute(ad, g, o.account, 60), http.StatusForbidden, "不能对同级或更高角色的成员操作")
	f.want("member mutes", f.mute(m, g, ad.account, 60), http.StatusForbidden, "仅群主或管理员可以操作")
	before := time.Now()
	f.wantOK("admin mutes a member", f.mute(ad, g, m.account, 600))
	until := f.roles(o, g)[m.account].MutedUntil
	if until == nil || until.Before(before.Add(590*time.Second)) || until.After(time.Now().Add(610*time.Second)) {
		t.Fatalf("mutedUntil %v, want about 10 minutes from now", until)
	}
	sock := f.userSocket(m.user)
	e := send(sock, g, "while muted", "m-1")
	if e["type"] != "error" || e["code"] != float64(403) || e["message"] != "禁言中" || e["clientMsgId"] != "m-1" {
		t.Fatalf("muted send answered %v", e)
	}
	if got, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["mutedUntil"])); err != nil || !got.Equal(*until) {
		t.Fatalf("error frame's mutedUntil %v, want %v", e["mutedUntil"], until)
	}
	// Nothing stored; other members still send.
	if a := send(f.userSocket(ad.user), g, "admin speaks", "a-1"); a["type"] != "ack" {
		t.Fatalf("admin's send %v", a)
	}
	hist, _ := f.history(o, g)
	for _, h := range hist {
		if h.Message == "while muted" {
			t.Fatalf("the muted send was stored: %+v", h)
		}
	}
	f.wantOK("lift the mute", f.mute(o, g, m.account, 0))
	if until := f.roles(o, g)[m.account].MutedUntil; until != nil {
		t.Fatalf("mutedUntil %v after lifting", until)
	}
	if a := send(sock, g, "free again", "m-2"); a["type"] != "ack" {
		t.Fatalf("send after the mute was lifted: %v", a)
	}
}

// TestMuteGroup: while the group is muted only its owner and admins send;
// a member's send is refused with 403 禁言中 and no mutedUntil.
func TestMuteGroup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, m := f.newMember("mutegroup"), f.newMember("mutegroup"), f.newMember("mutegroup")
	g := f.adminGroup(o, ad, m)

	f.want("member mutes the group", f.muteGroup(m, g, true), http.StatusForbidden, "仅群主或管理员可以操作")
	f.wantOK("admin mutes the group", f.muteGroup(ad, g, true))
	if got := f.group(m.user, g); !got.Muted {
		t.Fatalf("getGroups %+v, want muted", got)
	}
	e := send(f.userSocket(m.user), g, "muted group", "m-1")
	if e["type"] != "error" || e["code"] != float64(403) || e["message"] != "禁言中" {
		t.Fatalf("member's send in a muted group: %v", e)
	}
	if _, ok := e["mutedUntil"]; ok {
		t.Fatalf("a group mute names no end: %v", e)
	}
	for _, u := range []member{o, ad} {
		if a := send(f.userSocket(u.user), g, "may speak", "s-"+u.account); a["type"] != "ack" {
			t.Fatalf("%s's send in a muted group: %v", u.account, a)
		}
	}
	f.wantOK("unmute", f.muteGroup(o, g, false))
	if a := send(f.userSocket(m.user), g, "unmuted", "m-2"); a["type"] != "ack" {
		t.Fatalf("member's send after unmuting: %v", a)
	}
}

// TestTransferGroup: the owner hands the group over and becomes an admin;
// the new owner is getGroups' owner and alone may dissolve; the old owner
// may now leave.
func TestTransferGroup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, m, out := f.newMember("transfer"), f.newMember("transfer"), f.newMember("transfer"), f.newMember("transfer")
	g := f.adminGroup(o, ad, m)

	f.want("admin transfers", f.transfer(ad, g, m.account), http.StatusForbidden, "仅群主可以操作")
	f.want("transfer to a non-member", f.transfer(o, g, out.account), http.StatusNotFound, "对方不是群成员")
	f.want("transfer to oneself", f.transfer(o, g, o.account), http.StatusBadRequest, "不能对自己执行该操作")
	f.wantOK("transfer", f.transfer(o, g, m.account))
	r := f.roles(o, g)
	if r[m.account].Role != models.GroupRoleOwner || r[o.account].Role != models.GroupRoleAdmin {
		t.Fatalf("roles after the transfer %+v", r)
	}
	if got := f.group(o.user, g); got.Owner != m.account {
		t.Fatalf("owner %q, want %q", got.Owner, m.account)
	}
	f.want("old owner dissolves", f.dissolve(o, g), http.StatusForbidden, "仅群主可以操作")
	left := f.leaveGroup(m.user, g)
	wantStatus(t, "new owner leaves", left.HTTPResponse, left.Body, http.StatusForbidden, "群主需先转让群聊才能退出")
	resp := f.leaveGroup(o.user, g)
	wantStatus(t, "old owner leaves", resp.HTTPResponse, resp.Body, http.StatusOK, "退出群聊成功")
}

// TestDissolveGroup: every member loses the group at once (group sockets
// 4003), it leaves getGroups and the conversation list, history answers
// 403, and its id is never used again.
func TestDissolveGroup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, m := f.newMember("dissolve"), f.newMember("dissolve"), f.newMember("dissolve")
	g := f.adminGroup(o, ad, m)

	f.want("admin dissolves", f.dissolve(ad, g), http.StatusForbidden, "仅群主可以操作")
	socks := []*wstest.Conn{f.groupSocket(m, g), f.groupSocket(ad, g), f.groupSocket(o, g)}
	userSock := f.userSocket(m.user)
	// The socket is live once it has the last event before the dissolve
	// (ad's role), caught up from m's cursor.
	for userSock.NextOf("event")["event"] != "role" {
	}
	f.wantOK("dissolve", f.dissolve(o, g))
	for i, s := range socks {
		if code := s.Closed(); code != 4003 {
			t.Errorf("group socket %d closed with %d, want 4003", i, code)
		}
	}
	if ev := userSock.NextOf("event"); ev["event"] != "dissolve" || ev["actor"] != o.account || ev["text"] != o.account+"解散了群聊" {
		t.Errorf("member's user socket got %v, want the dissolve event", ev)
	}
	for _, u := range []member{o, ad, m} {
		if gs := f.groups(u.user); len(gs) != 0 {
			t.Errorf("%s's groups after the dissolve %+v", u.account, gs)
		}
		conv, err := f.c.GetConversationsWithResponse(f.ctx, &models.GetConversationsParams{Account: u.account}, u.auth)
		if err != nil || conv.JSON200 == nil {
			t.Fatalf("conversations: %v", err)
		}
		if n := len(conv.JSON200.Data.Conversations); n != 0 {
			t.Errorf("%s's conversation list has %d after the dissolve", u.account, n)
		}
		if _, r := f.history(u, g); r.status != http.StatusForbidden {
			t.Errorf("%s's history after the dissolve: %d %s", u.account, r.status, r.body)
		}
	}
	join := f.joinGroup(m.user, g)
	wantStatus(t, "join the dissolved group", join.HTTPResponse, join.Body, http.StatusNotFound, "群聊已解散")
	f.want("dissolve again", f.dissolve(o, g), http.StatusForbidden, "不是群成员，无权查看")
}

// TestUpdateGroup: owner and admins change the name, announcement and
// policies; getGroups shows them; a member may not.
func TestUpdateGroup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, ad, m := f.newMember("update"), f.newMember("update"), f.newMember("update")
	g := f.adminGroup(o, ad, m)
	name, ann := "周末爬山", "周六早上八点地铁站集合"
	policy, vis := models.JoinPolicyApproval, models.HistoryVisibilityJoined

	r, _ := f.updateGroup(m, g, models.UpdateGroupRequest{Name: &name})
	f.want("member updates", r, http.StatusForbidden, "仅群主或管理员可以操作")
	r, resp := f.updateGroup(ad, g, models.UpdateGroupRequest{Name: &name, Announcement: &ann, JoinPolicy: &policy, HistoryVisibility: &vis})
	f.want("admin updates", r, http.StatusOK, "更新群聊成功")
	want := models.Group{Id: g, Name: name, Owner: o.account, MemberCount: 3, JoinPolicy: policy, HistoryVisibility: vis, Announcement: ann}
	if resp.JSON200.Data != want {
		t.Fatalf("answer %+v, want %+v", resp.JSON200.Data, want)
	}
	if got := f.group(m.user, g); got != want {
		t.Fatalf("getGroups %+v, want %+v", got, want)
	}
	long := strings.Repeat("长", 2001)
	r, _ = f.updateGroup(o, g, models.UpdateGroupRequest{Announcement: &long})
	f.want("announcement too long", r, http.StatusBadRequest, "")
}

// TestGroupTimeline: every change is an event with its own seq among the
// messages: live on user and group sockets, replayed by catch-up and
// sync in seq order, and listed by history as a message carrying the
// event; each has a plain text line for clients that know no events.
func TestGroupTimeline(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, m, late := f.newMember("timeline"), f.newMember("timeline"), f.newMember("timeline")
	g := freshGroupID()
	f.mustJoinGroup(o.user, g)
	ownerSock := f.userSocket(o.user)
	groupSock := f.groupSocket(o, g)
	f.mustJoinGroup(m.user, g)
	name := "新名字"
	ann := "公告"
	msock := f.userSocket(m.user)
	// From another socket of m's: msock gets the message frame.
	if a := send(f.userSocket(m.user), g, "hello", "h-1"); a["type"] != "ack" {
		t.Fatalf("send %v", a)
	}
	f.wantOK("role", f.setRole(o, g, m.account, "admin"))
	f.wantOK("mute", f.mute(o, g, m.account, 60))
	f.wantOK("unmute", f.mute(o, g, m.account, 0))
	f.wantOK("mute group", f.muteGroup(o, g, true))
	r, _ := f.updateGroup(o, g, models.UpdateGroupRequest{Name: &name, Announcement: &ann})
	f.wantOK("update", r)
	f.mustJoinGroup(late.user, g)
	f.wantOK("kick", f.kick(o, g, late.account))
	f.wantOK("transfer", f.transfer(o, g, m.account))

	type step struct{ event, text string }
	want := []step{
		{"join", "用户" + o.account + "加入群聊"}, // the join that created the group
		{"join", "用户" + m.account + "加入群聊"},
		{"message", "hello"},
		{"role", "用户" + m.account + "被" + o.account + "设为管理员"},
		{"mute", ""},
		{"mute", "用户" + m.account + "被" + o.account + "解除禁言"},
		{"muteGroup", o.account + "开启了全员禁言"},
		{"rename", o.account + `将群名改为"新名字"`},
		{"announcement", o.account + "更新了群公告：公告"},
		{"join", "用户" + late.account + "加入群聊"},
		{"kick", "用户" + late.account + "被" + o.account + "移出群聊"},
		{"transfer", o.account + "将群主转让给" + m.account},
		{"leave", "用户" + o.account + "退出群聊"},
	}
	// check reads the steps from frames in seq order 1, 2, ...
	check := func(what string, next func() map[string]any, from, to int) {
		t.Helper()
		for i, w := range want[from:to] {
			fr := next()
			seq := from + i + 1
			if fr["seq"] != float64(seq) {
				t.Fatalf("%s: frame %v, want seq %d", what, fr, seq)
			}
			if w.event == "message" {
				if fr["type"] != "message" || fr["message"] != w.text {
					t.Fatalf("%s: frame %v, want message %q", what, fr, w.text)
				}
				continue
			}
			if fr["type"] != "event" || fr["event"] != w.event || fr["groupId"] != float64(g) {
				t.Fatalf("%s: frame %v, want event %s", what, fr, w.event)
			}
			if w.text != "" && fr["text"] != w.text {
				t.Fatalf("%s: text %q, want %q", what, fr["text"], w.text)
			}
		}
	}
	timeline := func(c *wstest.Conn) func() map[string]any {
		return func() map[string]any {
			for {
				fr := c.Next()
				if fr["type"] == "message" || fr["type"] == "event" {
					return fr
				}
			}
		}
	}
	// The owner's user and group sockets, open from before the first
	// join, get everything up to the transfer; then the owner leaves,
	// which closes its group socket (whether its own leave event reaches
	// it before is not promised).
	n := len(want)
	check("owner's user socket", timeline(ownerSock), 0, n-1)
	check("owner's group socket", timeline(groupSock), 0, n-1)
	resp := f.leaveGroup(o.user, g)
	wantStatus(t, "leave", resp.HTTPResponse, resp.Body, http.StatusOK, "退出群聊成功")
	// The member's user socket opened after its join: it starts at its
	// own join event, where its cursor started, and gets the leave too.
	check("member's user socket", timeline(msock), 1, n)
	if code := groupSock.Closed(); code != 4003 {
		t.Errorf("owner's group socket closed with %d after leaving, want 4003", code)
	}

	// sync from 0 replays everything in order.
	msock.SendJSON(models.SyncFrame{Type: "sync", GroupId: &g, AfterSeq: 0})
	check("sync", timeline(msock), 0, n)

	// History lists the events in place, as messages carrying them.
	hist, _ := f.history(m, g)
	if len(hist) != len(want) {
		t.Fatalf("history has %d rows, want %d: %+v", len(hist), len(want), hist)
	}
	for i, h := range hist {
		w := want[i]
		if h.Seq != int64(i+1) {
			t.Fatalf("history row %d: seq %d", i, h.Seq)
		}
		if w.event == "message" {
			if h.Event != nil || h.Message != w.text {
				t.Fatalf("history row %d: %+v, want message %q", i, h, w.text)
			}
			continue
		}
		if h.Event == nil || string(h.Event.Event) != w.event || h.Kind != models.MessageKindText || h.Message != h.Event.Text {
			t.Fatalf("history row %d: %+v, want event %s", i, h, w.event)
		}
	}
	if mu := hist[4].Event; mu.MutedUntil == nil || *mu.Target != m.account || !strings.Contains(mu.Text, "禁言至") {
		t.Fatalf("mute event %+v", mu)
	}
	if rn := hist[7].Event; rn.Name == nil || *rn.Name != name {
		t.Fatalf("rename event %+v", rn)
	}
}

// TestAdmittedJoinsAreEvents: a member added by an invitation or by an
// accepted join request joins the timeline like one who joined an open
// group: a join event whose actor is who let them in.
func TestAdmittedJoinsAreEvents(t *testing.T) {
	t.Parallel()
	f := setup(t)
	o, invited, asked := f.newMember("admit"), f.newMember("admit"), f.newMember("admit")
	g := f.createGroupWith(o.user, "approval", policy(models.JoinPolicyApproval), nil).Id
	sock := f.userSocket(o.user)

	inv := f.invite(o.user, g, invited.account)
	wantStatus(t, "invite", inv.HTTPResponse, inv.Body, http.StatusOK, "")
	req := f.mustRequestJoin(asked.user, g, "")
	ans := f.answer(o.user, req.Id, true)
	wantStatus(t, "accept", ans.HTTPResponse, ans.Body, http.StatusOK, "")

	for _, target := range []string{invited.account, asked.account} {
		var ev map[string]any
		for ev = sock.NextOf("event"); ev["event"] != "join"; ev = sock.NextOf("event") {
		}
		if ev["actor"] != o.account || ev["target"] != target || ev["text"] != o.account+"将用户"+target+"加入群聊" {
			t.Fatalf("join event %v, want %s let in by %s", ev, target, o.account)
		}
	}
	hist, _ := f.history(asked, g)
	if len(hist) == 0 || hist[len(hist)-1].Event == nil || *hist[len(hist)-1].Event.Target != asked.account {
		t.Fatalf("the accepted member's history %+v, want its join event last", hist)
	}
}
