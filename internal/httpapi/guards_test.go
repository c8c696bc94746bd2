package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"tim/internal/testenv"
)

// The validator answers before the handlers, which no longer check the
// token or the contract's bounds themselves: without a token, each of
// them is 401; out of bounds, 400 naming the parameter or field.
func TestValidatorGuardsTheHandlers(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	tok := env.Register(t, "alice")
	json := map[string]string{"Content-Type": "application/json"}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/Tim/messages?account=alice&with=bob", ""},
		{"GET", "/Tim/groupMessages?account=alice&GroupID=7", ""},
		{"GET", "/Tim/conversations?account=alice", ""},
		{"POST", "/Tim/read", `{"with":"bob","seq":1}`},
		{"GET", "/Tim/groupReaders?GroupID=7&seq=1", ""},
		{"GET", "/Tim/UserLogout", ""},
		{"POST", "/Tim/UserLogout", ""},
	} {
		h := map[string]string{}
		if tc.body != "" {
			h = json
		}
		res, b := do(t, env, tc.method, tc.path, strings.NewReader(tc.body), h)
		if e := decodeEnvelope(t, res, b); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d %q, want 401", tc.method, tc.path, res.StatusCode, e.Message)
		}
	}
	for _, tc := range []struct {
		method, path, body string
		name               string // named by the 400's message
	}{
		{"GET", "/Tim/messages?account=alice&with=bob&limit=0", "", "limit"},
		{"GET", "/Tim/messages?account=alice&with=bob&limit=501", "", "limit"},
		{"GET", "/Tim/groupMessages?account=alice&GroupID=7&limit=0", "", "limit"},
		{"GET", "/Tim/conversations?account=alice&limit=0", "", "limit"},
		{"GET", "/Tim/conversations?account=alice&limit=201", "", "limit"},
		{"GET", "/Tim/groupReaders?GroupID=7&seq=0", "", "seq"},
		{"POST", "/Tim/read", `{"with":"bob","seq":0}`, "seq"},
		{"POST", "/Tim/read", "", "请求体"},
		{"POST", "/Tim/read", "null", "body"},
		{"POST", "/Tim/joinGroup?UserAccount=alice&GroupID=0", "", "GroupID"},
		{"POST", "/Tim/joinGroup?UserAccount=alice&GroupID=9007199254740992", "", "GroupID"},
		{"POST", "/Tim/createGroup?UserAccount=alice&GroupName=", "", "GroupName"},
		{"POST", "/Tim/createGroup?UserAccount=alice&GroupName=a%01b", "", "GroupName"},
		{"POST", "/Tim/createGroup?UserAccount=alice&GroupName=" + strings.Repeat("群", 65), "", "GroupName"},
	} {
		h := map[string]string{"token": tok}
		if tc.body != "" {
			h["Content-Type"] = "application/json"
		}
		res, b := do(t, env, tc.method, tc.path, strings.NewReader(tc.body), h)
		if e := decodeEnvelope(t, res, b); res.StatusCode != http.StatusBadRequest || !strings.Contains(e.Message, tc.name) {
			t.Errorf("%s %s %s: %d %q, want 400 naming %s", tc.method, tc.path, tc.body, res.StatusCode, e.Message, tc.name)
		}
	}
}
