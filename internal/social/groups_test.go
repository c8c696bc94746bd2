package social_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/testenv"
)

func TestJoinGroupCreatesMissingGroup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("join"), f.newUser("join")
	id := freshGroupID()

	g := f.mustJoinGroup(a, id)
	want := models.Group{Id: id, Name: fmt.Sprintf("群聊%d", id), Owner: a.account, MemberCount: 1, JoinPolicy: models.JoinPolicyOpen, HistoryVisibility: models.HistoryVisibilityShared}
	if g != want {
		t.Errorf("created by join: %+v, want %+v", g, want)
	}

	g = f.mustJoinGroup(b, id)
	want.MemberCount = 2
	if g != want {
		t.Errorf("after b joins: %+v, want %+v", g, want)
	}
	if got := f.group(a, id); got != want {
		t.Errorf("a's getGroups: %+v, want %+v", got, want)
	}
	for _, u := range []user{a, b} {
		if got := f.members(u, id); !slices.Equal(got, accountsOf(a, b)) {
			t.Errorf("members seen by %s = %v, want %v", u.account, got, accountsOf(a, b))
		}
	}

	// Already a member.
	resp := f.joinGroup(b, id)
	wantStatus(t, "join again", resp.HTTPResponse, resp.Body, http.StatusConflict, "已在群聊中")
	if got := f.group(b, id); got.MemberCount != 2 {
		t.Errorf("memberCount after a refused join = %d, want 2", got.MemberCount)
	}
}

func TestLeaveGroup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b, c := f.newUser("leave"), f.newUser("leave"), f.newUser("leave")
	id := freshGroupID()
	f.mustJoinGroup(a, id) // a creates it: the owner
	f.mustJoinGroup(b, id)

	// The owner cannot leave while others remain.
	resp := f.leaveGroup(a, id)
	wantStatus(t, "owner leaves", resp.HTTPResponse, resp.Body, http.StatusForbidden, "群主需先转让群聊才能退出")
	if got := f.group(a, id); got.MemberCount != 2 {
		t.Errorf("group after the owner's refused leave = %+v, want memberCount 2", got)
	}

	resp = f.leaveGroup(b, id)
	wantStatus(t, "leave", resp.HTTPResponse, resp.Body, http.StatusOK, "退出群聊成功")
	if gs := f.groups(b); len(gs) != 0 {
		t.Errorf("b's groups after leaving = %+v", gs)
	}
	if got := f.group(a, id); got.MemberCount != 1 || got.Owner != a.account {
		t.Errorf("group after b left = %+v, want memberCount 1, owner a", got)
	}

	resp = f.leaveGroup(b, id)
	wantStatus(t, "leave again", resp.HTTPResponse, resp.Body, http.StatusNotFound, "不在群聊中")
	resp = f.leaveGroup(c, id)
	wantStatus(t, "leave by a non-member", resp.HTTPResponse, resp.Body, http.StatusNotFound, "不在群聊中")
	resp = f.leaveGroup(c, freshGroupID())
	wantStatus(t, "leave an unknown group", resp.HTTPResponse, resp.Body, http.StatusNotFound, "不在群聊中")

	// The last member, the owner, leaves: the group is dissolved, and its
	// id is never used again.
	resp = f.leaveGroup(a, id)
	wantStatus(t, "last member leaves", resp.HTTPResponse, resp.Body, http.StatusOK, "退出群聊成功")
	if gs := f.groups(a); len(gs) != 0 {
		t.Errorf("a's groups after leaving = %+v", gs)
	}
	join := f.joinGroup(c, id)
	wantStatus(t, "join the dissolved group", join.HTTPResponse, join.Body, http.StatusNotFound, "群聊已解散")
	join = f.joinGroup(a, id)
	wantStatus(t, "its owner joins the dissolved group", join.HTTPResponse, join.Body, http.StatusNotFound, "群聊已解散")
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("create"), f.newUser("create")

	g := f.createGroup(a, "周末爬山")
	if g.Id < 100000 || g.Name != "周末爬山" || g.Owner != a.account || g.MemberCount != 1 {
		t.Errorf("created %+v", g)
	}
	if got := f.group(a, g.Id); got != g {
		t.Errorf("getGroups has %+v, want %+v", got, g)
	}
	if got := f.members(a, g.Id); !slices.Equal(got, []string{a.account}) {
		t.Errorf("members = %v, want the creator", got)
	}

	// Others join a created group by its id.
	joined := f.mustJoinGroup(b, g.Id)
	if joined.Name != g.Name || joined.Owner != a.account || joined.MemberCount != 2 {
		t.Errorf("after b joins: %+v", joined)
	}

	// Every creation gets its own id, even with the same name.
	g2 := f.createGroup(a, "周末爬山")
	if g2.Id == g.Id {
		t.Errorf("two creations share id %d", g.Id)
	}
}

