package social_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"

	"tim/gen/models"
)

func TestAddFriendIsMutual(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("add"), f.newUser("add")

	f.mustAddFriend(a, b.account)

	if got := f.friends(a); !slices.Equal(got, []string{b.account}) {
		t.Errorf("a's friends = %v, want [%s]", got, b.account)
	}
	if got := f.friends(b); !slices.Equal(got, []string{a.account}) {
		t.Errorf("b's friends = %v, want [%s]", got, a.account)
	}

	// Already friends, asked from either side and in either form.
	resp := f.addFriend(a, b.account)
	wantStatus(t, "again from a", resp.HTTPResponse, resp.Body, http.StatusConflict, "已经是好友")
	resp = f.addFriend(b, a.account)
	wantStatus(t, "again from b", resp.HTTPResponse, resp.Body, http.StatusConflict, "已经是好友")
	post, err := f.c.AddFriendPostWithBodyWithResponse(f.ctx, &models.AddFriendPostParams{UserAccount: b.account, FriendAccount: a.account}, "", nil, b.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "again by POST", post.HTTPResponse, post.Body, http.StatusConflict, "已经是好友")
}

func TestAddFriendPost(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("addpost"), f.newUser("addpost")

	resp, err := f.c.AddFriendPostWithBodyWithResponse(f.ctx, &models.AddFriendPostParams{UserAccount: a.account, FriendAccount: b.account}, "", nil, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "addFriend POST", resp.HTTPResponse, resp.Body, http.StatusOK, "添加好友成功")
	if got := f.friends(b); !slices.Equal(got, []string{a.account}) {
		t.Errorf("b's friends = %v, want [%s]", got, a.account)
	}
}

func TestAddFriendRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.newUser("refuse")

	tests := []struct {
		name    string
		friend  string
		code    int
		message string
	}{
		{"yourself", a.account, http.StatusBadRequest, "不能添加自己为好友"},
		{"unknown account", "nobody_" + runTag, http.StatusNotFound, "用户不存在"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.addFriend(a, tt.friend)
			wantStatus(t, "addFriend GET", resp.HTTPResponse, resp.Body, tt.code, tt.message)
			post, err := f.c.AddFriendPostWithBodyWithResponse(f.ctx, &models.AddFriendPostParams{UserAccount: a.account, FriendAccount: tt.friend}, "", nil, a.auth)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus(t, "addFriend POST", post.HTTPResponse, post.Body, tt.code, tt.message)
		})
	}
	if got := f.friends(a); len(got) != 0 {
		t.Errorf("friends after refusals = %v, want none", got)
	}
}

func TestDeleteFriend(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b, c := f.newUser("del"), f.newUser("del"), f.newUser("del")
	f.mustAddFriend(a, b.account)
	f.mustAddFriend(c, a.account)

	// b ends the friendship a started: gone for both.
	resp := f.deleteFriend(b, a.account)
	wantStatus(t, "deleteFriend", resp.HTTPResponse, resp.Body, http.StatusOK, "删除好友成功")
	if got := f.friends(a); !slices.Equal(got, []string{c.account}) {
		t.Errorf("a's friends = %v, want [%s]", got, c.account)
	}
	if got := f.friends(b); len(got) != 0 {
		t.Errorf("b's friends = %v, want none", got)
	}

	// Again, from either side: not friends.
	resp = f.deleteFriend(b, a.account)
	wantStatus(t, "delete again", resp.HTTPResponse, resp.Body, http.StatusNotFound, "不是好友")
	resp = f.deleteFriend(a, b.account)
	wantStatus(t, "delete again, other side", resp.HTTPResponse, resp.Body, http.StatusNotFound, "不是好友")
	resp = f.deleteFriend(a, "nobody_"+runTag)
	wantStatus(t, "delete unknown account", resp.HTTPResponse, resp.Body, http.StatusNotFound, "不是好友")

	// The POST form.
	post, err := f.c.DeleteFriendPostWithResponse(f.ctx, &models.DeleteFriendPostParams{UserAccount: a.account, FriendAccount: c.account}, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "deleteFriend POST", post.HTTPResponse, post.Body, http.StatusOK, "删除好友成功")
	post, err = f.c.DeleteFriendPostWithResponse(f.ctx, &models.DeleteFriendPostParams{UserAccount: a.account, FriendAccount: c.account}, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "deleteFriend POST again", post.HTTPResponse, post.Body, http.StatusNotFound, "不是好友")
	if got := f.friends(c); len(got) != 0 {
		t.Errorf("c's friends = %v, want none", got)
	}

	// Friends again after a delete.
	f.mustAddFriend(b, a.account)
	if got := f.friends(a); !slices.Equal(got, []string{b.account}) {
		t.Errorf("a's friends after re-adding = %v, want [%s]", got, b.account)
	}
}

