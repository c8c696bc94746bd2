package wstest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestChannelOf(t *testing.T) {
	for path, want := range map[string]string{
		"/websocket/alice":              "user",
		"/websocket/OneToOne/alice/bob": "oneToOne",
		"/websocket/7/alice":            "group",
	} {
		c, err := channelOf(path)
		if err != nil || c.name != want {
			t.Errorf("channelOf(%s) = %v, %v; want %s", path, c, err, want)
		}
	}
	for _, path := range []string{"/websocket", "/websocket/a/b/c/d", "/other/a", "/websocket/OneToOne/a/"} {
		if c, err := channelOf(path); err == nil {
			t.Errorf("channelOf(%s) = %s, want an error", path, c.name)
		}
	}
}

// TestValidate: frames the contract allows on a channel pass; frames it
// does not, fail.
func TestValidate(t *testing.T) {
	user, err := channelOf("/websocket/alice")
	if err != nil {
		t.Fatal(err)
	}
	group, err := channelOf("/websocket/7/alice")
	if err != nil {
		t.Fatal(err)
	}
	online := map[string]any{"type": "group.online", "groupId": float64(7), "users": []any{}, "text": "当前群在线用户列表：[]"}
	for _, tc := range []struct {
		name  string
		ch    *channel
		frame map[string]any
		ok    bool
	}{
		{"connected", user, map[string]any{"type": "connected", "code": float64(200), "message": "连接成功"}, true},
		{"group.online on its channel", group, online, true},
		{"group.online on the user channel", user, online, false},
		{"code of the wrong type", user, map[string]any{"type": "connected", "code": "200", "message": "连接成功"}, false},
		{"missing message", user, map[string]any{"type": "connected", "code": float64(200)}, false},
		{"another message", user, map[string]any{"type": "connected", "code": float64(200), "message": "连接成功了"}, false},
		{"no type", user, map[string]any{"code": float64(200), "message": "x"}, false},
		{"unknown type", user, map[string]any{"type": "hello"}, false},
	} {
		err := tc.ch.validate(tc.frame)
		if (err == nil) != tc.ok {
			t.Errorf("%s: validate = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestConn: the client reads what a server sends, in order, and reports
// its close code.
func TestConn(t *testing.T) {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("token") != "tok" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"connected","code":200,"message":"连接成功"}`))
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"error","code":400,"message":"坏帧"}`))
		_, text, err := ws.ReadMessage()
		if err != nil {
			return
		}
		_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, string(text)))
		_, _, _ = ws.ReadMessage()
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/websocket/alice"

	if _, res, err := Dial(t, url, nil); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial without token: %v, %v", res, err)
	}
	c := MustDial(t, url, "tok")
	if f := c.Next(); f["type"] != "connected" {
		t.Fatalf("first frame %v", f)
	}
	if f := c.Until("error"); f["message"] != "坏帧" {
		t.Fatalf("error frame %v", f)
	}
	c.Send("bye")
	if code := c.Closed(); code != 4000 {
		t.Fatalf("close code %d, want 4000", code)
	}
}
