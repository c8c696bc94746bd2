package social_test

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/social"
	"tim/internal/testenv"
	"tim/internal/wstest"
)

// createGroupWith creates a group with a join policy and history
// visibility (nil: the defaults).
func (f *fixture) createGroupWith(u user, name string, policy *models.JoinPolicy, vis *models.HistoryVisibility) models.Group {
	f.t.Helper()
	resp, err := f.c.CreateGroupWithResponse(f.ctx, &models.CreateGroupParams{UserAccount: u.account, GroupName: name, JoinPolicy: policy, HistoryVisibility: vis}, u.auth)
	if err != nil {
		f.t.Fatalf("createGroup: %v", err)
	}
	wantStatus(f.t, "createGroup", resp.HTTPResponse, resp.Body, http.StatusOK, "创建群聊成功")
	return resp.JSON200.Data
}

func policy(p models.JoinPolicy) *models.JoinPolicy                   { return &p }
func visibility(v models.HistoryVisibility) *models.HistoryVisibility { return &v }

func (f *fixture) joinWith(u user, id int64, message string) *client.JoinGroupResponse {
	f.t.Helper()
	resp, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{UserAccount: u.account, GroupID: id, Message: &message}, u.auth)
	if err != nil {
		f.t.Fatalf("joinGroup: %v", err)
	}
	return resp
}

// mustRequestJoin joins an approval group and returns the pending request.
func (f *fixture) mustRequestJoin(u user, id int64, message string) models.JoinRequest {
	f.t.Helper()
	resp := f.joinWith(u, id, message)
	wantStatus(f.t, "joinGroup of an approval group", resp.HTTPResponse, resp.Body, http.StatusAccepted, "入群申请已发送")
	r := resp.JSON202.Data
	if r.GroupId != id || r.Account != u.account || r.Message != message || r.Status != models.JoinRequestStatusPending {
		f.t.Fatalf("join request %+v, want a pending one of %s to %d saying %q", r, u.account, id, message)
	}
	return r
}

func (f *fixture) joinRequests(u user, id int64) *client.GetJoinRequestsResponse {
	f.t.Helper()
	resp, err := f.c.GetJoinRequestsWithResponse(f.ctx, &models.GetJoinRequestsParams{Account: u.account, GroupID: id}, u.auth)
	if err != nil {
		f.t.Fatalf("joinRequests: %v", err)
	}
	return resp
}

func (f *fixture) answer(u user, id int64, accept bool) *client.AnswerJoinRequestResponse {
	f.t.Helper()
	resp, err := f.c.AnswerJoinRequestWithResponse(f.ctx, &models.AnswerJoinRequestParams{UserAccount: u.account, Id: id, Accept: accept}, u.auth)
	if err != nil {
		f.t.Fatalf("answerJoinRequest: %v", err)
	}
	return resp
}

func (f *fixture) invite(u user, id int64, target string) *client.InviteMemberResponse {
	f.t.Helper()
	resp, err := f.c.InviteMemberWithResponse(f.ctx, &models.InviteMemberParams{UserAccount: u.account, GroupID: id, TargetAccount: target}, u.auth)
	if err != nil {
		f.t.Fatalf("inviteMember: %v", err)
	}
	return resp
}

// pool is a connection to the server's database, for the rows a test sets
// up that no route of this package writes (roles, blocks).
func (f *fixture) pool() *pgxpool.Pool {
	f.t.Helper()
	pool, err := pgxpool.New(f.ctx, f.env.Config.DatabaseURL)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(pool.Close)
	return pool
}

// addRawMember makes account a member of g with role, as the group
// administration routes would.
func (f *fixture) addRawMember(pool *pgxpool.Pool, g int64, account, role string) {
	f.t.Helper()
	f.exec(pool, `WITH m AS (INSERT INTO group_members (group_id, account, role) VALUES ($1, $2, $3) RETURNING group_id)
		UPDATE groups SET member_count = member_count + 1 WHERE id = (SELECT group_id FROM m)`, g, account, role)
}

