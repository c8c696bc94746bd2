package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/messages"
)

func TestHandshakeRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *config.Config) { c.Realtime.SocketsPerUser = 1 })
	a := e.user("a")
	e.user("b")
	e.user("c")
	e.befriend("a", "b")
	e.group(7, "b")
	e.dial("/websocket/a", a) // takes a's only socket slot for the 429 case

	tests := []struct {
		name   string
		path   string
		token  string
		origin string
		status int
	}{
		{"no token", "/websocket/b", "", "", http.StatusUnauthorized},
		{"bad token", "/websocket/b", "nope", "", http.StatusUnauthorized},
		{"other account", "/websocket/b", e.token("c"), "", http.StatusForbidden},
		{"not a friend", "/websocket/OneToOne/c/a", e.token("c"), "", http.StatusForbidden},
		{"not a member", "/websocket/7/c", e.token("c"), "", http.StatusForbidden},
		{"unknown group", "/websocket/8/c", e.token("c"), "", http.StatusNotFound},
		{"group id not a number", "/websocket/x/c", e.token("c"), "", http.StatusBadRequest},
		{"group id past 2^53-1", "/websocket/9007199254740993/c", e.token("c"), "", http.StatusBadRequest},
		{"too many sockets", "/websocket/a", a, "", http.StatusTooManyRequests},
		{"foreign origin", "/websocket/c", e.token("c"), "http://evil.example", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			_, resp, err := e.tryDial(tc.path, tc.token, h)
			if err == nil {
				t.Fatal("handshake accepted")
			}
			if resp == nil || resp.StatusCode != tc.status {
				t.Fatalf("status %v, want %d", resp, tc.status)
			}
			// Every refusal is the envelope, as on every other route.
			var env models.Envelope
			b, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(b, &env); err != nil || int(env.Code) != tc.status || env.Message == "" ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("body %q (%s), want the envelope of %d", b, resp.Header.Get("Content-Type"), tc.status)
			}
		})
	}
	// The token may also come as a query parameter or a bearer header.
	e.dial("/websocket/b?token="+e.token("b"), "")
	h := http.Header{"Authorization": {"Bearer " + e.token("c")}}
	if _, _, err := e.tryDial("/websocket/c", "", h); err != nil {
		t.Fatal(err)
	}
}

func TestUserChannelOpenSequence(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.user("c")
	e.befriend("a", "b")
	e.befriend("a", "c")
	cb := e.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	// b is online once its presence is written: a sees it in the users list
	// and b sees a come online.
	ca := e.dial("/websocket/a", a)
	if f := ca.Next(); f["code"] != float64(200) || f["message"] != "连接成功" {
		t.Fatalf("first frame %v", f)
	}
	users := ca.Next()["users"].([]any)
	if first := users[0].(map[string]any); first["account"] != "a" || first["username"] != "name-a" {
		t.Fatalf("users %v: the user comes first", users)
	}
	p := cb.NextOf("presence")
	if p["account"] != "a" || p["online"] != true {
		t.Fatalf("presence %v", p)
	}
	ca.Close()
	if p := cb.NextOf("presence"); p["account"] != "a" || p["online"] != false {
		t.Fatalf("presence %v", p)
	}
}