func TestGetGroups(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.newUser("groups")

	resp, err := f.c.GetGroupsWithResponse(f.ctx, &models.GetGroupsParams{Account: a.account}, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getGroups", resp.HTTPResponse, resp.Body, http.StatusOK, "获取群聊列表成功")
	if resp.JSON200.Data == nil || len(resp.JSON200.Data) != 0 {
		t.Fatalf("data = %s, want []", resp.Body)
	}

	ids := []int64{freshGroupID(), freshGroupID(), freshGroupID()}
	for _, id := range ids {
		f.mustJoinGroup(a, id)
	}
	created := f.createGroup(a, "mine")
	ids = append(ids, created.Id)
	slices.Sort(ids)

	var got []int64
	for _, g := range f.groups(a) {
		got = append(got, g.Id)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("groups = %v, want %v ordered by id", got, ids)
	}
}

func TestGetGroupMembers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	members := f.newUsers("members", 4)
	outsider := f.newUser("members")
	id := freshGroupID()
	for _, i := range []int{3, 1, 0, 2} {
		f.mustJoinGroup(members[i], id)
	}

	resp, err := f.c.GetGroupMembersWithResponse(f.ctx, &models.GetGroupMembersParams{GroupID: id}, members[0].auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getGroupMembers", resp.HTTPResponse, resp.Body, http.StatusOK, "获取群成员成功")
	var got []string
	for _, u := range resp.JSON200.Data {
		got = append(got, u.Account)
		if u.Id <= 0 || u.Username == "" {
			t.Errorf("incomplete user object %+v", u)
		}
	}
	if want := accountsOf(members...); !slices.Equal(got, want) {
		t.Errorf("members = %v, want %v ordered by account", got, want)
	}

	resp, err = f.c.GetGroupMembersWithResponse(f.ctx, &models.GetGroupMembersParams{GroupID: id}, outsider.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getGroupMembers by a non-member", resp.HTTPResponse, resp.Body, http.StatusForbidden, "")

	// A member who left is an outsider.
	left := f.leaveGroup(members[2], id)
	wantStatus(t, "leave", left.HTTPResponse, left.Body, http.StatusOK, "退出群聊成功")
	resp, err = f.c.GetGroupMembersWithResponse(f.ctx, &models.GetGroupMembersParams{GroupID: id}, members[2].auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getGroupMembers after leaving", resp.HTTPResponse, resp.Body, http.StatusForbidden, "")

	resp, err = f.c.GetGroupMembersWithResponse(f.ctx, &models.GetGroupMembersParams{GroupID: freshGroupID()}, outsider.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getGroupMembers of an unknown group", resp.HTTPResponse, resp.Body, http.StatusNotFound, "群聊不存在")
}

// Many users join one new id at once: every join succeeds, one of them is
// the owner, and the count matches the members.
func TestJoinNewGroupConcurrent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	users := f.newUsers("jnew", 12)
	id := freshGroupID()

	codes := make([]int, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			resp, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{UserAccount: u.account, GroupID: id}, u.auth)
			if err != nil {
				t.Error(err)
				return
			}
			codes[i] = resp.StatusCode()
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("join %d: status %d (all %v)", i, c, codes)
		}
	}
	g := f.group(users[0], id)
	if int(g.MemberCount) != len(users) || !slices.Contains(accountsOf(users...), g.Owner) {
		t.Errorf("group %+v, want %d members and an owner among the joiners", g, len(users))
	}
	if got := f.members(users[0], id); !slices.Equal(got, accountsOf(users...)) {
		t.Errorf("members = %v, want %v", got, accountsOf(users...))
	}
}

// Joins and leaves racing on one group keep memberCount equal to the number
// of member rows.
func TestJoinLeaveConcurrent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	users := f.newUsers("jl", 10)
	id := freshGroupID()
	anchor := users[0]
	f.mustJoinGroup(anchor, id)
	for _, u := range users[1:5] {
		f.mustJoinGroup(u, id)
	}

	// users[1:5] leave while users[5:] join, twice over.
	for round := range 2 {
		var wg sync.WaitGroup
		for i, u := range users[1:] {
			wg.Go(func() {
				var code int
				if (i < 4) == (round == 0) {
					resp, err := f.c.LeaveGroupWithResponse(f.ctx, &models.LeaveGroupParams{UserAccount: u.account, GroupID: id}, u.auth)
					if err != nil {
						t.Error(err)
						return
					}
					code = resp.StatusCode()
				} else {
					resp, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{UserAccount: u.account, GroupID: id}, u.auth)
					if err != nil {
						t.Error(err)
						return
					}
					code = resp.StatusCode()
				}
				if code != http.StatusOK {
					t.Errorf("round %d user %d: status %d", round, i, code)
				}
			})
		}
		wg.Wait()
		g := f.group(anchor, id)
		got := f.members(anchor, id)
		if int(g.MemberCount) != len(got) {
			t.Fatalf("round %d: memberCount %d, but %d members %v", round, g.MemberCount, len(got), got)
		}
		want := accountsOf(append([]user{anchor}, users[5:]...)...)
		if round == 1 {
			want = accountsOf(users[:5]...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: members %v, want %v", round, got, want)
		}
	}
}