func (f *fixture) exec(pool *pgxpool.Pool, sql string, args ...any) {
	f.t.Helper()
	if _, err := pool.Exec(f.ctx, sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

// userSocket opens u's user socket and reads its opening frames.
func (f *fixture) userSocket(u user) *wstest.Conn {
	f.t.Helper()
	c := wstest.MustDial(f.t, f.env.WebSocketURL("/websocket/"+u.account), u.token)
	c.NextOf("users")
	return c
}

// Consecutive createGroups draw ids at random: no two follow each other,
// they are not in order, and each is from 1 to 2^53-1.
func TestCreateGroupIDsAreRandom(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.newUser("random")
	var ids []int64
	for i := range 20 {
		g := f.createGroup(a, "g"+strconv.Itoa(i))
		if g.Id < 1 || g.Id > social.MaxGroupID {
			t.Fatalf("id %d is outside 1 to 2^53-1", g.Id)
		}
		if slices.Contains(ids, g.Id) {
			t.Fatalf("id %d drawn twice", g.Id)
		}
		if n := len(ids); n > 0 && (g.Id == ids[n-1]+1 || g.Id == ids[n-1]-1) {
			t.Fatalf("id %d follows %d", g.Id, ids[n-1])
		}
		ids = append(ids, g.Id)
	}
	if slices.IsSorted(ids) {
		t.Fatalf("ids %v are in order", ids)
	}
}

// createGroup takes a join policy and a history visibility; without them
// a group follows the deployment's default policy, shared history, and a
// group created by a join the default policy too.
func TestCreateGroupPolicies(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WithConfig(func(c *config.Config) { c.Social.DefaultJoinPolicy = "approval" }))
	a, b := f.newUser("pol"), f.newUser("pol")

	g := f.createGroupWith(a, "invite", policy(models.JoinPolicyInvite), visibility(models.HistoryVisibilityJoined))
	if g.JoinPolicy != models.JoinPolicyInvite || g.HistoryVisibility != models.HistoryVisibilityJoined {
		t.Errorf("created %+v, want invite and joined", g)
	}
	if got := f.group(a, g.Id); got != g {
		t.Errorf("getGroups has %+v, want %+v", got, g)
	}
	d := f.createGroup(a, "default")
	if d.JoinPolicy != models.JoinPolicyApproval || d.HistoryVisibility != models.HistoryVisibilityShared {
		t.Errorf("created without policies: %+v, want the default approval and shared", d)
	}
	// The group's default applies to others' joins, not to its creator's.
	f.mustRequestJoin(b, d.Id, "")
	byJoin := f.mustJoinGroup(b, freshGroupID())
	if byJoin.JoinPolicy != models.JoinPolicyApproval || byJoin.Owner != b.account {
		t.Errorf("created by a join: %+v", byJoin)
	}
}

// An approval group: a join makes a request (the same one while pending),
// the owner's sockets hear of it, the owner lists and accepts it, the
// requester's sockets hear of that and carry the group from then on, and a
// second answer is refused.
func TestJoinApproval(t *testing.T) {
	t.Parallel()
	f := setup(t)
	owner, asker, member := f.newUser("appr"), f.newUser("appr"), f.newUser("appr")
	g := f.createGroupWith(owner, "approval", policy(models.JoinPolicyApproval), nil)
	ownerSock, askerSock := f.userSocket(owner), f.userSocket(asker)

	r := f.mustRequestJoin(asker, g.Id, "我是小明")
	n := ownerSock.NextOf("joinRequest")
	if n["id"] != float64(r.Id) || n["groupId"] != float64(g.Id) || n["account"] != asker.account || n["message"] != "我是小明" {
		t.Fatalf("owner's notice %v, want request %+v", n, r)
	}
	if again := f.mustRequestJoin(asker, g.Id, "我是小明"); again.Id != r.Id {
		t.Fatalf("a second join while pending made request %d, want the same %d", again.Id, r.Id)
	}
	if got := f.members(owner, g.Id); !slices.Equal(got, []string{owner.account}) {
		t.Fatalf("members while pending: %v", got)
	}

	// Only the owner and admins see and answer requests.
	f.addRawMember(f.pool(), g.Id, member.account, "member")
	for _, u := range []user{asker, member} {
		resp := f.joinRequests(u, g.Id)
		wantStatus(t, "joinRequests by "+u.account, resp.HTTPResponse, resp.Body, http.StatusForbidden, "仅群主和管理员可以审批入群或邀请成员")
		a := f.answer(u, r.Id, true)
		wantStatus(t, "answer by "+u.account, a.HTTPResponse, a.Body, http.StatusForbidden, "仅群主和管理员可以审批入群或邀请成员")
	}
	list := f.joinRequests(owner, g.Id)
	wantStatus(t, "joinRequests", list.HTTPResponse, list.Body, http.StatusOK, "获取入群申请成功")
	if len(list.JSON200.Data) != 1 || list.JSON200.Data[0].Id != r.Id {
		t.Fatalf("joinRequests = %+v, want request %d", list.JSON200.Data, r.Id)
	}

	a := f.answer(owner, r.Id, true)
	wantStatus(t, "accept", a.HTTPResponse, a.Body, http.StatusOK, "已处理入群申请")
	if a.JSON200.Data.Status != models.JoinRequestStatusAccepted {
		t.Fatalf("accepted request: %+v", a.JSON200.Data)
	}
	n = askerSock.NextOf("joinRequestAnswered")
	if n["id"] != float64(r.Id) || n["groupId"] != float64(g.Id) || n["accepted"] != true {
		t.Fatalf("requester's notice %v", n)
	}
	if got := f.members(owner, g.Id); !slices.Equal(got, accountsOf(owner, asker, member)) {
		t.Fatalf("members after acceptance: %v", got)
	}
	// The accepted member's user socket carries the group at once.
	ownerSock.SendJSON(map[string]any{"type": "send", "groupId": g.Id, "text": "欢迎", "clientMsgId": "w-1"})
	if m := askerSock.Message(); m.GroupId == nil || *m.GroupId != g.Id || m.Message != "欢迎" {
		t.Fatalf("the new member's socket got %+v", m)
	}

	again := f.answer(owner, r.Id, false)
	wantStatus(t, "second answer", again.HTTPResponse, again.Body, http.StatusConflict, "该入群申请已处理")
	joined := f.joinGroup(asker, g.Id)
	wantStatus(t, "join as a member", joined.HTTPResponse, joined.Body, http.StatusConflict, "已在群聊中")
	none := f.answer(owner, r.Id+1_000_000, true)
	wantStatus(t, "answer of no request", none.HTTPResponse, none.Body, http.StatusNotFound, "入群申请不存在")

	// A rejection: no member, the requester hears it, and may ask again.
	other := f.newUser("appr")
	otherSock := f.userSocket(other)
	r2 := f.mustRequestJoin(other, g.Id, "")
	rej := f.answer(owner, r2.Id, false)
	wantStatus(t, "reject", rej.HTTPResponse, rej.Body, http.StatusOK, "已处理入群申请")
	if rej.JSON200.Data.Status != models.JoinRequestStatusRejected {
		t.Fatalf("rejected request: %+v", rej.JSON200.Data)
	}
	if n := otherSock.NextOf("joinRequestAnswered"); n["id"] != float64(r2.Id) || n["accepted"] != false {
		t.Fatalf("rejected requester's notice %v", n)
	}
	if slices.Contains(f.members(owner, g.Id), other.account) {
		t.Fatal("a rejected requester is a member")
	}
	if r3 := f.mustRequestJoin(other, g.Id, "再试一次"); r3.Id == r2.Id {
		t.Fatalf("a request after a rejection is the rejected one %d", r2.Id)
	}
}

// joinRequests lists pending requests newest first, in pages.
func TestJoinRequestsPaged(t *testing.T) {
	t.Parallel()
	f := setup(t)
	owner := f.newUser("page")
	g := f.createGroupWith(owner, "paged", policy(models.JoinPolicyApproval), nil)
	var want []int64
	for _, u := range f.newUsers("page", 5) {
		want = append([]int64{f.mustRequestJoin(u, g.Id, "").Id}, want...)
	}
	var got []int64
	var before *int64
	for {
		limit := int32(2)
		resp, err := f.c.GetJoinRequestsWithResponse(f.ctx, &models.GetJoinRequestsParams{Account: owner.account, GroupID: g.Id, BeforeId: before, Limit: &limit}, owner.auth)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "joinRequests", resp.HTTPResponse, resp.Body, http.StatusOK, "获取入群申请成功")
		page := resp.JSON200.Data
		for _, r := range page {
			got = append(got, r.Id)
		}
		if len(page) < int(limit) {
			break
		}
		last := page[len(page)-1].Id
		before = &last
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages hold %v, want %v (newest first)", got, want)
	}
}

