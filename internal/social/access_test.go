package social_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"tim/gen/client"
	"tim/gen/models"
)

// call is one request of an endpoint, made with the given editors (a token or
// none), returning the status and body.
type call func(f *fixture, editors ...client.RequestEditorFn) (*http.Response, []byte)

// endpoints returns a call for each endpoint of the social graph, acting for
// (or reading) the account of target, in group id.
func endpoints(target user, id int64) map[string]call {
	acct := target.account
	return map[string]call{
		"addFriend": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.AddFriendWithResponse(f.ctx, &models.AddFriendParams{UserAccount: acct, FriendAccount: "x" + runTag}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"addFriendPost": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.AddFriendPostWithBodyWithResponse(f.ctx, &models.AddFriendPostParams{UserAccount: acct, FriendAccount: "x" + runTag}, "", nil, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"deleteFriend": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.DeleteFriendWithResponse(f.ctx, &models.DeleteFriendParams{UserAccount: acct, FriendAccount: "x" + runTag}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"deleteFriendPost": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.DeleteFriendPostWithResponse(f.ctx, &models.DeleteFriendPostParams{UserAccount: acct, FriendAccount: "x" + runTag}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"getFriends": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.GetFriendsWithResponse(f.ctx, &models.GetFriendsParams{Account: acct}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"joinGroup": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{UserAccount: acct, GroupID: id}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"leaveGroup": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.LeaveGroupWithResponse(f.ctx, &models.LeaveGroupParams{UserAccount: acct, GroupID: id}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"createGroup": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.CreateGroupWithResponse(f.ctx, &models.CreateGroupParams{UserAccount: acct, GroupName: "g"}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"getGroups": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.GetGroupsWithResponse(f.ctx, &models.GetGroupsParams{Account: acct}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
		"getGroupMembers": func(f *fixture, e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.GetGroupMembersWithResponse(f.ctx, &models.GetGroupMembersParams{GroupID: id}, e...)
			must(f.t, err)
			return r.HTTPResponse, r.Body
		},
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Every endpoint refuses to act for, or read, another account than the
// token's, and changes nothing when it refuses.
func TestOtherAccountForbidden(t *testing.T) {
	t.Parallel()
	f := setup(t)
	victim, intruder, friend := f.newUser("victim"), f.newUser("intrude"), f.newUser("vfriend")
	id := freshGroupID()
	f.mustJoinGroup(victim, id)
	f.mustAddFriend(victim, friend.account)

	for name, do := range endpoints(victim, id) {
		t.Run(name, func(t *testing.T) {
			sub := *f
			sub.t = t
			resp, body := do(&sub, intruder.auth)
			want := "无权操作其他账号"
			if name == "getGroupMembers" {
				want = "" // a non-member: refused with its own message
			}
			wantStatus(t, name, resp, body, http.StatusForbidden, want)
		})
	}

	// The victim's data is untouched.
	if got := f.friends(victim); !slices.Equal(got, []string{friend.account}) {
		t.Errorf("victim's friends = %v", got)
	}
	if gs := f.groups(victim); len(gs) != 1 || gs[0].Id != id || gs[0].MemberCount != 1 {
		t.Errorf("victim's groups = %+v", gs)
	}
	if gs := f.groups(intruder); len(gs) != 0 {
		t.Errorf("intruder's groups = %+v", gs)
	}
}

// Every endpoint needs a token.
func TestNoTokenUnauthorized(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := f.newUser("notoken")
	for name, do := range endpoints(u, freshGroupID()) {
		t.Run(name, func(t *testing.T) {
			sub := *f
			sub.t = t
			resp, body := do(&sub)
			wantStatus(t, name, resp, body, http.StatusUnauthorized, "")
		})
	}
}

// Malformed parameters are refused with 400 before anything happens.
func TestParameterValidation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	u := f.newUser("valid")
	long := strings.Repeat("群", 65)

	tests := []struct {
		name string
		do   func(e ...client.RequestEditorFn) (*http.Response, []byte)
	}{
		{"joinGroup GroupID 0", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{UserAccount: u.account, GroupID: 0}, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"joinGroup GroupID negative", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{UserAccount: u.account, GroupID: -5}, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"joinGroup GroupID not a number", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{}, append(e, withQuery("UserAccount="+u.account+"&GroupID=abc"))...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"joinGroup GroupID fractional", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{}, append(e, withQuery("UserAccount="+u.account+"&GroupID=1.5"))...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"joinGroup without GroupID", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{}, append(e, withQuery("UserAccount="+u.account))...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"leaveGroup GroupID 0", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.LeaveGroupWithResponse(f.ctx, &models.LeaveGroupParams{UserAccount: u.account, GroupID: 0}, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"getGroupMembers GroupID 0", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.GetGroupMembersWithResponse(f.ctx, &models.GetGroupMembersParams{GroupID: 0}, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"createGroup empty name", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.CreateGroupWithResponse(f.ctx, &models.CreateGroupParams{UserAccount: u.account, GroupName: ""}, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"createGroup name of 65 characters", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.CreateGroupWithResponse(f.ctx, &models.CreateGroupParams{UserAccount: u.account, GroupName: long}, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"addFriend without FriendAccount", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.AddFriendWithResponse(f.ctx, &models.AddFriendParams{}, append(e, withQuery("UserAccount="+u.account))...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"addFriend malformed FriendAccount", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.AddFriendWithResponse(f.ctx, &models.AddFriendParams{UserAccount: u.account, FriendAccount: "no spaces allowed"}, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"addFriendPost empty FriendAccount", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.AddFriendPostWithBodyWithResponse(f.ctx, &models.AddFriendPostParams{UserAccount: u.account, FriendAccount: ""}, "", nil, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"deleteFriend without UserAccount", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.DeleteFriendWithResponse(f.ctx, &models.DeleteFriendParams{}, append(e, withQuery("FriendAccount=someone"))...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"getFriends without account", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.GetFriendsWithResponse(f.ctx, &models.GetFriendsParams{}, append(e, withQuery(""))...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
		{"getGroups account too long", func(e ...client.RequestEditorFn) (*http.Response, []byte) {
			r, err := f.c.GetGroupsWithResponse(f.ctx, &models.GetGroupsParams{Account: strings.Repeat("a", 33)}, e...)
			must(t, err)
			return r.HTTPResponse, r.Body
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tt.do(u.auth)
			wantStatus(t, tt.name, resp, body, http.StatusBadRequest, "")
		})
	}
	if gs := f.groups(u); len(gs) != 0 {
		t.Errorf("groups after refused requests = %+v", gs)
	}
}

// The API document's examples, sent as written (with this run's accounts
// in place of a and b).
func TestDocumentExamples(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("doc"), f.newUser("doc")

	// GET addFriend?UserAccount=a&FriendAccount=b with a's token.
	add, err := f.c.AddFriendWithResponse(f.ctx, &models.AddFriendParams{}, a.auth, withQuery("UserAccount="+a.account+"&FriendAccount="+b.account))
	must(t, err)
	wantStatus(t, "addFriend", add.HTTPResponse, add.Body, http.StatusOK, "添加好友成功")
	if add.HTTPResponse.Request.Method != http.MethodGet {
		t.Errorf("addFriend sent as %s", add.HTTPResponse.Request.Method)
	}

	// GET getFriends?account=a: an envelope holding b's user object.
	friends, err := f.c.GetFriendsWithResponse(f.ctx, &models.GetFriendsParams{}, a.auth, withQuery("account="+a.account))
	must(t, err)
	wantStatus(t, "getFriends", friends.HTTPResponse, friends.Body, http.StatusOK, "获取好友列表成功")
	if len(friends.JSON200.Data) != 1 || friends.JSON200.Data[0].Account != b.account {
		t.Errorf("getFriends data = %s", friends.Body)
	}

	// GET deleteFriend?UserAccount=a&FriendAccount=b.
	del, err := f.c.DeleteFriendWithResponse(f.ctx, &models.DeleteFriendParams{}, a.auth, withQuery("UserAccount="+a.account+"&FriendAccount="+b.account))
	must(t, err)
	wantStatus(t, "deleteFriend", del.HTTPResponse, del.Body, http.StatusOK, "删除好友成功")

	// POST joinGroup?UserAccount=a&GroupID=1: group 1 does not exist yet,
	// so the join creates it with a as owner.
	join, err := f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{}, a.auth, withQuery("UserAccount="+a.account+"&GroupID=1"))
	must(t, err)
	wantStatus(t, "joinGroup", join.HTTPResponse, join.Body, http.StatusOK, "加入群聊成功")
	if g, want := join.JSON200.Data, (models.Group{Id: 1, Name: "群聊1", Owner: a.account, MemberCount: 1, JoinPolicy: models.JoinPolicyOpen, HistoryVisibility: models.HistoryVisibilityShared}); g != want {
		t.Errorf("joinGroup data = %+v, want %+v", g, want)
	}
	join, err = f.c.JoinGroupWithResponse(f.ctx, &models.JoinGroupParams{}, b.auth, withQuery("UserAccount="+b.account+"&GroupID=1"))
	must(t, err)
	wantStatus(t, "joinGroup b", join.HTTPResponse, join.Body, http.StatusOK, "加入群聊成功")

	// POST leaveGroup?UserAccount=b&GroupID=1.
	leave, err := f.c.LeaveGroupWithResponse(f.ctx, &models.LeaveGroupParams{}, b.auth, withQuery("UserAccount="+b.account+"&GroupID=1"))
	must(t, err)
	wantStatus(t, "leaveGroup", leave.HTTPResponse, leave.Body, http.StatusOK, "退出群聊成功")
}
