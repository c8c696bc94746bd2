package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"tim/internal/reply"
	"tim/internal/testenv"
)

// TestTransportRefusalsAreTheVocabulary: what the stack in front of the
// operations refuses (the token, the route, the body, the origin) is
// answered with the vocabulary's values, code and message both.
func TestTransportRefusalsAreTheVocabulary(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, withOrigins(allowedOrigin))
	tok := env.Register(t, "alice")
	gone := env.Register(t, "bob")
	if res, b := do(t, env, "GET", "/Tim/UserLogout", nil, map[string]string{"token": gone}); res.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", res.StatusCode, b)
	}
	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		want                     reply.Refusal
	}{
		{"no token", "GET", "/Tim/getFriends?account=alice", "", nil, reply.NoToken},
		{"bad token", "GET", "/Tim/getFriends?account=alice", "", map[string]string{"token": "nope"}, reply.BadToken},
		{"logged out token", "GET", "/Tim/getFriends?account=bob", "", map[string]string{"token": gone}, reply.RevokedToken},
		{"missing parameter", "GET", "/Tim/getFriends", "", map[string]string{"token": tok}, reply.MissingParameter("account")},
		{"group id not a number", "GET", "/Tim/getGroupMembers?GroupID=abc", "", map[string]string{"token": tok}, reply.BadGroupID},
		{"unknown path", "GET", "/no/such/thing", "", nil, reply.NoRoute},
		{"wrong method", "DELETE", "/Tim/UserLogin", "", nil, reply.MethodNotAllowed},
		{"form body", "POST", "/Tim/UserLogin", "account=a", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, reply.UnsupportedMediaType},
		{"broken JSON", "POST", "/Tim/UserLogin", "{", map[string]string{"Content-Type": "application/json"}, reply.BadJSON},
		{"no body", "POST", "/Tim/UserLogin", "", nil, reply.NoBody},
		{"multipart without boundary", "POST", "/uploadheadpic", "x", map[string]string{"token": tok, "Content-Type": "multipart/form-data"}, reply.NoBoundary},
		{"preflight of a foreign origin", "OPTIONS", "/Tim/getFriends", "", map[string]string{
			"Origin": foreignOrigin, "Access-Control-Request-Method": "GET",
		}, reply.OriginRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, b := do(t, env, tc.method, tc.path, strings.NewReader(tc.body), tc.header)
			e := decodeEnvelope(t, res, b)
			if got := (reply.Refusal{Code: int32(e.Code), Message: e.Message}); got != tc.want {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, got.Code, got.Message, tc.want.Code, tc.want.Message)
			}
		})
	}
}