// Two admins answering one request at once: exactly one answer wins, the
// other gets 409, and an accepted requester is added once.
func TestJoinRequestAnsweredTwiceConcurrently(t *testing.T) {
	t.Parallel()
	f := setup(t)
	owner, admin := f.newUser("race"), f.newUser("race")
	g := f.createGroupWith(owner, "race", policy(models.JoinPolicyApproval), nil)
	f.addRawMember(f.pool(), g.Id, admin.account, "admin")
	for i, asker := range f.newUsers("race", 8) {
		r := f.mustRequestJoin(asker, g.Id, "")
		codes := make([]int, 2)
		var wg sync.WaitGroup
		for j, u := range []user{owner, admin} {
			wg.Go(func() {
				resp, err := f.c.AnswerJoinRequestWithResponse(f.ctx, &models.AnswerJoinRequestParams{UserAccount: u.account, Id: r.Id, Accept: (i+j)%2 == 0}, u.auth)
				if err != nil {
					t.Error(err)
					return
				}
				codes[j] = resp.StatusCode()
			})
		}
		wg.Wait()
		slices.Sort(codes)
		if !slices.Equal(codes, []int{http.StatusOK, http.StatusConflict}) {
			t.Fatalf("request %d answered twice at once: %v, want one 200 and one 409", r.Id, codes)
		}
	}
	g = f.group(owner, g.Id)
	if members := f.members(owner, g.Id); int(g.MemberCount) != len(members) {
		t.Fatalf("memberCount %d, members %v", g.MemberCount, members)
	}
}

