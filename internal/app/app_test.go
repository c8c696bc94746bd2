package app_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/app"
	"tim/internal/config"
	"tim/internal/testdb"
	"tim/internal/testenv"
	"tim/internal/testwait"
	"tim/internal/wstest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const wait = 10 * time.Second

var ctx = context.Background()

// dial opens path as the document's clients do, the token in a header
// named token; the shared test client checks every frame against the
// contract.
func dial(t *testing.T, env *testenv.Env, path, token string) *wstest.Conn {
	t.Helper()
	return wstest.MustDial(t, env.WebSocketURL(path), token)
}

func befriend(t *testing.T, env *testenv.Env, token, a, b string) {
	t.Helper()
	res, err := env.Client.AddFriendWithResponse(ctx, &models.AddFriendParams{UserAccount: a, FriendAccount: b}, testenv.Auth(token))
	if err != nil || res.StatusCode() != 200 {
		t.Fatalf("addFriend %s %s: %v %s", a, b, err, res.Body)
	}
}

func join(t *testing.T, env *testenv.Env, token, a string, group int64) {
	t.Helper()
	res, err := env.Client.JoinGroupWithResponse(ctx, &models.JoinGroupParams{UserAccount: a, GroupID: group}, testenv.Auth(token))
	if err != nil || res.StatusCode() != 200 {
		t.Fatalf("joinGroup %s %d: %v %s", a, group, err, res.Body)
	}
}

func onlineStatus(t *testing.T, env *testenv.Env, token, account, friend string) int {
	t.Helper()
	res, err := env.Client.GetFriendsWithResponse(ctx, &models.GetFriendsParams{Account: account}, testenv.Auth(token))
	if err != nil || res.JSON200 == nil {
		t.Fatalf("getFriends: %v %s", err, res.Body)
	}
	for _, u := range res.JSON200.Data {
		if u.Account == friend {
			return int(u.OnlineStatus)
		}
	}
	t.Fatalf("%s is not a friend of %s", friend, account)
	return -1
}

// TestDocumentFlow is a client written against the API document alone:
// the user socket, then a one-to-one socket with plain text, then a group.
func TestDocumentFlow(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ta, tb := env.Register(t, "a"), env.Register(t, "b")
	befriend(t, env, ta, "a", "b")

	b := dial(t, env, "/websocket/b", tb)
	// The original's keys, and a type like every other server frame.
	if v := b.Next(); v["type"] != "connected" || v["code"] != float64(200) || v["message"] != "连接成功" {
		t.Fatalf("first frame %v", v)
	}
	if v := b.Next(); v["type"] != "users" || v["users"] == nil {
		t.Fatalf("second frame %v", v)
	}
	if got := onlineStatus(t, env, ta, "a", "b"); got != 1 {
		t.Errorf("b's onlineStatus = %d while connected", got)
	}

	a := dial(t, env, "/websocket/a", ta)
	a.Next() // 连接成功
	users := a.Next()["users"].([]any)
	names := map[string]bool{}
	for _, u := range users {
		names[u.(map[string]any)["account"].(string)] = true
	}
	if !names["a"] || !names["b"] {
		t.Errorf("users = %v, want a and online friend b", users)
	}
	if p := b.Until("presence"); p["account"] != "a" || p["online"] != true {
		t.Errorf("presence = %v", p)
	}

	chat := dial(t, env, "/websocket/OneToOne/a/b", ta)
	chat.Send("hi")
	m := b.Until("message")
	if m["fromUser"] != "a" || m["to"] != "b" || m["message"] != "hi" || m["seq"] != float64(1) || m["kind"] != "text" {
		t.Errorf("message at b = %v", m)
	}
	if m := chat.Until("message"); m["message"] != "hi" {
		t.Errorf("the one-to-one socket sees its conversation: %v", m)
	}

	join(t, env, ta, "a", 1)
	join(t, env, tb, "b", 1)
	ga := dial(t, env, "/websocket/1/a", ta)
	gb := dial(t, env, "/websocket/1/b", tb)
	p := ga.Until("group.presence")
	for p["account"] != "b" {
		p = ga.Until("group.presence")
	}
	if p["text"] != "用户b上线" || p["online"] != true {
		t.Errorf("group.presence = %v", p)
	}
	on := ga.Until("group.online")
	for !strings.Contains(on["text"].(string), "b") {
		on = ga.Until("group.online")
	}
	if on["text"] != "当前群在线用户列表：[a, b]" {
		t.Errorf("group.online text = %q", on["text"])
	}
	ga.Send("hello group")
	if m := gb.Until("message"); m["groupId"] != float64(1) || m["fromUser"] != "a" || m["message"] != "hello group" {
		t.Errorf("group message = %v", m)
	}
}

