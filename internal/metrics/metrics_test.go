package metrics_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tim/gen/models"
	"tim/internal/config"
	"tim/internal/sniff/snifftestdata"
	"tim/internal/testenv"
	"tim/internal/testwait"
	"tim/internal/wstest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// withTraffic starts a server and drives a little of everything the
// metrics count: logins failed and refused, a chat between two sockets, a
// message caught up on open, a send refused for its rate, a stored upload
// and closed sockets. One socket stays open.
func withTraffic(t *testing.T) *testenv.Env {
	t.Helper()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) {
		c.Accounts.LoginFailuresPerAccount = 1
		c.Realtime.SendRate, c.Realtime.SendBurst = 1, 5
	}))
	tokens := map[string]string{}
	for _, acc := range []string{"ann", "bob", "cat"} {
		tokens[acc] = env.Register(t, acc)
	}
	for _, f := range []string{"bob", "cat"} {
		res, err := env.Client.AddFriendWithResponse(context.Background(), &models.AddFriendParams{UserAccount: "ann", FriendAccount: f}, testenv.Auth(tokens["ann"]))
		if err != nil || res.StatusCode() != http.StatusOK {
			t.Fatalf("befriend ann and %s: %v", f, err)
		}
	}

	// A wrong password (401), then the account's limit (429).
	for range 2 {
		if _, err := env.Client.UserLoginWithResponse(context.Background(), models.UserLoginJSONRequestBody{Account: "ann", Password: "wrong-password"}); err != nil {
			t.Fatal(err)
		}
	}

	// ann writes to bob, who reads and acks on his socket, and to cat, who
	// is offline and catches up when she connects.
	bob := dial(t, env, "bob", tokens["bob"])
	ann := dial(t, env, "ann", tokens["ann"])
	for i, to := range []string{"bob", "bob", "cat"} {
		ann.SendJSON(map[string]any{"type": "send", "to": to, "text": "hello", "clientMsgId": strconv.Itoa(i)})
		ann.Until("ack")
	}
	for range 2 {
		m := bob.Until("message")
		bob.SendJSON(map[string]any{"type": "ack", "with": "ann", "seq": m["seq"]})
	}
	cat := dial(t, env, "cat", tokens["cat"])
	cat.Until("message")

	// Frames beyond the burst are refused with 429.
	for range 8 {
		ann.SendJSON(map[string]any{"type": "ack", "with": "bob", "seq": 0})
	}
	for {
		if f := ann.Until("error"); f["code"] == float64(http.StatusTooManyRequests) {
			break
		}
	}

	// A stored chat picture.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "a.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(snifftestdata.PNG()); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	up, err := env.Client.UploadChatPicWithBodyWithResponse(context.Background(), mw.FormDataContentType(), &body, testenv.Auth(tokens["ann"]))
	if err != nil || up.StatusCode() != http.StatusOK {
		t.Fatalf("upload: %v", err)
	}

	// ann and cat close normally; bob stays connected.
	for _, s := range []*wstest.Conn{ann, cat} {
		if code := s.Close(); code != websocket.CloseNormalClosure {
			t.Fatalf("close: the server answered %d", code)
		}
	}
	return env
}

// dial opens account's user socket in ack mode; the shared test client
// checks every frame against the contract.
func dial(t *testing.T, env *testenv.Env, account, token string) *wstest.Conn {
	t.Helper()
	return wstest.MustDial(t, env.WebSocketURL("/websocket/"+account+"?ack=1"), token)
}

// sample is one line of the text exposition format.
type sample struct {
	name, labels string
	value        float64
}

// scrape reads url's metrics.
func scrape(t *testing.T, url string) []sample {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
	}
	var out []sample
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, val, ok := strings.Cut(line, " ")
		if i := strings.LastIndexByte(line, ' '); ok && i > 0 {
			head, val = line[:i], line[i+1:]
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		name, labels, _ := strings.Cut(head, "{")
		out = append(out, sample{name: name, labels: strings.TrimSuffix(labels, "}"), value: v})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// value sums the samples of name whose labels contain every one of want
// (such as `code="1000"`), and reports whether there were any.
func value(samples []sample, name string, want ...string) (float64, bool) {
	sum, found := 0.0, false
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for _, w := range want {
			if !strings.Contains(s.labels, w) {
				continue next
			}
		}
		sum += s.value
		found = true
	}
	return sum, found
}

