package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"tim/internal/config"
	"tim/internal/reply"
	"tim/internal/testenv"
	"tim/internal/wstest"
)

// TestHandshakeRefusesAsREST: a socket's handshake refuses the token, the
// account, the group id and the origin with the values REST refuses them
// with, code and message both.
func TestHandshakeRefusesAsREST(t *testing.T) {
	t.Parallel()
	const foreign = "https://evil.example"
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.HTTP.AllowedOrigins = []string{"https://app.example.com"} }))
	env.Register(t, "a")
	c := env.Register(t, "c")
	gone := env.Register(t, "gone")
	res, err := env.HTTP.Do(request(t, env, "GET", "/Tim/UserLogout", http.Header{"token": {gone}}))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	refusal := func(what string, res *http.Response) reply.Refusal {
		t.Helper()
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		var e struct {
			Code    int32  `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &e); err != nil || int(e.Code) != res.StatusCode {
			t.Fatalf("%s: status %d, body %s: not the envelope", what, res.StatusCode, body)
		}
		return reply.Refusal{Code: e.Code, Message: e.Message}
	}
	for _, tc := range []struct {
		name         string
		rest, socket string
		header       http.Header
		want         reply.Refusal
	}{
		{"no token", "/Tim/getFriends?account=c", "/websocket/c", http.Header{}, reply.NoToken},
		{"bad token", "/Tim/getFriends?account=c", "/websocket/c", http.Header{"token": {"nope"}}, reply.BadToken},
		{"logged out token", "/Tim/getFriends?account=gone", "/websocket/gone", http.Header{"token": {gone}}, reply.RevokedToken},
		{"other account", "/Tim/getFriends?account=a", "/websocket/a", http.Header{"token": {c}}, reply.OtherAccount},
		{"group id not a number", "/Tim/getGroupMembers?GroupID=x", "/websocket/x/c", http.Header{"token": {c}}, reply.BadGroupID},
		{"foreign origin", "/Tim/getFriends", "/websocket/c", http.Header{"token": {c}, "Origin": {foreign}}, reply.OriginRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method, h := "GET", tc.header.Clone()
			if h.Get("Origin") != "" { // REST refuses an origin at its preflight
				method = "OPTIONS"
				h.Set("Access-Control-Request-Method", "GET")
			}
			res, err := env.HTTP.Do(request(t, env, method, tc.rest, h))
			if err != nil {
				t.Fatal(err)
			}
			if got := refusal("REST", res); got != tc.want {
				t.Errorf("REST %s: %d %q, want %d %q", tc.rest, got.Code, got.Message, tc.want.Code, tc.want.Message)
			}
			_, res, err = wstest.Dial(t, env.WebSocketURL(tc.socket), tc.header)
			if err == nil || res == nil {
				t.Fatalf("socket %s: opened, or no answer (%v)", tc.socket, err)
			}
			if got := refusal("socket", res); got != tc.want {
				t.Errorf("socket %s: %d %q, want %d %q", tc.socket, got.Code, got.Message, tc.want.Code, tc.want.Message)
			}
		})
	}
}

func request(t *testing.T, env *testenv.Env, method, path string, h http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	return req
}