func TestDirectLiveAndOffline(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/OneToOne/a/b", a)
	ca.Next() // 连接成功
	const n = 50
	for i := range n {
		ca.Send(fmt.Sprintf("m%d", i))
	}
	// Acks and the sender's own messages, each in order.
	acks, echoes := ca.AcksAndMessages(n, n)
	for i := range n {
		if acks[i].Seq != int64(i+1) || echoes[i].Seq != int64(i+1) {
			t.Fatalf("ack %d has seq %d, echo %d", i, acks[i].Seq, echoes[i].Seq)
		}
	}
	// b connects later and gets everything once, in order, then live traffic.
	cb := e.dial("/websocket/b", b)
	cb.Next()
	cb.Next()
	for i := range n {
		m := cb.Message()
		if m.Seq != int64(i+1) || m.Message != fmt.Sprintf("m%d", i) || m.FromUser != "a" || *m.To != "b" || m.Kind != models.MessageKind("text") {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	cb.SendJSON(models.LegacySendFrame{To: "a", Text: "reply"})
	if acks, msgs := cb.AcksAndMessages(1, 1); acks[0].Seq != n+1 || msgs[0].Seq != n+1 || msgs[0].FromUser != "b" {
		t.Fatalf("reply ack %+v, message %+v", acks[0], msgs[0])
	}
	if m := ca.Message(); m.Seq != n+1 || m.Message != "reply" {
		t.Fatalf("a got %+v", m)
	}
	// A second user socket opened now has nothing pending: the pongs of
	// b's client confirmed what it read.
	e.waitCursor("b", messages.DirectKey("a", "b"), n+1)
	cb.Close()
	cb2 := e.dial("/websocket/b", b)
	cb2.Next()
	cb2.Next()
	ca.Send("after")
	if m := cb2.Message(); m.Seq != n+2 {
		t.Fatalf("after reconnect got seq %d, want %d", m.Seq, n+2)
	}
}

// TestGroupPresenceDuringAnOpen: a member who comes online while another
// member's group socket is between its upgrade (its client sees it open)
// and its open sequence is announced to that socket too, after its own
// frames.
func TestGroupPresenceDuringAnOpen(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b, c := e.user("a"), e.user("b"), e.user("c")
	e.group(1, "a", "b", "c")
	cc := e.dial("/websocket/1/c", c) // c hears when b's presence went round
	cc.NextOf("group.online")

	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hold := func(h handshake) {
		if h.claims.Account == "a" {
			once.Do(func() { close(held); <-release })
		}
	}
	e.svc.upgraded.Store(&hold)
	// A test that fails early holds no socket for ever (the release goes
	// first: once.Do waits for a hold in progress).
	unhold := sync.OnceFunc(func() { close(release) })
	defer once.Do(func() {})
	defer unhold()
	ca := e.dial("/websocket/1/a", a)
	<-held
	cb := e.dial("/websocket/1/b", b)
	cb.NextOf("group.online")
	if p := cc.NextOf("group.presence"); p["account"] != "b" {
		t.Fatalf("c saw %v", p)
	}
	unhold()

	if f := ca.Next(); f["type"] != "connected" {
		t.Fatalf("a's first frame %v", f)
	}
	if p := ca.NextOf("group.presence"); p["account"] != "a" {
		t.Fatalf("a's own presence first, got %v", p)
	}
	// c's own announcement goes round the bus on its own time: on a busy
	// machine it reaches a's socket during the hold too, before or after
	// b's. It is no part of what this test orders.
	p := ca.NextOf("group.presence")
	for p["account"] == "c" {
		p = ca.NextOf("group.presence")
	}
	if p["account"] != "b" || p["online"] != true {
		t.Fatalf("a saw %v", p)
	}
}

func TestGroupChannel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.user("a"), e.user("b")
	c := e.user("c")
	e.group(1, "a", "b", "c")
	ca := e.dial("/websocket/1/a", a)
	ca.Next()
	if p := ca.Next(); p["type"] != "group.presence" || p["text"] != "用户name-a上线" || p["online"] != true {
		t.Fatalf("presence %v", p)
	}
	if o := ca.Next(); o["type"] != "group.online" || o["text"] != "当前群在线用户列表：[name-a]" {
		t.Fatalf("online %v", o)
	}
	cb := e.dial("/websocket/1/b", b)
	cb.Next()
	cb.NextOf("group.online")
	if p := ca.NextOf("group.presence"); p["account"] != "b" {
		t.Fatalf("a saw %v", p)
	}
	if o := ca.NextOf("group.online"); o["text"] != "当前群在线用户列表：[name-a, name-b]" {
		t.Fatalf("a saw %v", o)
	}
	const n = 30
	for i := range n {
		ca.Send(fmt.Sprintf("g%d", i))
	}
	for i := range n {
		if m := cb.Message(); m.Seq != int64(i+1) || *m.GroupId != 1 || m.FromUser != "a" {
			t.Fatalf("b got %+v", m)
		}
	}
	ca.AcksAndMessages(n, n)
	// c was offline: its user socket replays the group in order.
	cc := e.dial("/websocket/c", c)
	cc.Next()
	cc.Next()
	for i := range n {
		if m := cc.Message(); m.Seq != int64(i+1) || m.Message != fmt.Sprintf("g%d", i) {
			t.Fatalf("c got %+v", m)
		}
	}
	cb.Close()
	if p := ca.NextOf("group.presence"); p["online"] != false || p["text"] != "用户name-b下线" {
		t.Fatalf("a saw %v", p)
	}
}

func TestIdempotentResend(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.user("a")
	e.user("b")
	e.befriend("a", "b")
	ca := e.dial("/websocket/a?ack=1", a)
	ca.Next()
	ca.Next()
	to, id := "b", "x-1"
	send := models.SendFrame{Type: "send", To: &to, Text: "once", ClientMsgId: &id}
	ca.SendJSON(send)
	acks, _ := ca.AcksAndMessages(1, 0)
	first := acks[0]
	ca.SendJSON(send)
	ca.SendJSON(send)
	for range 2 {
		if again := ca.Ack(); again.Id != first.Id || again.Seq != first.Seq || *again.ClientMsgId != id {
			t.Fatalf("repeat ack %+v, first %+v", again, first)
		}
	}
	msgs, err := e.svc.reader.After(context.Background(), messages.DirectKey("a", "b"), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 {
		t.Fatalf("%d messages stored", len(msgs))
	}
}

func TestRefusedAndMalformedFrames(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *config.Config) { c.Realtime.MaxFrameBytes = 1024 })
	a := e.user("a")
	e.user("c")
	e.group(3, "c")
	ca := e.dial("/websocket/a", a)
	ca.Next()
	ca.Next()
	for _, tc := range []struct {
		frame string
		code  float64
	}{
		{"not json", 400},
		{`{"type":"bogus"}`, 400},
		{`{"to":"c"}`, 400},
		{`{"type":"send","text":"x"}`, 400},
		{`{"type":"send","to":"c","groupId":3,"text":"x"}`, 400},
		{`{"type":"send","to":"c","text":"x","kind":"pdf"}`, 400},
		{`{"type":"send","groupId":9007199254740993,"text":"x"}`, 400},
		{`{"to":"c","text":"not a friend"}`, 403},
		{`{"type":"send","groupId":3,"text":"not a member"}`, 403},
		{`{"type":"ack","with":"c","seq":1}`, 400}, // no ack=1
	} {
		ca.Send(tc.frame)
		if f := ca.Next(); f["type"] != "error" || f["code"] != tc.code {
			t.Fatalf("%s: got %v, want error %v", tc.frame, f, tc.code)
		}
	}
	if msgs, _ := e.svc.reader.After(context.Background(), messages.GroupKey(3), 0, 10); len(msgs) != 0 {
		t.Fatalf("refused send stored %v", msgs)
	}
	ca.Send(strings.Repeat("x", 2048))
	if code := ca.Closed(); code != CloseTooBig {
		t.Fatalf("close code %d, want %d", code, CloseTooBig)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := setup(t, func(c *config.Config) { c.Realtime.SendRate, c.Realtime.SendBurst = 0.001, 2 })
	a := e.user("a")
	ca := e.dial("/websocket/a", a)
	ca.Next()
	ca.Next()
	for range 3 {
		ca.Send("junk")
	}
	ca.NextOf("error")
	ca.NextOf("error")
	if f := ca.Next(); f["code"] != float64(429) {
		t.Fatalf("got %v, want 429", f)
	}
	// A refused typed send names its clientMsgId, so that it can be sent
	// again.
	to, id := "b", "c-9"
	ca.SendJSON(models.SendFrame{Type: "send", To: &to, Text: "again", ClientMsgId: &id})
	if f := ca.Next(); f["code"] != float64(429) || f["clientMsgId"] != id {
		t.Fatalf("got %v, want 429 naming %s", f, id)
	}
}

// TestDisconnect: the verb closes the sockets of one token, then all of an
// account's, with 4001.
func TestDisconnect(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a1, a2 := e.user("a"), e.token("a")
	s1 := e.dial("/websocket/a", a1)
	s2 := e.dial("/websocket/a", a2)
	s1.Next()
	s2.Next()
	claims, err := auth_verify(e, a1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Disconnect(context.Background(), "a", claims); err != nil {
		t.Fatal(err)
	}
	if code := s1.Closed(); code != CloseLoggedOut {
		t.Fatalf("close code %d", code)
	}
	s2.Next() // still open
	if err := e.svc.Disconnect(context.Background(), "a", ""); err != nil {
		t.Fatal(err)
	}
	if code := s2.Closed(); code != CloseLoggedOut {
		t.Fatalf("close code %d", code)
	}
}

func auth_verify(e *env, token string) (string, error) {
	c, err := e.issuer.Parse(token)
	return c.JTI, err
}

func TestShutdownClosesGoingAway(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := e.user("a")
	ca := e.dial("/websocket/a", a)
	ca.Next()
	e.stop()
	if code := ca.Closed(); code != CloseGoingAway {
		t.Fatalf("close code %d", code)
	}
}