func TestGetFriends(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a := f.newUser("list")

	// No friends is an empty array, never null.
	resp, err := f.c.GetFriendsWithResponse(f.ctx, &models.GetFriendsParams{Account: a.account}, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getFriends", resp.HTTPResponse, resp.Body, http.StatusOK, "获取好友列表成功")
	if resp.JSON200.Data == nil || len(resp.JSON200.Data) != 0 {
		t.Fatalf("data = %s, want []", resp.Body)
	}

	others := f.newUsers("list", 4)
	for _, i := range []int{2, 0, 3, 1} { // added out of order
		f.mustAddFriend(a, others[i].account)
	}
	resp, err = f.c.GetFriendsWithResponse(f.ctx, &models.GetFriendsParams{Account: a.account}, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getFriends", resp.HTTPResponse, resp.Body, http.StatusOK, "获取好友列表成功")
	var got []string
	for _, u := range resp.JSON200.Data {
		got = append(got, u.Account)
		if u.Id <= 0 || u.Username == "" || (u.Sex != models.SexMale && u.Sex != models.SexFemale) {
			t.Errorf("incomplete user object %+v", u)
		}
		if u.OnlineStatus != 0 && u.OnlineStatus != 1 {
			t.Errorf("onlineStatus %d", u.OnlineStatus)
		}
	}
	if want := accountsOf(others...); !slices.Equal(got, want) {
		t.Errorf("friends = %v, want %v ordered by account", got, want)
	}
}

// Concurrent adds of one pair, in both directions and both forms, round
// after round: exactly one succeeds, and the friendship is whole from both
// sides.
func TestAddFriendConcurrent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const rounds, callers = 8, 16
	a, b := f.newUser("race"), f.newUser("race")
	for round := range rounds {
		codes := make([]int, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				from, to := a, b
				if i%2 == 1 {
					from, to = b, a
				}
				if i%4 < 2 {
					resp, err := f.c.AddFriendWithResponse(f.ctx, &models.AddFriendParams{UserAccount: from.account, FriendAccount: to.account}, from.auth)
					if err != nil {
						t.Error(err)
						return
					}
					codes[i] = resp.StatusCode()
				} else {
					resp, err := f.c.AddFriendPostWithBodyWithResponse(f.ctx, &models.AddFriendPostParams{UserAccount: from.account, FriendAccount: to.account}, "", nil, from.auth)
					if err != nil {
						t.Error(err)
						return
					}
					codes[i] = resp.StatusCode()
				}
			})
		}
		wg.Wait()
		var ok, conflict int
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
				conflict++
			}
		}
		if ok != 1 || conflict != callers-1 {
			t.Fatalf("round %d: codes %v, want one 200 and %d 409", round, codes, callers-1)
		}
		if got := f.friends(a); !slices.Equal(got, []string{b.account}) {
			t.Fatalf("round %d: a's friends = %v", round, got)
		}
		if got := f.friends(b); !slices.Equal(got, []string{a.account}) {
			t.Fatalf("round %d: b's friends = %v", round, got)
		}
		resp := f.deleteFriend(a, b.account)
		wantStatus(t, "deleteFriend", resp.HTTPResponse, resp.Body, http.StatusOK, "删除好友成功")
	}
}

// Adds and deletes of one pair racing in both directions never leave one
// side's row without the other's.
func TestFriendChurnConcurrent(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("churn"), f.newUser("churn")
	const rounds, callers = 20, 8
	for round := range rounds {
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				from, to := a, b
				if (i+round)%2 == 1 {
					from, to = b, a
				}
				var code int
				if i%4 < 2 {
					resp, err := f.c.AddFriendWithResponse(f.ctx, &models.AddFriendParams{UserAccount: from.account, FriendAccount: to.account}, from.auth)
					if err != nil {
						t.Error(err)
						return
					}
					code = resp.StatusCode()
				} else {
					resp, err := f.c.DeleteFriendWithResponse(f.ctx, &models.DeleteFriendParams{UserAccount: from.account, FriendAccount: to.account}, from.auth)
					if err != nil {
						t.Error(err)
						return
					}
					code = resp.StatusCode()
				}
				if code != http.StatusOK && code != http.StatusConflict && code != http.StatusNotFound {
					t.Errorf("round %d caller %d: status %d", round, i, code)
				}
			})
		}
		wg.Wait()
		fa, fb := f.friends(a), f.friends(b)
		aHasB, bHasA := slices.Contains(fa, b.account), slices.Contains(fb, a.account)
		if aHasB != bHasA || len(fa) > 1 || len(fb) > 1 {
			t.Fatalf("round %d: half a friendship: a's friends %v, b's friends %v", round, fa, fb)
		}
	}
}