// TestOfflineMessagesSurviveRestart: messages sent while the peer is away
// arrive after a restart, once and in order.
func TestOfflineMessagesSurviveRestart(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	ta, tb := env.Register(t, "a"), env.Register(t, "b")
	befriend(t, env, ta, "a", "b")
	chat := dial(t, env, "/websocket/OneToOne/a/b", ta)
	for _, text := range []string{"one", "two", "three"} {
		chat.Send(text)
		chat.Until("message") // committed: the sender's own socket sees it
	}
	env.Restart(t)

	b := dial(t, env, "/websocket/b", tb)
	for i, want := range []string{"one", "two", "three"} {
		m := b.Until("message")
		if m["message"] != want || m["seq"] != float64(i+1) {
			t.Fatalf("offline message %d = %v", i, m)
		}
	}
	// Delivered once: a second socket after the cursor moved gets none of them.
	chat2 := dial(t, env, "/websocket/OneToOne/a/b", env.Login(t, "a"))
	chat2.Send("four")
	if m := b.Until("message"); m["message"] != "four" || m["seq"] != float64(4) {
		t.Fatalf("live after replay = %v", m)
	}
}

// TestLogoutClosesSockets: logging out closes the sockets opened with that
// token, on the instance that served the logout and on its peer.
func TestLogoutClosesSockets(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	peer := env.Peer(t)
	tok := env.Register(t, "a")
	other := env.Login(t, "a")
	env.Register(t, "b")
	befriend(t, env, tok, "a", "b")
	here := dial(t, env, "/websocket/a", tok)
	there := dial(t, peer, "/websocket/a", tok)
	kept := dial(t, env, "/websocket/a", other)
	kept.Next() // connected
	kept.Next() // online friends

	res, err := env.Client.UserLogoutWithResponse(ctx, nil, testenv.Auth(tok))
	if err != nil || res.StatusCode() != 200 {
		t.Fatalf("logout: %v", err)
	}
	for name, s := range map[string]*wstest.Conn{"same instance": here, "peer instance": there} {
		if code := s.Closed(); code != 4001 {
			t.Errorf("%s: close code %d, want 4001", name, code)
		}
	}
	// The revoked token cannot open a new socket.
	h := http.Header{}
	h.Set("token", tok)
	_, r, err := wstest.Dial(t, env.WebSocketURL("/websocket/a"), h)
	if err == nil || r == nil || r.StatusCode != 401 {
		t.Errorf("dial with revoked token: %v", err)
	}
	// The socket of the other token outlives the logout, which every
	// instance has applied by now: it still sends, and reads the ack.
	kept.Send(`{"type":"send","to":"b","text":"after logout","clientMsgId":"k1"}`)
	if ack := kept.Until("ack"); ack["clientMsgId"] != "k1" {
		t.Errorf("other token's socket: ack %v, want one for k1", ack)
	}
}

// TestMigrateCommand: `tim migrate` applies the migrations to an empty
// database and exits.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	url := testdb.NewEmpty(t)
	getenv := func(k string) string {
		if k == "TIM_DATABASE_URL" {
			return url
		}
		return ""
	}
	var out strings.Builder
	if err := app.Run(ctx, []string{"tim", "migrate"}, getenv, &out, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "applied migration") {
		t.Errorf("log does not mention the migrations:\n%s", out.String())
	}
	// Twice is fine.
	if err := app.Run(ctx, []string{"tim", "migrate"}, getenv, &out, &out); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
}

// runNATS starts an external NATS server on loopback; port 0 picks one.
func runNATS(t *testing.T, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, Username: "tim", Password: "bus-pw", NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(wait) {
		t.Fatal("nats server did not start")
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	return srv
}

func TestReadyzFollowsTheBus(t *testing.T) {
	t.Parallel()
	srv := runNATS(t, 0)
	port := srv.Addr().(*net.TCPAddr).Port
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
		c.NATS.URL = fmt.Sprintf("nats://tim:bus-pw@127.0.0.1:%d", port)
	}))
	readyz := func() *client.ReadyzResponse {
		res, err := env.Client.ReadyzWithResponse(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	waitFor := func(status int) *client.ReadyzResponse {
		t.Helper()
		var res *client.ReadyzResponse
		testwait.Eventually(t, wait, func() error {
			if res = readyz(); res.StatusCode() != status {
				return fmt.Errorf("readyz: status %d, want %d: %s", res.StatusCode(), status, res.Body)
			}
			return nil
		})
		return res
	}
	if res := readyz(); res.StatusCode() != 200 {
		t.Fatalf("readyz: %d %s", res.StatusCode(), res.Body)
	}

	srv.Shutdown()
	srv.WaitForShutdown()
	res := waitFor(503)
	if res.JSON503 == nil || res.JSON503.Code != 503 || res.JSON503.Message == "" {
		t.Errorf("readyz 503 envelope: %s", res.Body)
	}

	// The same server back on the same port: the instance reconnects.
	runNATS(t, port)
	waitFor(200)
}
