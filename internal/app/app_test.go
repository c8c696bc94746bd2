package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats-server/v2/server"

	"tim/gen/client"
	"tim/internal/app"
	"tim/internal/config"
	"tim/internal/testdb"
	"tim/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const wait = 10 * time.Second

var ctx = context.Background()

// socket is a WebSocket client as the document's clients use it: the token
// in a header named token.
type socket struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan map[string]any
	done   chan error
}

func dial(t *testing.T, env *testenv.Env, path, token string) *socket {
	t.Helper()
	h := http.Header{}
	h.Set("token", token)
	conn, res, err := websocket.DefaultDialer.Dial(env.WebSocketURL(path), h)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	s := &socket{t: t, conn: conn, frames: make(chan map[string]any, 1024), done: make(chan error, 1)}
	go func() {
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				s.done <- err
				close(s.frames)
				return
			}
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				s.done <- err
				close(s.frames)
				return
			}
			s.frames <- v
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return s
}

// next returns the next frame, failing the test after wait.
func (s *socket) next() map[string]any {
	s.t.Helper()
	select {
	case v, ok := <-s.frames:
		if !ok {
			s.t.Fatalf("socket closed: %v", <-s.done)
		}
		return v
	case <-time.After(wait):
		s.t.Fatal("no frame within the wait")
	}
	return nil
}

// nextOf skips frames until one of type typ.
func (s *socket) nextOf(typ string) map[string]any {
	s.t.Helper()
	for {
		if v := s.next(); v["type"] == typ {
			return v
		}
	}
}

// closeCode waits for the server to close the socket and returns the code.
func (s *socket) closeCode() int {
	s.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case _, ok := <-s.frames:
			if ok {
				continue
			}
			var ce *websocket.CloseError
			if err := <-s.done; errors.As(err, &ce) {
				return ce.Code
			}
			return -1
		case <-deadline:
			s.t.Fatal("socket not closed within the wait")
		}
	}
}

func (s *socket) send(text string) {
	s.t.Helper()
	if err := s.conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		s.t.Fatal(err)
	}
}

func befriend(t *testing.T, env *testenv.Env, token, a, b string) {
	t.Helper()
	res, err := env.Client.AddFriendWithResponse(ctx, &client.AddFriendParams{UserAccount: a, FriendAccount: b}, testenv.Auth(token))
	if err != nil || res.StatusCode() != 200 {
		t.Fatalf("addFriend %s %s: %v %s", a, b, err, res.Body)
	}
}

func join(t *testing.T, env *testenv.Env, token, a string, group int64) {
	t.Helper()
	res, err := env.Client.JoinGroupWithResponse(ctx, &client.JoinGroupParams{UserAccount: a, GroupID: group}, testenv.Auth(token))
	if err != nil || res.StatusCode() != 200 {
		t.Fatalf("joinGroup %s %d: %v %s", a, group, err, res.Body)
	}
}

func onlineStatus(t *testing.T, env *testenv.Env, token, account, friend string) int {
	t.Helper()
	res, err := env.Client.GetFriendsWithResponse(ctx, &client.GetFriendsParams{Account: account}, testenv.Auth(token))
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
	if v := b.next(); v["type"] != "connected" || v["code"] != float64(200) || v["message"] != "连接成功" {
		t.Fatalf("first frame %v", v)
	}
	if v := b.next(); v["type"] != "users" || v["users"] == nil {
		t.Fatalf("second frame %v", v)
	}
	if got := onlineStatus(t, env, ta, "a", "b"); got != 1 {
		t.Errorf("b's onlineStatus = %d while connected", got)
	}

	a := dial(t, env, "/websocket/a", ta)
	a.next() // 连接成功
	users := a.next()["users"].([]any)
	names := map[string]bool{}
	for _, u := range users {
		names[u.(map[string]any)["account"].(string)] = true
	}
	if !names["a"] || !names["b"] {
		t.Errorf("users = %v, want a and online friend b", users)
	}
	if p := b.nextOf("presence"); p["account"] != "a" || p["online"] != true {
		t.Errorf("presence = %v", p)
	}

	chat := dial(t, env, "/websocket/OneToOne/a/b", ta)
	chat.send("hi")
	m := b.nextOf("message")
	if m["fromUser"] != "a" || m["to"] != "b" || m["message"] != "hi" || m["seq"] != float64(1) || m["kind"] != "text" {
		t.Errorf("message at b = %v", m)
	}
	if m := chat.nextOf("message"); m["message"] != "hi" {
		t.Errorf("the one-to-one socket sees its conversation: %v", m)
	}

	join(t, env, ta, "a", 1)
	join(t, env, tb, "b", 1)
	ga := dial(t, env, "/websocket/1/a", ta)
	gb := dial(t, env, "/websocket/1/b", tb)
	p := ga.nextOf("group.presence")
	for p["account"] != "b" {
		p = ga.nextOf("group.presence")
	}
	if p["text"] != "用户b上线" || p["online"] != true {
		t.Errorf("group.presence = %v", p)
	}
	on := ga.nextOf("group.online")
	for !strings.Contains(on["text"].(string), "b") {
		on = ga.nextOf("group.online")
	}
	if on["text"] != "当前群在线用户列表：[a, b]" {
		t.Errorf("group.online text = %q", on["text"])
	}
	ga.send("hello group")
	if m := gb.nextOf("message"); m["groupId"] != float64(1) || m["fromUser"] != "a" || m["message"] != "hello group" {
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
		chat.send(text)
		chat.nextOf("message") // committed: the sender's own socket sees it
	}
	env.Restart(t)

	b := dial(t, env, "/websocket/b", tb)
	for i, want := range []string{"one", "two", "three"} {
		m := b.nextOf("message")
		if m["message"] != want || m["seq"] != float64(i+1) {
			t.Fatalf("offline message %d = %v", i, m)
		}
	}
	// Delivered once: a second socket after the cursor moved gets none of them.
	chat2 := dial(t, env, "/websocket/OneToOne/a/b", env.Login(t, "a"))
	chat2.send("four")
	if m := b.nextOf("message"); m["message"] != "four" || m["seq"] != float64(4) {
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
	kept.next() // connected
	kept.next() // online friends

	res, err := env.Client.UserLogoutWithResponse(ctx, nil, testenv.Auth(tok))
	if err != nil || res.StatusCode() != 200 {
		t.Fatalf("logout: %v", err)
	}
	for name, s := range map[string]*socket{"same instance": here, "peer instance": there} {
		if code := s.closeCode(); code != 4001 {
			t.Errorf("%s: close code %d, want 4001", name, code)
		}
	}
	// The revoked token cannot open a new socket.
	h := http.Header{}
	h.Set("token", tok)
	_, r, err := websocket.DefaultDialer.Dial(env.WebSocketURL("/websocket/a"), h)
	if err == nil || r == nil || r.StatusCode != 401 {
		t.Errorf("dial with revoked token: %v", err)
	}
	// The socket of the other token outlives the logout, which every
	// instance has applied by now: it still sends, and reads the ack.
	kept.send(`{"type":"send","to":"b","text":"after logout","clientMsgId":"k1"}`)
	if ack := kept.nextOf("ack"); ack["clientMsgId"] != "k1" {
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
		c.NATSURL = fmt.Sprintf("nats://tim:bus-pw@127.0.0.1:%d", port)
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
		deadline := time.Now().Add(wait)
		for {
			res := readyz()
			if res.StatusCode() == status {
				return res
			}
			if time.Now().After(deadline) {
				t.Fatalf("readyz: status %d, want %d: %s", res.StatusCode(), status, res.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
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
