package social_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/testenv"
	"tim/internal/wstest"
)

func (f *fixture) setPolicy(u user, p models.FriendPolicy) {
	f.t.Helper()
	resp, err := f.c.UpdateProfileWithResponse(f.ctx, &models.UpdateProfileParams{UserAccount: u.account}, models.ProfileUpdate{FriendPolicy: &p}, u.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	wantStatus(f.t, "updateProfile", resp.HTTPResponse, resp.Body, http.StatusOK, "修改资料成功")
	if resp.JSON200.Data.FriendPolicy != p || resp.JSON200.Data.Account != u.account {
		f.t.Fatalf("updateProfile answered %+v, want policy %s", resp.JSON200.Data, p)
	}
}

// ask sends a POST addFriend with a message.
func (f *fixture) ask(from, to user, message string) *client.AddFriendPostResponse {
	f.t.Helper()
	resp, err := f.c.AddFriendPostWithResponse(f.ctx, &models.AddFriendPostParams{UserAccount: from.account, FriendAccount: to.account},
		models.AddFriendRequest{Message: &message}, from.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp
}

// mustAsk asks and wants the pending request (202).
func (f *fixture) mustAsk(from, to user, message string) models.FriendRequest {
	f.t.Helper()
	resp := f.ask(from, to, message)
	wantStatus(f.t, "addFriend to an approval account", resp.HTTPResponse, resp.Body, http.StatusAccepted, "好友申请已发送")
	r := resp.JSON202.Data
	if r.From != from.account || r.To != to.account || r.Status != models.FriendRequestStatusPending {
		f.t.Fatalf("request %+v", r)
	}
	return r
}

func (f *fixture) requests(u user, box models.GetFriendRequestsParamsBox) []models.FriendRequest {
	f.t.Helper()
	resp, err := f.c.GetFriendRequestsWithResponse(f.ctx, &models.GetFriendRequestsParams{Account: u.account, Box: &box}, u.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	wantStatus(f.t, "friendRequests", resp.HTTPResponse, resp.Body, http.StatusOK, "获取好友申请成功")
	return resp.JSON200.Data
}

func (f *fixture) answerFriend(u user, id int64, accept bool) (int, []byte) {
	f.t.Helper()
	resp, err := f.c.AnswerFriendRequestWithResponse(f.ctx, &models.AnswerFriendRequestParams{UserAccount: u.account, Id: id, Accept: accept}, u.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode(), resp.Body
}

func (f *fixture) cancel(u user, id int64) (int, []byte) {
	f.t.Helper()
	resp, err := f.c.CancelFriendRequestWithResponse(f.ctx, &models.CancelFriendRequestParams{UserAccount: u.account, Id: id}, u.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.StatusCode(), resp.Body
}

func (f *fixture) relation(viewer, other user) models.PublicProfile {
	f.t.Helper()
	resp, err := f.c.GetUserWithResponse(f.ctx, &models.GetUserParams{Account: viewer.account, TargetAccount: other.account}, viewer.auth)
	if err != nil {
		f.t.Fatal(err)
	}
	wantStatus(f.t, "user", resp.HTTPResponse, resp.Body, http.StatusOK, "获取用户信息成功")
	return resp.JSON200.Data
}

func ids(rs []models.FriendRequest) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.Id
	}
	return out
}

// TestFriendRequestAccepted: to an approval account addFriend makes a
// request (202) that reaches the recipient's socket and lists, is the
// same when asked again, and once accepted makes both friends and tells
// both sockets.
func TestFriendRequestAccepted(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("req"), f.newUser("req")
	f.setPolicy(b, models.FriendPolicyApproval)
	aSock, bSock := f.userSocket(a), f.userSocket(b)

	r := f.mustAsk(a, b, "我是a，周末一起爬山")
	if r.Message != "我是a，周末一起爬山" {
		t.Fatalf("request %+v lost its message", r)
	}
	var got models.FriendRequestFrame
	decode(t, bSock.NextOf("friendRequest"), &got)
	if got.Id != r.Id || got.From != a.account || got.Message != r.Message || !got.Time.Equal(r.Time) {
		t.Fatalf("b's frame %+v, want request %+v", got, r)
	}
	if again := f.mustAsk(a, b, "again"); again.Id != r.Id || again.Message != r.Message {
		t.Fatalf("second ask answered %+v, want the pending %+v", again, r)
	}
	if got := f.friends(a); len(got) != 0 {
		t.Fatalf("a's friends %v before the answer", got)
	}
	if in, out := f.requests(b, models.GetFriendRequestsParamsBoxIn), f.requests(a, models.GetFriendRequestsParamsBoxOut); !slices.Equal(ids(in), []int64{r.Id}) || !slices.Equal(ids(out), []int64{r.Id}) {
		t.Fatalf("b's in box %v, a's out box %v, want [%d]", ids(in), ids(out), r.Id)
	}
	if rel := f.relation(a, b).Relation; rel != models.RelationRequested {
		t.Fatalf("a sees %s", rel)
	}
	if rel := f.relation(b, a).Relation; rel != models.RelationRequestedMe {
		t.Fatalf("b sees %s", rel)
	}

	// Only the recipient answers.
	if code, body := f.answerFriend(a, r.Id, true); code != http.StatusNotFound || !bytes.Contains(body, []byte("好友申请不存在")) {
		t.Fatalf("the sender answering: %d %s", code, body)
	}
	code, body := f.answerFriend(b, r.Id, true)
	if code != http.StatusOK || !bytes.Contains(body, []byte("已同意好友申请")) || !bytes.Contains(body, []byte(`"status":"accepted"`)) {
		t.Fatalf("accept: %d %s", code, body)
	}
	for name, s := range map[string]struct {
		c     *wstest.Conn
		other string
	}{"a": {aSock, b.account}, "b": {bSock, a.account}} {
		if f := s.c.NextOf("friendAdded"); f["account"] != s.other {
			t.Fatalf("%s got %v, want friendAdded %s", name, f, s.other)
		}
	}
	if !slices.Equal(f.friends(a), []string{b.account}) || !slices.Equal(f.friends(b), []string{a.account}) {
		t.Fatalf("friends after accepting: %v, %v", f.friends(a), f.friends(b))
	}
	if rel := f.relation(b, a).Relation; rel != models.RelationFriend {
		t.Fatalf("b sees %s after accepting", rel)
	}
	if len(f.requests(b, models.GetFriendRequestsParamsBoxIn)) != 0 {
		t.Fatal("the accepted request is still listed")
	}
	// Answered twice: refused, whatever the answer.
	for _, accept := range []bool{true, false} {
		if code, body := f.answerFriend(b, r.Id, accept); code != http.StatusConflict || !bytes.Contains(body, []byte("好友申请已处理或已过期")) {
			t.Fatalf("answering again (%v): %d %s", accept, code, body)
		}
	}

	// deleteFriend tells both.
	resp := f.deleteFriend(b, a.account)
	wantStatus(t, "deleteFriend", resp.HTTPResponse, resp.Body, http.StatusOK, "删除好友成功")
	for name, s := range map[string]struct {
		c     *wstest.Conn
		other string
	}{"a": {aSock, b.account}, "b": {bSock, a.account}} {
		if f := s.c.NextOf("friendRemoved"); f["account"] != s.other {
			t.Fatalf("%s got %v, want friendRemoved %s", name, f, s.other)
		}
	}
}

// TestFriendRequestRejectedAndCancelled: a rejection makes no friendship;
// only the sender withdraws; an offline recipient finds the request listed.
func TestFriendRequestRejectedAndCancelled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("rej"), f.newUser("rej")
	f.setPolicy(b, models.FriendPolicyApproval)

	r := f.mustAsk(a, b, "")
	if code, body := f.answerFriend(b, r.Id, false); code != http.StatusOK || !bytes.Contains(body, []byte(`"status":"rejected"`)) {
		t.Fatalf("reject: %d %s", code, body)
	}
	if len(f.friends(a)) != 0 || len(f.friends(b)) != 0 {
		t.Fatal("a rejected request made a friendship")
	}

	r2 := f.mustAsk(a, b, "再试一次")
	if r2.Id == r.Id {
		t.Fatal("a new request after a rejection reuses the old one")
	}
	if code, _ := f.cancel(b, r2.Id); code != http.StatusNotFound {
		t.Fatalf("the recipient cancelling: %d", code)
	}
	if code, body := f.cancel(a, r2.Id); code != http.StatusOK || !bytes.Contains(body, []byte(`"status":"cancelled"`)) {
		t.Fatalf("cancel: %d %s", code, body)
	}
	if code, _ := f.answerFriend(b, r2.Id, true); code != http.StatusConflict {
		t.Fatalf("accepting a cancelled request: %d", code)
	}
	if len(f.requests(b, models.GetFriendRequestsParamsBoxIn)) != 0 || len(f.friends(b)) != 0 {
		t.Fatal("a cancelled request is listed or made a friendship")
	}
	// Another account's request id.
	c := f.newUser("rej")
	if code, _ := f.answerFriend(c, r2.Id, true); code != http.StatusNotFound {
		t.Fatalf("a stranger answering: %d", code)
	}
}

// TestFriendPolicies: closed refuses; a request to an account that had
// asked first accepts theirs; open (the default) is the original behaviour.
func TestFriendPolicies(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b, c := f.newUser("pol"), f.newUser("pol"), f.newUser("pol")
	f.setPolicy(c, models.FriendPolicyClosed)
	resp := f.ask(a, c, "hi")
	wantStatus(t, "addFriend to a closed account", resp.HTTPResponse, resp.Body, http.StatusForbidden, "对方不接受好友申请")
	if got := f.addFriend(a, c.account); got.StatusCode() != http.StatusForbidden {
		t.Fatalf("GET addFriend to a closed account: %d", got.StatusCode())
	}

	// a and b both approval; a asks, then b asks: b's accepts a's.
	f.setPolicy(a, models.FriendPolicyApproval)
	f.setPolicy(b, models.FriendPolicyApproval)
	r := f.mustAsk(a, b, "")
	resp = f.ask(b, a, "")
	wantStatus(t, "the mutual request", resp.HTTPResponse, resp.Body, http.StatusOK, "添加好友成功")
	if !slices.Equal(f.friends(a), []string{b.account}) {
		t.Fatalf("a's friends %v", f.friends(a))
	}
	if code, _ := f.answerFriend(b, r.Id, true); code != http.StatusConflict {
		t.Fatalf("a's request is still pending after the mutual one: %d", code)
	}
	// A closed account's earlier request is accepted by the other's ask.
	d := f.newUser("pol")
	f.setPolicy(d, models.FriendPolicyApproval)
	f.mustAsk(c, d, "")
	resp = f.ask(d, c, "")
	wantStatus(t, "asking a closed account that had asked", resp.HTTPResponse, resp.Body, http.StatusOK, "添加好友成功")
}

// TestMutualRequestsAtOnce: two approval accounts asking each other at the
// same moment end as one friendship with no request left pending.
func TestMutualRequestsAtOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for round := range 30 {
		a, b := f.newUser("mut"), f.newUser("mut")
		f.setPolicy(a, models.FriendPolicyApproval)
		f.setPolicy(b, models.FriendPolicyApproval)
		codes := make([]int, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, pair := range [][2]user{{a, b}, {b, a}} {
			wg.Go(func() {
				<-start
				codes[i] = f.ask(pair[0], pair[1], "").StatusCode()
			})
		}
		close(start)
		wg.Wait()
		slices.Sort(codes)
		if !slices.Equal(codes, []int{http.StatusOK, http.StatusAccepted}) {
			t.Fatalf("round %d: codes %v, want one 200 and one 202", round, codes)
		}
		if !slices.Equal(f.friends(a), []string{b.account}) || !slices.Equal(f.friends(b), []string{a.account}) {
			t.Fatalf("round %d: friends %v %v", round, f.friends(a), f.friends(b))
		}
		for _, u := range []user{a, b} {
			for _, box := range []models.GetFriendRequestsParamsBox{models.GetFriendRequestsParamsBoxIn, models.GetFriendRequestsParamsBoxOut} {
				if rs := f.requests(u, box); len(rs) != 0 {
					t.Fatalf("round %d: %s's %s box %+v", round, u.account, box, rs)
				}
			}
		}
	}
}

// TestAnswerAndCancelAtOnce: of an accept and a cancel of one request,
// or two answers, exactly one wins, and the state is the winner's.
func TestAnswerAndCancelAtOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.newUser("race")
	f.setPolicy(b, models.FriendPolicyApproval)
	for round := range 12 {
		a := f.newUser("race")
		r := f.mustAsk(a, b, "")
		codes := make([]int, 2)
		var wg sync.WaitGroup
		wg.Go(func() { codes[0], _ = f.answerFriend(b, r.Id, true) })
		if round%2 == 0 {
			wg.Go(func() { codes[1], _ = f.cancel(a, r.Id) })
		} else {
			wg.Go(func() { codes[1], _ = f.answerFriend(b, r.Id, false) })
		}
		wg.Wait()
		if (codes[0] == http.StatusOK) == (codes[1] == http.StatusOK) || slices.ContainsFunc(codes, func(c int) bool { return c != http.StatusOK && c != http.StatusConflict }) {
			t.Fatalf("round %d: codes %v, want one 200 and one 409", round, codes)
		}
		friends := slices.Contains(f.friends(b), a.account)
		if friends != (codes[0] == http.StatusOK) || slices.Contains(f.friends(a), b.account) != friends {
			t.Fatalf("round %d: codes %v, friends %v/%v", round, codes, f.friends(a), f.friends(b))
		}
	}
}

// TestFriendRequestsExpire: past TIM_FRIEND_REQUEST_TTL a request is not
// listed, cannot be answered, and a new ask makes a new request.
func TestFriendRequestsExpire(t *testing.T) {
	t.Parallel()
	f := setup(t, testenv.WithConfig(func(c *config.Config) { c.Social.FriendRequestTTL = time.Microsecond }))
	a, b := f.newUser("exp"), f.newUser("exp")
	f.setPolicy(b, models.FriendPolicyApproval)
	r := f.mustAsk(a, b, "")
	if rs := f.requests(b, models.GetFriendRequestsParamsBoxIn); len(rs) != 0 {
		t.Fatalf("expired requests listed: %+v", rs)
	}
	if code, _ := f.answerFriend(b, r.Id, true); code != http.StatusConflict {
		t.Fatalf("answering an expired request: %d", code)
	}
	if r2 := f.mustAsk(a, b, ""); r2.Id == r.Id {
		t.Fatal("an ask after expiry returned the expired request")
	}
}

// TestFriendRequestsPage: newest first, paged by beforeId.
func TestFriendRequestsPage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	b := f.newUser("page")
	f.setPolicy(b, models.FriendPolicyApproval)
	var want []int64
	for range 5 {
		want = append([]int64{f.mustAsk(f.newUser("page"), b, "").Id}, want...)
	}
	limit := int32(2)
	var got []int64
	var before *int64
	for {
		resp, err := f.c.GetFriendRequestsWithResponse(f.ctx, &models.GetFriendRequestsParams{Account: b.account, Limit: &limit, BeforeId: before}, b.auth)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("friendRequests: %v", err)
		}
		page := ids(resp.JSON200.Data)
		got = append(got, page...)
		if len(page) < int(limit) {
			break
		}
		before = &page[len(page)-1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
}

// TestUpdateProfile changes the fields given and keeps the others.
func TestUpdateProfile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("prof"), f.newUser("prof")
	name, age, sex := "新名字", int32(33), models.SexMale
	resp, err := f.c.UpdateProfileWithResponse(f.ctx, &models.UpdateProfileParams{UserAccount: a.account}, models.ProfileUpdate{Username: &name, Age: &age, Sex: &sex}, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "updateProfile", resp.HTTPResponse, resp.Body, http.StatusOK, "修改资料成功")
	if p := resp.JSON200.Data; p.Username != name || p.Age != age || p.Sex != sex || p.FriendPolicy != models.FriendPolicyOpen {
		t.Fatalf("profile %+v", p)
	}
	if p := f.relation(b, a); p.Username != name || p.Sex != sex || p.Relation != models.RelationNone || p.Online != nil {
		t.Fatalf("b sees %+v", p)
	}
	// Another account's profile.
	resp, err = f.c.UpdateProfileWithResponse(f.ctx, &models.UpdateProfileParams{UserAccount: a.account}, models.ProfileUpdate{Age: &age}, b.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "updateProfile of another", resp.HTTPResponse, resp.Body, http.StatusForbidden, "无权操作其他账号")

	// The own profile reads the policy back; another's is refused.
	policy := models.FriendPolicyApproval
	if _, err := f.c.UpdateProfileWithResponse(f.ctx, &models.UpdateProfileParams{UserAccount: a.account}, models.ProfileUpdate{FriendPolicy: &policy}, a.auth); err != nil {
		t.Fatal(err)
	}
	own, err := f.c.GetProfileWithResponse(f.ctx, &models.GetProfileParams{Account: a.account}, a.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getProfile", own.HTTPResponse, own.Body, http.StatusOK, "获取资料成功")
	if p := own.JSON200.Data; p.Account != a.account || p.Username != name || p.Age != age || p.FriendPolicy != models.FriendPolicyApproval {
		t.Fatalf("own profile %+v", p)
	}
	other, err := f.c.GetProfileWithResponse(f.ctx, &models.GetProfileParams{Account: a.account}, b.auth)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "getProfile of another", other.HTTPResponse, other.Body, http.StatusForbidden, "无权操作其他账号")
}

// decode turns a frame read by wstest into v.
func decode(t *testing.T, frame map[string]any, v any) {
	t.Helper()
	b, err := json.Marshal(frame)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("decode %v: %v", frame, err)
	}
}

// TestAddFriendPostWithoutBody: the original document's POST addFriend,
// which has no body, works whatever Content-Type a client sends with it.
func TestAddFriendPostWithoutBody(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, b := f.newUser("nobody"), f.newUser("nobody")
	for _, ct := range []string{"", "application/x-www-form-urlencoded", "text/plain"} {
		req, err := http.NewRequestWithContext(f.ctx, http.MethodPost, f.env.URL+"/Tim/addFriend?UserAccount="+a.account+"&FriendAccount="+b.account, http.NoBody)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("token", a.token)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := f.env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantStatus(t, "POST addFriend with Content-Type "+ct, resp, body, http.StatusOK, "添加好友成功")
		if resp := f.deleteFriend(a, b.account); resp.StatusCode() != http.StatusOK {
			t.Fatalf("deleteFriend: %d", resp.StatusCode())
		}
	}
}