// An invite group refuses joins; its owner and admins add members, but not
// one who blocks the inviter; an invitation accepts a pending request.
func TestInviteMember(t *testing.T) {
	t.Parallel()
	f := setup(t)
	owner, target, blocker, member := f.newUser("inv"), f.newUser("inv"), f.newUser("inv"), f.newUser("inv")
	g := f.createGroupWith(owner, "invite", policy(models.JoinPolicyInvite), nil)
	pool := f.pool()

	j := f.joinGroup(target, g.Id)
	wantStatus(t, "join of an invite group", j.HTTPResponse, j.Body, http.StatusForbidden, "仅限邀请加入")
	if slices.Contains(f.members(owner, g.Id), target.account) {
		t.Fatal("a refused join added the member")
	}

	targetSock := f.userSocket(target)
	inv := f.invite(owner, g.Id, target.account)
	wantStatus(t, "invite", inv.HTTPResponse, inv.Body, http.StatusOK, "邀请入群成功")
	if inv.JSON200.Data.Id != g.Id || inv.JSON200.Data.MemberCount != 2 {
		t.Fatalf("invite answered %+v", inv.JSON200.Data)
	}
	// The invited member's sockets carry the group at once.
	ownerSock := f.userSocket(owner)
	ownerSock.SendJSON(map[string]any{"type": "send", "groupId": g.Id, "text": "你好", "clientMsgId": "i-1"})
	if m := targetSock.Message(); m.GroupId == nil || *m.GroupId != g.Id {
		t.Fatalf("the invited member's socket got %+v", m)
	}
	again := f.invite(owner, g.Id, target.account)
	wantStatus(t, "invite of a member", again.HTTPResponse, again.Body, http.StatusConflict, "已在群聊中")

	// A member who is no admin may not invite.
	f.addRawMember(pool, g.Id, member.account, "member")
	byMember := f.invite(member, g.Id, blocker.account)
	wantStatus(t, "invite by a member", byMember.HTTPResponse, byMember.Body, http.StatusForbidden, "仅群主和管理员可以审批入群或邀请成员")
	unknown := f.invite(owner, g.Id, "nobody_"+runTag)
	wantStatus(t, "invite of an unknown account", unknown.HTTPResponse, unknown.Body, http.StatusNotFound, "用户不存在")
	noGroup := f.invite(owner, freshGroupID(), target.account)
	wantStatus(t, "invite to an unknown group", noGroup.HTTPResponse, noGroup.Body, http.StatusNotFound, "群聊不存在")

	// Blocks are private: the inviter learns only 无权限.
	f.exec(pool, "INSERT INTO blocks (blocker, blocked) VALUES ($1, $2)", blocker.account, owner.account)
	blocked := f.invite(owner, g.Id, blocker.account)
	wantStatus(t, "invite of an account that blocks the inviter", blocked.HTTPResponse, blocked.Body, http.StatusForbidden, "无权限")
	if slices.Contains(f.members(owner, g.Id), blocker.account) {
		t.Fatal("an account that blocks the inviter was added")
	}

	// An invitation answers a pending request of the same account.
	ag := f.createGroupWith(owner, "approval", policy(models.JoinPolicyApproval), nil)
	f.mustRequestJoin(blocker, ag.Id, "")
	asker := f.newUser("inv")
	f.mustRequestJoin(asker, ag.Id, "")
	inv = f.invite(owner, ag.Id, asker.account)
	wantStatus(t, "invite of a requester", inv.HTTPResponse, inv.Body, http.StatusOK, "邀请入群成功")
	list := f.joinRequests(owner, ag.Id)
	if len(list.JSON200.Data) != 1 || list.JSON200.Data[0].Account != blocker.account {
		t.Fatalf("pending after the invitation: %+v, want only %s's", list.JSON200.Data, blocker.account)
	}
}

