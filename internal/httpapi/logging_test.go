package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestTokenMaskedInLogsWhateverItsCase: a token query parameter never
// reaches the access log in clear, however its name is capitalised.
func TestTokenMaskedInLogsWhateverItsCase(t *testing.T) {
	t.Parallel()
	addr, logs := runTim(t, nil)
	for i, name := range []string{"token", "TOKEN", "Token", "tOkEn"} {
		secret := fmt.Sprintf("s3cr3t-%d-value", i)
		q := url.Values{"filename": {fmt.Sprintf("probe-%d", i)}, name: {secret}}
		res, err := http.Get("http://" + addr + "/downloadchatpic?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		logs.Wait(t, logWait, 0, regexp.MustCompile(fmt.Sprintf(`msg=request .*probe-%d`, i)))
		if strings.Contains(logs.String(), secret) {
			t.Errorf("?%s= logged in clear:\n%s", name, logs.String())
		}
	}
}

// TestRequestIDFromClientOnlyWhenShortAndPrintable: a client's X-Request-Id
// is answered and logged as sent when it has 1 to 64 printable ASCII
// characters and no space; anything else is replaced by a generated id,
// and the log line carries the id the response names.
func TestRequestIDFromClientOnlyWhenShortAndPrintable(t *testing.T) {
	t.Parallel()
	addr, logs := runTim(t, nil)
	cases := []struct {
		name, sent string
		kept       bool
	}{
		{"typical", "req-42_a.b:c/d", true},
		{"64 bytes", strings.Repeat("x", 64), true},
		{"punctuation", `!"#$%&'()*+,-./~`, true},
		{"65 bytes", strings.Repeat("y", 65), false},
		{"a space", "two words", false},
		{"a tab", "tab\there", false},
		{"not ASCII", "id-é", false},
		{"absent", "", false},
	}
	seen := map[string]bool{}
	for i, tc := range cases {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/healthz?case=%d", addr, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.sent != "" {
			req.Header.Set("X-Request-Id", tc.sent)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		got := res.Header.Get("X-Request-Id")
		if tc.kept {
			if got != tc.sent {
				t.Errorf("%s: X-Request-Id %q, want the client's %q", tc.name, got, tc.sent)
			}
		} else {
			if got == tc.sent || got == "" || len(got) > 64 || strings.ContainsAny(got, " \t") {
				t.Errorf("%s: X-Request-Id %q for %q, want a fresh printable id", tc.name, got, tc.sent)
			}
			if seen[got] {
				t.Errorf("%s: generated id %q repeats", tc.name, got)
			}
			seen[got] = true
		}
		// slog quotes values with spaces or quotes; match either form.
		line := logs.Wait(t, logWait, 0, regexp.MustCompile(fmt.Sprintf(`msg=request .*query="?case=%d"? .*`, i)))[0]
		if !strings.Contains(line, "request_id="+got+" ") && !strings.Contains(line, fmt.Sprintf("request_id=%q ", got)) {
			t.Errorf("%s: log line does not carry request id %q:\n%s", tc.name, got, line)
		}
	}
}

// TestWebSocketUpgradeLoggedAs101: an accepted WebSocket is logged, and
// counted in the metrics, with the status the client received, 101.
func TestWebSocketUpgradeLoggedAs101(t *testing.T) {
	t.Parallel()
	addr, logs := runTim(t, nil)
	base := "http://" + addr
	post := func(path, body string) []byte {
		t.Helper()
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, res.StatusCode, b)
		}
		return b
	}
	post("/Tim/UserRegister", `{"account":"alice","password":"secret-pass","username":"alice","age":20,"sex":"female"}`)
	token := regexp.MustCompile(`"token":"([^"]+)"`).FindSubmatch(post("/Tim/UserLogin", `{"account":"alice","password":"secret-pass"}`))
	if token == nil {
		t.Fatal("login answered no token")
	}
	conn, res, err := websocket.DefaultDialer.Dial("ws://"+addr+"/websocket/alice", http.Header{"token": {string(token[1])}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	defer conn.Close()
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d", res.StatusCode)
	}
	line := logs.Wait(t, logWait, 0, regexp.MustCompile(`msg=request .*path=/websocket/alice .*`))[0]
	if !strings.Contains(line, " status=101 ") {
		t.Errorf("upgrade logged with another status than 101:\n%s", line)
	}

	res, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if !regexp.MustCompile(`tim_http_requests_total\{method="GET",route="/websocket/:useraccount",status="101"\} 1`).Match(b) {
		t.Errorf("no request counted with status 101:\n%s", regexp.MustCompile(`(?m)^tim_http_requests_total.*$`).FindAll(b, -1))
	}
}
