package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"tim/internal/testenv"
)

// TestControlCharactersAreRefused: a NUL or another control character in
// a name is a 400 naming the field, never a 500 from the database.
func TestControlCharactersAreRefused(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	tok := env.Register(t, "alice")
	auth := map[string]string{"token": tok}
	jsonBody := func(v map[string]any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	register := func(account, username string) string {
		return jsonBody(map[string]any{"account": account, "password": "secret-pass", "username": username, "age": 20, "sex": "male"})
	}
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	cases := []struct {
		name, method, path, body, field string
	}{
		{"register username NUL", "POST", "/Tim/UserRegister", register("bob", "b\x00b"), "username"},
		{"register username newline", "POST", "/Tim/UserRegister", register("bob", "b\nb"), "username"},
		{"register username DEL", "POST", "/Tim/UserRegister", register("bob", "b\x7fb"), "username"},
		{"register account NUL", "POST", "/Tim/UserRegister", register("b\x00b", "bob"), "account"},
		{"login account NUL", "POST", "/Tim/UserLogin", jsonBody(map[string]any{"account": "a\x00", "password": "secret-pass"}), "account"},
		{"addFriend friend NUL", "GET", "/Tim/addFriend?" + q("UserAccount", "alice", "FriendAccount", "b\x00"), "", "FriendAccount"},
		{"addFriend user NUL", "POST", "/Tim/addFriend?" + q("UserAccount", "alice\x00", "FriendAccount", "bob"), "", "UserAccount"},
		{"createGroup name NUL", "POST", "/Tim/createGroup?" + q("UserAccount", "alice", "GroupName", "team\x00"), "", "GroupName"},
		{"createGroup name escape", "POST", "/Tim/createGroup?" + q("UserAccount", "alice", "GroupName", "team\x1b[31m"), "", "GroupName"},
		{"joinGroup user NUL", "POST", "/Tim/joinGroup?" + q("UserAccount", "\x00", "GroupID", "1"), "", "UserAccount"},
		{"getFriends account NUL", "GET", "/Tim/getFriends?" + q("account", "alice\x00"), "", "account"},
		{"messages with NUL", "GET", "/Tim/messages?" + q("account", "alice", "with", "b\x00"), "", "with"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"token": tok}
			if tc.body != "" {
				h["Content-Type"] = "application/json"
			}
			res, b := do(t, env, tc.method, tc.path, strings.NewReader(tc.body), h)
			if res.StatusCode != 400 {
				t.Fatalf("status %d, want 400: %s", res.StatusCode, b)
			}
			if e := decodeEnvelope(t, res, b); !strings.Contains(e.Message, tc.field) {
				t.Errorf("message %q does not name %s", e.Message, tc.field)
			}
		})
	}

	// Ordinary non-ASCII names still pass.
	res, b := do(t, env, "POST", "/Tim/createGroup?"+q("UserAccount", "alice", "GroupName", "周末 爬山 🏔"), nil, auth)
	if res.StatusCode != 200 {
		t.Fatalf("unicode group name: %d %s", res.StatusCode, b)
	}
	res, b = do(t, env, "POST", "/Tim/UserRegister", strings.NewReader(register("carol", "卡罗尔 C.")), map[string]string{"Content-Type": "application/json"})
	if res.StatusCode != 200 {
		t.Fatalf("unicode username: %d %s", res.StatusCode, b)
	}
}

// TestGroupIDsStayInJavaScriptsSafeRange: group ids above 2^53-1 are
// refused with a 400 naming GroupID, on every operation that takes one; a
// join creates no group for them. 2^53-1 itself is a valid id.
func TestGroupIDsStayInJavaScriptsSafeRange(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	tok := env.Register(t, "alice")
	h := map[string]string{"token": tok}
	for _, id := range []string{"9007199254740992", "9007199254740993", "9223372036854775807"} {
		for _, path := range []string{
			"POST /Tim/joinGroup?UserAccount=alice&GroupID=" + id,
			"POST /Tim/leaveGroup?UserAccount=alice&GroupID=" + id,
			"GET /Tim/getGroupMembers?GroupID=" + id,
			"GET /Tim/groupMessages?account=alice&GroupID=" + id,
		} {
			method, p, _ := strings.Cut(path, " ")
			res, b := do(t, env, method, p, nil, h)
			if res.StatusCode != 400 {
				t.Errorf("%s: status %d, want 400: %s", path, res.StatusCode, b)
				continue
			}
			if e := decodeEnvelope(t, res, b); !strings.Contains(e.Message, "GroupID") {
				t.Errorf("%s: message %q does not name GroupID", path, e.Message)
			}
		}
	}
	res, b := do(t, env, "GET", "/Tim/getGroups?account=alice", nil, h)
	if res.StatusCode != 200 || strings.Contains(string(b), `"id"`) {
		t.Fatalf("groups after refused joins: %d %s", res.StatusCode, b)
	}
	res, b = do(t, env, "POST", "/Tim/joinGroup?UserAccount=alice&GroupID=9007199254740991", nil, h)
	if res.StatusCode != 200 || !strings.Contains(string(b), `"id":9007199254740991`) {
		t.Fatalf("join of 2^53-1: %d %s", res.StatusCode, b)
	}
}