// Joins racing for the last places of a group, round after round: exactly
// the free places are taken, the rest get 409 群聊已满, and memberCount
// always matches the members.
func TestJoinRacesMemberLimit(t *testing.T) {
	t.Parallel()
	const limit, joiners, rounds = 4, 12, 8
	f := setup(t, testenv.WithConfig(func(c *config.Config) { c.Social.GroupMemberLimit = limit }))
	owner := f.newUser("limit")
	g := f.createGroup(owner, "small")
	users := f.newUsers("limit", joiners)

	for round := range rounds {
		codes := make([]int, len(users))
		var wg sync.WaitGroup
		for i, u := range users {
			wg.Go(func() {
				resp, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{UserAccount: u.account, GroupID: g.Id}, u.auth)
				if err != nil {
					t.Error(err)
					return
				}
				codes[i] = resp.StatusCode()
				if resp.StatusCode() == http.StatusConflict && !strings.Contains(string(resp.Body), "群聊已满") {
					t.Errorf("409 for another reason: %s", resp.Body)
				}
			})
		}
		wg.Wait()
		var joined []user
		for i, c := range codes {
			switch c {
			case http.StatusOK:
				joined = append(joined, users[i])
			case http.StatusConflict:
			default:
				t.Fatalf("round %d join %d: status %d", round, i, c)
			}
		}
		got := f.group(owner, g.Id)
		members := f.members(owner, g.Id)
		if len(joined) != limit-1 || got.MemberCount != limit || len(members) != limit {
			t.Fatalf("round %d: %d joined, memberCount %d, %d members; want %d, %d, %d",
				round, len(joined), got.MemberCount, len(members), limit-1, limit, limit)
		}
		if want := accountsOf(append(joined, owner)...); !slices.Equal(members, want) {
			t.Fatalf("round %d: members %v, want %v", round, members, want)
		}

		// A member of a full group is told it is a member, not that it is full.
		resp := f.joinGroup(owner, g.Id)
		wantStatus(t, "member joins the full group", resp.HTTPResponse, resp.Body, http.StatusConflict, "已在群聊中")

		// The joiners leave together, freeing the places for the next round.
		for _, u := range joined {
			wg.Go(func() {
				resp, err := f.c.LeaveGroupWithResponse(f.ctx, &models.LeaveGroupParams{UserAccount: u.account, GroupID: g.Id}, u.auth)
				if err != nil {
					t.Error(err)
					return
				}
				if resp.StatusCode() != http.StatusOK {
					t.Errorf("round %d leave: status %d", round, resp.StatusCode())
				}
			})
		}
		wg.Wait()
		if got := f.group(owner, g.Id); got.MemberCount != 1 {
			t.Fatalf("round %d: memberCount %d after the joiners left, want 1", round, got.MemberCount)
		}
	}
}
