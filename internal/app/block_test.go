package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"tim/gen/models"
	"tim/internal/reply"
	"tim/internal/testenv"
	"tim/internal/wstest"
)

// block makes account block target through env.
func block(t *testing.T, env *testenv.Env, token, account, target string) {
	t.Helper()
	res, err := env.Client.BlockWithResponse(ctx, &models.BlockParams{UserAccount: account, TargetAccount: target}, testenv.Auth(token))
	if err != nil || res.StatusCode() != http.StatusOK {
		t.Fatalf("block %s %s: %v %s", account, target, err, res.Body)
	}
}

func unblock(t *testing.T, env *testenv.Env, token, account, target string) {
	t.Helper()
	res, err := env.Client.UnblockWithResponse(ctx, &models.UnblockParams{UserAccount: account, TargetAccount: target}, testenv.Auth(token))
	if err != nil || res.StatusCode() != http.StatusOK {
		t.Fatalf("unblock %s %s: %v %s", account, target, err, res.Body)
	}
}

// opened reads a socket's connected frame, and a user socket's users
// frame.
func opened(c *wstest.Conn, user bool) *wstest.Conn {
	c.NextOf("connected")
	if user {
		c.NextOf("users")
	}
	return c
}

func send(to, text, id string) map[string]any {
	return map[string]any{"type": "send", "to": to, "text": text, "clientMsgId": id}
}

// refusedWith reads the next error frame, skipping any other (a replayed
// message), and wants r with clientMsgId id.
func refusedWith(t *testing.T, c *wstest.Conn, r reply.Refusal, id string) {
	t.Helper()
	f := c.Until("error")
	if f["code"] != float64(r.Code) || f["message"] != r.Message || (id != "" && f["clientMsgId"] != id) {
		t.Fatalf("error frame %v, want %d %s for %s", f, r.Code, r.Message, id)
	}
}