// With TIM_JOIN_CREATES_GROUP=false a join of an unknown id is 404; joins
// of existing groups work as before.
func TestJoinCreatesGroupOff(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WithConfig(func(c *config.Config) { c.Social.JoinCreatesGroup = false }))
	a, b := f.newUser("nocreate"), f.newUser("nocreate")
	id := freshGroupID()
	resp := f.joinGroup(a, id)
	wantStatus(t, "join of an unknown id", resp.HTTPResponse, resp.Body, http.StatusNotFound, "群聊不存在")
	if gs := f.groups(a); len(gs) != 0 {
		t.Fatalf("the join created %+v", gs)
	}
	g := f.createGroup(a, "real")
	f.mustJoinGroup(b, g.Id)
}

// Refused joins (403 and 404) count per account; past the limit every join
// of the account is 429 with Retry-After, and others' joins are not.
// Successful joins do not count.
func TestJoinFailuresAreRateLimited(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WithConfig(func(c *config.Config) {
		c.Social.JoinCreatesGroup = false
		c.Social.JoinFailuresPerAccount = 3
	}))
	owner, prober, other := f.newUser("probe"), f.newUser("probe"), f.newUser("probe")
	invite := f.createGroupWith(owner, "closed", policy(models.JoinPolicyInvite), nil)
	for range 4 {
		f.mustJoinGroup(other, f.createGroup(owner, "open").Id) // successes cost nothing
	}

	resp := f.joinGroup(prober, invite.Id)
	wantStatus(t, "join of an invite group", resp.HTTPResponse, resp.Body, http.StatusForbidden, "仅限邀请加入")
	for range 2 {
		resp = f.joinGroup(prober, freshGroupID())
		wantStatus(t, "join of an unknown id", resp.HTTPResponse, resp.Body, http.StatusNotFound, "群聊不存在")
	}
	open := f.createGroup(owner, "open")
	resp = f.joinGroup(prober, open.Id)
	wantStatus(t, "join past the limit", resp.HTTPResponse, resp.Body, http.StatusTooManyRequests, "加群失败次数过多，请稍后再试")
	if s, err := strconv.Atoi(resp.HTTPResponse.Header.Get("Retry-After")); err != nil || s < 1 || s > 15*60 {
		t.Fatalf("Retry-After %q, want 1 to 900 seconds", resp.HTTPResponse.Header.Get("Retry-After"))
	}
	if slices.Contains(f.members(owner, open.Id), prober.account) {
		t.Fatal("a join refused with 429 added the member")
	}
	f.mustJoinGroup(other, open.Id)
}
