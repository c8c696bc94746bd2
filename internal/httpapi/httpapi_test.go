package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type envelope struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func do(t *testing.T, env *testenv.Env, method, path string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

func decodeEnvelope(t *testing.T, res *http.Response, b []byte) envelope {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, body %s", ct, b)
	}
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("not an envelope: %s", b)
	}
	if e.Code != res.StatusCode || e.Message == "" {
		t.Fatalf("envelope %+v under status %d", e, res.StatusCode)
	}
	return e
}

func TestErrorsUseTheEnvelope(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	cases := []struct {
		name, method, path, body, contentType string
		code                                  int
	}{
		{"unknown path", "GET", "/no/such/thing", "", "", 404},
		{"wrong method", "DELETE", "/Tim/UserLogin", "", "", 405},
		{"no token", "GET", "/Tim/getFriends?account=a", "", "", 401},
		{"missing query parameter", "GET", "/Tim/getFriends", "", "", 401},
		{"login as form", "POST", "/Tim/UserLogin", "account=a", "application/x-www-form-urlencoded", 415},
		{"login with bad content type", "POST", "/Tim/UserLogin", "{}", "application/json; charset", 415},
		{"login array body", "POST", "/Tim/UserLogin", "[1,2]", "application/json", 400},
		{"login wrong type", "POST", "/Tim/UserLogin", `{"account":1,"password":"x"}`, "application/json", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.contentType != "" {
				h["Content-Type"] = tc.contentType
			}
			res, b := do(t, env, tc.method, tc.path, strings.NewReader(tc.body), h)
			if res.StatusCode != tc.code {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.code, b)
			}
			decodeEnvelope(t, res, b)
		})
	}
}

func TestParameterErrorsNameTheParameter(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	tok := env.Register(t, "alice")
	h := map[string]string{"token": tok}
	for path, name := range map[string]string{
		"/Tim/getFriends":                                   "account",
		"/Tim/getFriends?account=a%20b":                     "account",
		"/Tim/getGroupMembers?GroupID=abc":                  "GroupID",
		"/Tim/getGroupMembers?GroupID=0":                    "GroupID",
		"/Tim/messages?account=alice&with=bob&limit=100000": "limit",
	} {
		res, b := do(t, env, "GET", path, nil, h)
		if res.StatusCode != 400 {
			t.Errorf("%s: status %d: %s", path, res.StatusCode, b)
			continue
		}
		if e := decodeEnvelope(t, res, b); !strings.Contains(e.Message, name) {
			t.Errorf("%s: message %q does not name %s", path, e.Message, name)
		}
	}
}

func TestOperationsEndpoints(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		res, b := do(t, env, "GET", path, nil, nil)
		if res.StatusCode != 200 {
			t.Errorf("%s: %d %s", path, res.StatusCode, b)
		}
		if res.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", path)
		}
	}
	// A request id the client sends is kept.
	res, _ := do(t, env, "GET", "/healthz", nil, map[string]string{"X-Request-Id": "abc-123"})
	if got := res.Header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id = %q", got)
	}

	res, b := do(t, env, "GET", "/metrics", nil, nil)
	if res.StatusCode != 200 || !strings.Contains(string(b), `tim_http_requests_total{method="GET",route="/healthz",status="200"}`) {
		t.Errorf("metrics: %d\n%.2000s", res.StatusCode, b)
	}
	if !strings.Contains(string(b), "tim_http_request_duration_seconds_bucket") {
		t.Errorf("metrics lack latency histogram")
	}

	for path, want := range map[string]string{"/openapi.yaml": "openapi: 3.0.3", "/asyncapi.yaml": "asyncapi: 3."} {
		res, b := do(t, env, "GET", path, nil, nil)
		if res.StatusCode != 200 || !strings.HasPrefix(string(b), want) {
			t.Errorf("%s: %d %.40q", path, res.StatusCode, b)
		}
	}
}

func TestForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	login := func(t *testing.T, env *testenv.Env, from string) int {
		body := `{"account":"alice","password":"wrong-password"}`
		res, b := do(t, env, "POST", "/Tim/UserLogin", strings.NewReader(body),
			map[string]string{"Content-Type": "application/json", "X-Forwarded-For": from})
		decodeEnvelope(t, res, b)
		return res.StatusCode
	}
	limit := func(c *config.Config) {
		c.Accounts.LoginFailuresPerAddress = 1
		c.Accounts.LoginFailuresPerAccount = 100
	}

	t.Run("untrusted peer", func(t *testing.T) {
		env := testenv.New(t, testenv.WithConfig(limit))
		env.Register(t, "alice")
		if code := login(t, env, "198.51.100.1"); code != 401 {
			t.Fatalf("first failure: %d", code)
		}
		// The header is ignored: the second address is the same peer.
		if code := login(t, env, "198.51.100.2"); code != 429 {
			t.Fatalf("second failure: %d, want 429", code)
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
			limit(c)
			c.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		}))
		env.Register(t, "alice")
		if code := login(t, env, "198.51.100.1"); code != 401 {
			t.Fatalf("first failure: %d", code)
		}
		if code := login(t, env, "198.51.100.2"); code != 401 {
			t.Fatalf("other client behind the proxy: %d, want 401", code)
		}
		if code := login(t, env, "198.51.100.1"); code != 429 {
			t.Fatalf("same client again: %d, want 429", code)
		}
	})
}

func TestGeneratedClientSeesEnvelopeOnUnauthorized(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	res, err := env.Client.GetFriendsWithResponse(context.Background(), &models.GetFriendsParams{Account: "a"}, testenv.Auth("garbage"))
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON401 == nil || res.JSON401.Code != 401 {
		t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
	}
}