// handshakeRefusal opens path and wants the handshake refused with r.
func handshakeRefusal(t *testing.T, env *testenv.Env, path, token string, r reply.Refusal) {
	t.Helper()
	_, res, err := wstest.Dial(t, env.WebSocketURL(path), http.Header{"token": {token}})
	if err == nil || res == nil {
		t.Fatalf("%s opened while a block stands (%v)", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var e struct {
		Code    int32  `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Code != r.Code || e.Message != r.Message {
		t.Fatalf("%s refused with %d %s, want %d %s", path, res.StatusCode, body, r.Code, r.Message)
	}
}

// TestBlockRefusesDirectSends: while a blocks b, every direct send between
// them is refused on every channel and nothing is stored (b hears only
// 无权限), their one-to-one sockets close with 4003 and do not open again,
// and their shared group works as before.
func TestBlockRefusesDirectSends(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ta, tb := env.Register(t, "a"), env.Register(t, "b")
	befriend(t, env, ta, "a", "b")
	join(t, env, ta, "a", 1)
	join(t, env, tb, "b", 1)
	aU, bU := opened(dial(t, env, "/websocket/a", ta), true), opened(dial(t, env, "/websocket/b", tb), true)
	aD, bD := opened(dial(t, env, "/websocket/OneToOne/a/b", ta), false), opened(dial(t, env, "/websocket/OneToOne/b/a", tb), false)

	block(t, env, ta, "a", "b")
	for name, c := range map[string]*wstest.Conn{"a's": aD, "b's": bD} {
		if code := c.Closed(); code != 4003 {
			t.Fatalf("%s one-to-one socket closed with %d, want 4003", name, code)
		}
	}
	handshakeRefusal(t, env, "/websocket/OneToOne/b/a", tb, reply.NoPermission)
	handshakeRefusal(t, env, "/websocket/OneToOne/a/b", ta, reply.YouBlock)

	bU.SendJSON(send("a", "还在吗", "b-1"))
	refusedWith(t, bU, reply.NoPermission, "b-1")
	bU.SendJSON(map[string]any{"to": "a", "text": "原系统的帧"})
	refusedWith(t, bU, reply.NoPermission, "")
	aU.SendJSON(send("b", "hi", "a-1"))
	refusedWith(t, aU, reply.YouBlock, "a-1")
	bU.SendJSON(map[string]any{"type": "typing", "with": "a"})
	refusedWith(t, bU, reply.NoPermission, "")

	// The group is not affected; its message is the first a hears.
	bU.SendJSON(map[string]any{"type": "send", "groupId": 1, "text": "群里说", "clientMsgId": "b-2"})
	if ack := bU.Ack(); ack.ClientMsgId == nil || *ack.ClientMsgId != "b-2" {
		t.Fatalf("b's group send: %+v", ack)
	}
	if m := aU.Message(); m.GroupId == nil || *m.GroupId != 1 || m.FromUser != "b" {
		t.Fatalf("a got %+v, want b's group message", m)
	}
	hist, err := env.Client.GetMessagesWithResponse(ctx, &models.GetMessagesParams{Account: "a", With: "b"}, testenv.Auth(ta))
	if err != nil || hist.JSON200 == nil {
		t.Fatalf("history: %v", err)
	}
	if len(hist.JSON200.Data) != 0 {
		t.Fatalf("refused sends were stored: %+v", hist.JSON200.Data)
	}

	// Unblocked: sends and sockets work again.
	unblock(t, env, ta, "a", "b")
	bU.SendJSON(send("a", "又能说话了", "b-3"))
	if ack := bU.NextOf("ack"); ack["clientMsgId"] != "b-3" { // past a's presence, told at the unblock
		t.Fatalf("b's send after the unblock: %v", ack)
	}
	if m := aU.Message(); m.FromUser != "b" || m.Message != "又能说话了" {
		t.Fatalf("a got %+v", m)
	}
	opened(dial(t, env, "/websocket/OneToOne/b/a", tb), false)
}

// TestBlockOnOneInstanceRefusesOnAnother: a block made through instance A
// closes b's one-to-one socket held on instance B and refuses b's send
// there.
func TestBlockOnOneInstanceRefusesOnAnother(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	peer := env.Peer(t)
	ta, tb := env.Register(t, "a"), env.Register(t, "b")
	befriend(t, env, ta, "a", "b")
	bU := opened(dial(t, peer, "/websocket/b", tb), true)
	bD := opened(dial(t, peer, "/websocket/OneToOne/b/a", tb), false)

	block(t, env, ta, "a", "b")
	if code := bD.Closed(); code != 4003 {
		t.Fatalf("b's one-to-one socket on the peer closed with %d, want 4003", code)
	}
	bU.SendJSON(send("a", "hi", "b-1"))
	refusedWith(t, bU, reply.NoPermission, "b-1")
}

// TestBlockHidesPresenceTypingAndReceipts: while a blocks b, neither hears
// of the other's coming online, typing or reading; each absence is
// checked against a later frame of another friend that must come after it.
func TestBlockHidesPresenceTypingAndReceipts(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ta, tb, tc := env.Register(t, "a"), env.Register(t, "b"), env.Register(t, "c")
	befriend(t, env, ta, "a", "b")
	befriend(t, env, tc, "c", "a")
	befriend(t, env, tc, "c", "b")
	aU := opened(dial(t, env, "/websocket/a", ta), true)
	cU := opened(dial(t, env, "/websocket/c", tc), true)
	// One message each way, to be read later.
	aU.SendJSON(send("b", "a to b", "a-1"))
	aU.NextOf("ack")
	cU.SendJSON(send("a", "c to a", "c-1"))
	cU.NextOf("ack")
	aU.Message()
	aU.Close()
	cU.Close()

	block(t, env, ta, "a", "b")
	bU := opened(dial(t, env, "/websocket/b", tb), true)
	aU = opened(dial(t, env, "/websocket/a", ta), true)
	cU = opened(dial(t, env, "/websocket/c", tc), true)
	if f := bU.Until("presence"); f["account"] != "c" {
		t.Fatalf("b's first presence frame %v, want c's (a blocks b)", f)
	}

	// Typing: refused both ways; c's typing to a is the next a hears.
	aU.SendJSON(map[string]any{"type": "typing", "with": "b"})
	refusedWith(t, aU, reply.NoPermission, "")
	bU.SendJSON(map[string]any{"type": "typing", "with": "a"})
	refusedWith(t, bU, reply.NoPermission, "")
	cU.SendJSON(map[string]any{"type": "typing", "with": "a"})
	if f := aU.Until("typing"); f["from"] != "c" {
		t.Fatalf("a's next typing frame %v, want c's", f)
	}

	// Receipts: b's read of a's message does not reach a; c's read does.
	mark := func(token, with string, seq int64) {
		t.Helper()
		res, err := env.Client.MarkReadWithResponse(ctx, models.ReadRequest{With: &with, Seq: seq}, testenv.Auth(token))
		if err != nil || res.StatusCode() != http.StatusOK {
			t.Fatalf("read: %v %s", err, res.Body)
		}
	}
	mark(tb, "a", 1)
	mark(ta, "c", 1) // a's own read, the frame a waits for
	if f := aU.Until("receipt"); f["reader"] != "a" || f["with"] != "c" {
		t.Fatalf("a's next receipt %v, want its own read of c", f)
	}
	mark(ta, "b", 1)
	cU.SendJSON(map[string]any{"type": "typing", "with": "b"})
	if f := bU.Until("typing"); f["from"] != "c" {
		t.Fatalf("b's next frame %v, want c's typing, not a's receipt", f)
	}
}

// TestFriendNoticesReachEveryInstance: a request made through one instance
// reaches the recipient's user socket on another, and its acceptance
// there reaches the sender's socket on the first.
func TestFriendNoticesReachEveryInstance(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	peer := env.Peer(t)
	ta, tb := env.Register(t, "a"), env.Register(t, "b")
	policy := models.FriendPolicyApproval
	if res, err := peer.Client.UpdateProfileWithResponse(ctx, &models.UpdateProfileParams{UserAccount: "b"}, models.ProfileUpdate{FriendPolicy: &policy}, testenv.Auth(tb)); err != nil || res.StatusCode() != http.StatusOK {
		t.Fatalf("updateProfile: %v", err)
	}
	aU := opened(dial(t, env, "/websocket/a", ta), true)
	bU := opened(dial(t, peer, "/websocket/b", tb), true)

	message := "我是a"
	res, err := env.Client.AddFriendPostWithResponse(ctx, &models.AddFriendPostParams{UserAccount: "a", FriendAccount: "b"}, models.AddFriendRequest{Message: &message}, testenv.Auth(ta))
	if err != nil || res.JSON202 == nil {
		t.Fatalf("addFriend: %v %s", err, res.Body)
	}
	f := bU.NextOf("friendRequest")
	if f["id"] != float64(res.JSON202.Data.Id) || f["from"] != "a" || f["message"] != message {
		t.Fatalf("b got %v for request %+v", f, res.JSON202.Data)
	}
	ans, err := peer.Client.AnswerFriendRequestWithResponse(ctx, &models.AnswerFriendRequestParams{UserAccount: "b", Id: res.JSON202.Data.Id, Accept: true}, testenv.Auth(tb))
	if err != nil || ans.StatusCode() != http.StatusOK {
		t.Fatalf("answer: %v %s", err, ans.Body)
	}
	if f := aU.NextOf("friendAdded"); f["account"] != "b" {
		t.Fatalf("a got %v", f)
	}
	if f := bU.NextOf("friendAdded"); f["account"] != "a" {
		t.Fatalf("b got %v", f)
	}
}