// TestMetricsAfterTraffic scrapes /metrics after traffic and checks that
// every family is there with a value the traffic explains.
func TestMetricsAfterTraffic(t *testing.T) {
	env := withTraffic(t)
	var samples []sample
	check := func(desc, name string, ok func(float64) bool, labels ...string) {
		t.Helper()
		v, found := value(samples, name, labels...)
		switch {
		case !found:
			t.Errorf("%s: no %s%v", desc, name, labels)
		case !ok(v):
			t.Errorf("%s: %s%v = %v", desc, name, labels, v)
		default:
			t.Logf("%s%v = %v", name, labels, v)
		}
	}
	atLeast := func(n float64) func(float64) bool { return func(v float64) bool { return v >= n } }
	is := func(n float64) func(float64) bool { return func(v float64) bool { return v == n } }

	// The server ends a socket just after the client saw it close: wait
	// until both closes are counted and the sockets gone.
	// Not fatal: the checks below say which figure is off.
	_ = testwait.For(10*time.Second, func() error {
		samples = scrape(t, env.URL+"/metrics")
		closed, _ := value(samples, "tim_websocket_closes_total", `code="1000"`)
		open, _ := value(samples, "tim_websocket_open_sockets")
		if closed >= 2 && open <= 1 {
			return nil
		}
		return fmt.Errorf("%v closes, %v open sockets", closed, open)
	})

	check("sends stored", "tim_messages_committed_total", atLeast(3))
	check("no commit failed", "tim_commit_failures_total", is(0))
	check("batches", "tim_commit_batch_sends_count", atLeast(1))
	check("sends in batches", "tim_commit_batch_sends_sum", atLeast(3))
	check("commit times", "tim_commit_duration_seconds_count", atLeast(1))
	check("commit time", "tim_commit_duration_seconds_sum", func(v float64) bool { return v > 0 && v < 10 })
	check("live deliveries to bob (and ann's own socket)", "tim_delivery_latency_seconds_count", atLeast(2))
	check("delivery latency", "tim_delivery_latency_seconds_sum", func(v float64) bool { return v > 0 && v < 60 })
	check("sockets closed by their clients", "tim_websocket_closes_total", atLeast(2), `code="1000"`)
	check("no slow consumer", "tim_websocket_closes_total", is(0), `code="4000"`)
	check("bob's socket", "tim_websocket_open_sockets", is(1), `channel="user"`)
	check("no direct socket", "tim_websocket_open_sockets", is(0), `channel="direct"`)
	check("queued bytes", "tim_websocket_queued_bytes", atLeast(0))
	check("fullest queue", "tim_websocket_max_queued_bytes", atLeast(0))
	check("cat's catch-up", "tim_catchup_queries_total", atLeast(1))
	check("bus up", "tim_bus_connected", is(1))
	check("no bus outage", "tim_bus_reconnects_total", is(0))
	check("wrong password", "tim_login_failures_total", is(1))
	check("login limit", "tim_rate_limited_total", is(1), `limit="login"`)
	check("send rate", "tim_rate_limited_total", atLeast(1), `limit="send_rate"`)
	check("no upload refused", "tim_rate_limited_total", is(0), `limit="uploads"`)
	check("upload body", "tim_upload_bytes_total", atLeast(float64(len(snifftestdata.PNG()))), `kind="chatpic"`)
	check("no mp4", "tim_upload_bytes_total", is(0), `kind="mp4"`)
	check("upload time", "tim_upload_duration_seconds_count", is(1), `kind="chatpic"`)
	check("pool in use", "tim_db_pool_connections", atLeast(1), `pool="main"`)
	check("pool size", "tim_db_pool_max_connections", atLeast(1), `pool="main"`)
	check("pool acquires", "tim_db_pool_acquires_total", atLeast(10), `pool="main"`)
	check("pool waits", "tim_db_pool_empty_acquires_total", atLeast(0), `pool="main"`)
	check("pool wait time", "tim_db_pool_acquire_wait_seconds_total", atLeast(0), `pool="main"`)
	check("pool cancels", "tim_db_pool_canceled_acquires_total", atLeast(0), `pool="main"`)
	check("pool connects", "tim_db_pool_new_connections_total", atLeast(1), `pool="main"`)
	check("http", "tim_http_requests_total", atLeast(1), `route="/Tim/UserLogin"`, `status="401"`)
}

// TestDashboardQueriesExportedMetrics fails when a panel of
// deploy/grafana-dashboard.json queries a metric Tim does not export.
func TestDashboardQueriesExportedMetrics(t *testing.T) {
	env := withTraffic(t)
	families, err := env.App.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		name := f.GetName()
		exported[name] = true
		switch f.GetType().String() {
		case "HISTOGRAM":
			exported[name+"_bucket"], exported[name+"_sum"], exported[name+"_count"] = true, true, true
		case "SUMMARY":
			exported[name+"_sum"], exported[name+"_count"] = true, true
		}
	}
	exprs := dashboardExprs(t, "../../deploy/grafana-dashboard.json")
	if len(exprs) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	used := map[string]bool{}
	for panel, list := range exprs {
		for _, expr := range list {
			names := metricNames(expr)
			if len(names) == 0 {
				t.Errorf("panel %q: %q queries no metric of Tim's", panel, expr)
			}
			for _, n := range names {
				used[n] = true
				if !exported[n] {
					t.Errorf("panel %q queries %s, which Tim does not export: %s", panel, n, expr)
				}
			}
		}
	}
	t.Logf("%d panels query %d metrics", len(exprs), len(used))
}

// dashboardExprs returns the query expressions of every panel, rows'
// panels included, by panel title.
func dashboardExprs(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string][]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue // a data source variable's query is a plugin type
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil || q.Query == "" {
			t.Fatalf("variable %s: no query (%v)", v.Name, err)
		}
		out["variable "+v.Name] = append(out["variable "+v.Name], q.Query)
	}
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("parse a panel of %s: %v", path, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out[p.Title] = append(out[p.Title], tg.Expr)
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

var (
	quoted     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	metricName = regexp.MustCompile(`\b(?:tim|go|process)_[A-Za-z0-9_:]*`)
)

// metricNames lists the metric names an expression mentions: Tim exports
// only names beginning tim_, go_ and process_. Quoted label values are
// left out.
func metricNames(expr string) []string {
	return metricName.FindAllString(quoted.ReplaceAllString(expr, `""`), -1)
}
