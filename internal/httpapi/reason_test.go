package httpapi_test

import (
	"strings"
	"testing"

	"tim/internal/testenv"
)

// TestUnparsableParametersCarryAReason: a value that does not even parse
// as its parameter's type gets a 400 that names the parameter and says what
// it must be, never "参数GroupID不合法：" with nothing after it.
func TestUnparsableParametersCarryAReason(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	h := map[string]string{"token": env.Register(t, "alice")}
	cases := []struct{ method, path, want string }{
		{"GET", "/Tim/getGroupMembers?GroupID=abc", "参数GroupID不合法：须为1到9007199254740991之间的整数"},
		{"GET", "/Tim/getGroupMembers?GroupID=1.5", "参数GroupID不合法：须为1到9007199254740991之间的整数"},
		{"POST", "/Tim/joinGroup?UserAccount=alice&GroupID=99999999999999999999", "参数GroupID不合法：须为1到9007199254740991之间的整数"},
		{"GET", "/Tim/messages?account=alice&with=bob&limit=ten", "参数limit不合法：须为1到500之间的整数"},
		{"GET", "/Tim/messages?account=alice&with=bob&afterSeq=x", "参数afterSeq不合法：须为0到9007199254740991之间的整数"},
		{"GET", "/Tim/UserLogout?all=maybe", "参数all不合法：须为true或false"},
	}
	for _, tc := range cases {
		res, b := do(t, env, tc.method, tc.path, nil, h)
		if res.StatusCode != 400 {
			t.Errorf("%s: status %d: %s", tc.path, res.StatusCode, b)
			continue
		}
		e := decodeEnvelope(t, res, b)
		if e.Message != tc.want {
			t.Errorf("%s: message %q, want %q", tc.path, e.Message, tc.want)
		}
		if strings.HasSuffix(e.Message, "：") {
			t.Errorf("%s: message %q has no reason", tc.path, e.Message)
		}
	}
}
