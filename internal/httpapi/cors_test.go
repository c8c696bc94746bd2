package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"tim/gen/server"
	"tim/internal/config"
	"tim/internal/testenv"
)

const (
	allowedOrigin = "https://app.example.com"
	foreignOrigin = "https://evil.example"
)

func withOrigins(origins ...string) testenv.Option {
	return testenv.WithConfig(func(c *config.Config) { c.HTTP.AllowedOrigins = origins })
}

func preflight(t *testing.T, env *testenv.Env, path, origin, method string) (*http.Response, []byte) {
	t.Helper()
	return do(t, env, http.MethodOptions, path, nil, map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  method,
		"Access-Control-Request-Headers": "token, content-type",
	})
}

// accessControl returns the response's Access-Control-* headers.
func accessControl(res *http.Response) http.Header {
	out := http.Header{}
	for k, v := range res.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = v
		}
	}
	return out
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// TestPreflightOfEveryContractRoute: a listed origin's preflight of every
// path of the contract is answered 204 with exactly that path's methods
// and the token, Authorization and Content-Type request headers.
func TestPreflightOfEveryContractRoute(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, withOrigins(allowedOrigin))
	spec, err := server.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range spec.Paths.Map() {
		var want []string
		for m := range item.Operations() {
			want = append(want, m)
		}
		slices.Sort(want)
		res, b := preflight(t, env, path, allowedOrigin, want[0])
		if res.StatusCode != http.StatusNoContent {
			t.Errorf("%s: status %d: %s", path, res.StatusCode, b)
			continue
		}
		h := res.Header
		if got := h.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
			t.Errorf("%s: Allow-Origin %q", path, got)
		}
		got := splitList(h.Get("Access-Control-Allow-Methods"))
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: Allow-Methods %v, want %v", path, got, want)
		}
		headers := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
		for _, name := range []string{"token", "authorization", "content-type"} {
			if !slices.Contains(splitList(headers), name) {
				t.Errorf("%s: Allow-Headers %q lacks %s", path, headers, name)
			}
		}
		if h.Get("Access-Control-Max-Age") == "" {
			t.Errorf("%s: no Max-Age", path)
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: credentials allowed, but no cookies are used", path)
		}
	}
}

// TestCORSActualRequests: a listed origin's requests, answered or refused,
// carry Allow-Origin, the exposed headers and Vary: Origin, so that a page
// can read the envelope, Retry-After and X-Request-Id; an unlisted origin
// gets no Access-Control-* header and its preflight is refused.
func TestCORSActualRequests(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, withOrigins("https://other.example", strings.ToUpper(allowedOrigin)))
	tok := env.Register(t, "alice")

	body := `{"account":"alice","password":"` + testenv.Password + `"}`
	res, b := do(t, env, "POST", "/Tim/UserLogin", strings.NewReader(body), map[string]string{
		"Origin": allowedOrigin, "Content-Type": "application/json",
	})
	if res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, b)
	}
	checkAllowed := func(what string, res *http.Response) {
		t.Helper()
		h := res.Header
		if got := h.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
			t.Errorf("%s: Allow-Origin %q, want %q", what, got, allowedOrigin)
		}
		exposed := splitList(h.Get("Access-Control-Expose-Headers"))
		for _, name := range []string{"Retry-After", "ETag", "Content-Disposition", "X-Request-Id"} {
			if !slices.Contains(exposed, name) {
				t.Errorf("%s: Expose-Headers %v lack %s", what, exposed, name)
			}
		}
		if !slices.Contains(h.Values("Vary"), "Origin") {
			t.Errorf("%s: Vary %v lacks Origin", what, h.Values("Vary"))
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id to expose", what)
		}
	}
	checkAllowed("login", res)
	res, _ = do(t, env, "GET", "/Tim/getFriends?account=alice", nil, map[string]string{"Origin": allowedOrigin})
	checkAllowed("refusal without token", res)
	if res.StatusCode != 401 {
		t.Errorf("getFriends without token: %d", res.StatusCode)
	}
	res, _ = do(t, env, "GET", "/Tim/getFriends?account=alice", nil, map[string]string{"Origin": allowedOrigin, "Authorization": "Bearer " + tok})
	checkAllowed("bearer", res)
	if res.StatusCode != 200 {
		t.Errorf("getFriends with bearer: %d", res.StatusCode)
	}

	// An origin not in the list: nothing, whatever the request.
	res, b = preflight(t, env, "/Tim/UserLogin", foreignOrigin, "POST")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("foreign preflight: status %d: %s", res.StatusCode, b)
	} else {
		decodeEnvelope(t, res, b)
	}
	if ac := accessControl(res); len(ac) != 0 {
		t.Errorf("foreign preflight got %v", ac)
	}
	res, _ = do(t, env, "POST", "/Tim/UserLogin", strings.NewReader(body), map[string]string{
		"Origin": foreignOrigin, "Content-Type": "application/json",
	})
	if ac := accessControl(res); len(ac) != 0 {
		t.Errorf("foreign login got %v", ac)
	}
	// A prefix or a suffix of a listed origin is another origin.
	for _, o := range []string{"https://app.example.com.evil.example", "http://app.example.com", "https://app.example.com:8443"} {
		res, _ := preflight(t, env, "/Tim/UserLogin", o, "POST")
		if ac := accessControl(res); res.StatusCode != http.StatusForbidden || len(ac) != 0 {
			t.Errorf("%s: status %d, %v", o, res.StatusCode, ac)
		}
	}
}

// TestCORSDefaultsToSameOrigin: with no allowed origins, no origin gets an
// Access-Control-* header, and a preflight is the 405 of any other method.
func TestCORSDefaultsToSameOrigin(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	res, b := preflight(t, env, "/Tim/UserLogin", allowedOrigin, "POST")
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("preflight: status %d: %s", res.StatusCode, b)
	}
	if ac := accessControl(res); len(ac) != 0 {
		t.Errorf("preflight got %v", ac)
	}
	res, _ = do(t, env, "GET", "/healthz", nil, map[string]string{"Origin": allowedOrigin})
	if ac := accessControl(res); len(ac) != 0 {
		t.Errorf("healthz got %v", ac)
	}
}

// TestCORSAnyOrigin: "*" admits every origin, each answered with its own.
func TestCORSAnyOrigin(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, withOrigins("*"))
	for _, o := range []string{allowedOrigin, foreignOrigin} {
		res, b := preflight(t, env, "/uploadchatpic", o, "POST")
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != o {
			t.Errorf("%s: %d %v %s", o, res.StatusCode, accessControl(res), b)
		}
	}
	// A path outside the contract gets no preflight answer.
	res, _ := preflight(t, env, "/no/such/path", allowedOrigin, "GET")
	if res.StatusCode == http.StatusNoContent {
		t.Errorf("unknown path preflight answered %d", res.StatusCode)
	}
}
