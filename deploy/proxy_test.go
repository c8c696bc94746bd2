package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"tim/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

const (
	// readTimeout is the test proxies' read timeout on the connection to
	// Tim; Tim pings every second (timSettings), and an idle socket must
	// outlive twice this.
	readTimeout = 3 * time.Second
	// loginLimit is TIM_LOGIN_FAILURES_PER_ADDRESS for the test.
	loginLimit = 3
	// videoSize is the size of the uploaded MP4: far over nginx's default
	// 1 MB body limit, under Tim's 200 MiB.
	videoSize = 50 << 20
	// chatPicLimit is Tim's default TIM_MAX_CHATPIC_BYTES.
	chatPicLimit = 10 << 20
)

// TestBehindProxies runs Tim behind a private nginx and a private Caddy,
// each with the configuration shipped in this directory, and drives the
// whole API through each: the REST journey, a 50 MB upload and ranged
// download, the three WebSocket channels, a socket idle past the proxy's
// read timeout, the failed-login limit keyed on the real client address,
// and an access log without tokens.
func TestBehindProxies(t *testing.T) {
	_, nginx := lookBinary("nginx")
	_, caddy := lookBinary("caddy")
	if !nginx && !caddy {
		proxyBinary(t, "nginx") // skips, or fails when the proxies are required
	}
	tim := startTim(t)
	video := mp4(videoSize)

	for _, tc := range []struct {
		name string
		// start returns the proxy as shipped (its read timeout shortened
		// to readTimeout where it has one), and the proxy to hold the idle
		// socket through, which cuts connections to Tim idle for
		// readTimeout.
		start func(t *testing.T, tim string) (shipped, idle *proxy)
		// clients are the loopback addresses the login-limit check
		// connects from; every other request comes from 127.0.0.1.
		clients [3]string
		group   int64
	}{
		{"nginx", func(t *testing.T, tim string) (*proxy, *proxy) {
			p := startNginx(t, tim, readTimeout)
			return p, p
		}, [3]string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}, 1001},
		// The Caddyfile sets no read timeout (one would cut slow uploads,
		// which slowUpload checks); a second Caddy with one, as an operator
		// might add, shows that Tim's pings keep an idle socket open.
		{"caddy", func(t *testing.T, tim string) (*proxy, *proxy) {
			return startCaddy(t, tim, 0), startCaddy(t, tim, readTimeout)
		}, [3]string{"127.0.0.5", "127.0.0.6", "127.0.0.7"}, 1002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			px, idlePx := tc.start(t, tim)
			j := &journey{t: t, px: px, c: newClient(t, px.URL, "127.0.0.1"),
				a: tc.name + "_a", b: tc.name + "_b", group: tc.group}
			j.rest()
			idle, idleSince := j.openIdleSocket(newClient(t, idlePx.URL, "127.0.0.1"))
			j.media(video)
			j.slowUpload()
			// The idle socket has had only Tim's pings since it opened.
			if d := 2*readTimeout + time.Second - time.Since(idleSince); d > 0 {
				time.Sleep(d) // the scenario: idle past twice the proxy's read timeout
			}
			idle.alive()
			j.websockets(idle)
			j.loginLimits(tc.clients)

			px.stop(t)
			idlePx.stop(t)
			paths := []string{"/uploadmp4", "/downloadmp4", "/websocket/" + j.a, "/websocket/OneToOne/" + j.a + "/" + j.b}
			idlePath := "/websocket/OneToOne/" + j.b + "/" + j.a
			if idlePx == px {
				j.checkLogs(px, append(paths, idlePath)...)
			} else {
				j.checkLogs(px, paths...)
				j.checkLogs(idlePx, idlePath)
			}
		})
	}
}

// journey is one proxy's run through the API, by accounts a and b.
type journey struct {
	t      *testing.T
	px     *proxy
	c      *client // from 127.0.0.1
	a, b   string
	group  int64
	ta, tb string   // a's and b's tokens
	tokens []string // every token issued, none of which may be logged
}

// rest registers a and b, logs them in, makes them friends and members of
// the group: the REST journey of the README.
func (j *journey) rest() {
	t, c := j.t, j.c
	c.register(j.a)
	c.register(j.b)
	j.ta, j.tb = c.login(j.a), c.login(j.b)
	j.tokens = append(j.tokens, j.ta, j.tb)

	c.call(http.MethodGet, "/Tim/addFriend?UserAccount="+j.a+"&FriendAccount="+j.b, j.ta, nil, nil, http.StatusOK)
	env := c.call(http.MethodGet, "/Tim/getFriends?account="+j.a, j.ta, nil, nil, http.StatusOK)
	var friends []struct {
		Account string `json:"account"`
	}
	if err := json.Unmarshal(env.Data, &friends); err != nil || len(friends) != 1 || friends[0].Account != j.b {
		t.Fatalf("getFriends: want [%s], got %s", j.b, env.Data)
	}
	gid := strconv.FormatInt(j.group, 10)
	c.call(http.MethodPost, "/Tim/joinGroup?UserAccount="+j.a+"&GroupID="+gid, j.ta, nil, nil, http.StatusOK)
	c.call(http.MethodPost, "/Tim/joinGroup?UserAccount="+j.b+"&GroupID="+gid, j.tb, nil, nil, http.StatusOK)
}

// openIdleSocket opens b's one-to-one socket with a through c, with the
// token in the query as browsers send it. Nothing is sent on it, and
// nothing but pings reaches it, until websockets uses it.
func (j *journey) openIdleSocket(c *client) (*socket, time.Time) {
	s := c.dial("b's idle one-to-one socket", "/websocket/OneToOne/"+j.b+"/"+j.a+"?token="+url.QueryEscape(j.tb), nil)
	since := time.Now()
	s.expect("the connected frame", isConnected)
	return s, since
}

// media uploads the video (streamed, with a Content-Length), downloads a
// byte range and the whole file, and checks that an oversized upload gets
// Tim's own 413, not the proxy's.
func (j *journey) media(video []byte) {
	t, c := j.t, j.c
	res, body := c.upload("/uploadmp4", j.ta, "video.mp4", video)
	env := c.checkEnvelope("upload a 50 MB MP4", res, body, http.StatusOK)
	var name string
	if err := json.Unmarshal(env.Data, &name); err != nil || name == "" {
		t.Fatalf("upload: no name in %s", env.Data)
	}
	path := "/downloadmp4?filename=" + url.QueryEscape(name) + "&token=" + url.QueryEscape(j.ta)

	// A range, with the token in the query as a <video> element sends it.
	from, to := 10<<20, 11<<20-1
	res, got := c.do(http.MethodGet, path, http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", from, to)}}, nil, 0)
	if res.StatusCode != http.StatusPartialContent {
		t.Fatalf("ranged download: %s, want 206: %.300s", res.Status, got)
	}
	if cr, want := res.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-%d/%d", from, to, len(video)); cr != want {
		t.Fatalf("ranged download: Content-Range %q, want %q", cr, want)
	}
	if !bytes.Equal(got, video[from:to+1]) {
		t.Fatalf("ranged download: %d bytes that are not bytes %d-%d of the upload", len(got), from, to)
	}

	// The whole file. The client stops reading for a moment after the
	// first MiB: a proxy that buffers responses would spool the rest to
	// disk meanwhile, which nginx reports in its error log (checkLogs).
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.http.Do(req)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.ContentLength != int64(len(video)) {
		t.Fatalf("download: %s with Content-Length %d, want 200 with %d", res.Status, res.ContentLength, len(video))
	}
	h := sha256.New()
	if _, err := io.CopyN(h, res.Body, 1<<20); err != nil {
		t.Fatalf("download: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // the scenario: a reader that stalls mid-download
	if _, err := io.Copy(h, res.Body); err != nil {
		t.Fatalf("download: %v", err)
	}
	if sum := sha256.Sum256(video); !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatal("download: the content differs from the upload")
	}

	// Over Tim's limit: Tim, not the proxy, answers 413 in its envelope.
	big := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, chatPicLimit+1<<20)...)
	res, body = c.upload("/uploadchatpic", j.ta, "big.png", big)
	c.checkEnvelope("upload an 11 MiB picture", res, body, http.StatusRequestEntityTooLarge)
}

// slowUpload uploads a small MP4 slowly, 32 KiB (the HTTP client's copy
// buffer) every 250 ms, so that it lasts longer than twice the read
// timeout: the proxy must not take the wait for Tim's answer for an idle
// connection.
func (j *journey) slowUpload() {
	const chunk, chunks = 32 << 10, 28
	video := mp4(chunk * chunks)
	start := time.Now()
	res, body := j.c.uploadFrom("/uploadmp4", j.ta, "slow.mp4", &slowReader{data: video, chunk: chunk, every: 250 * time.Millisecond}, len(video))
	j.c.checkEnvelope("a slow upload", res, body, http.StatusOK)
	if d := time.Since(start); d < 2*readTimeout {
		j.t.Fatalf("the slow upload took %v, not over twice the read timeout", d)
	}
}

// slowReader returns data a chunk at a time, waiting before each.
type slowReader struct {
	data  []byte
	chunk int
	every time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.every) // the scenario: a client that uploads slowly
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// websockets drives the three channels. a's sockets send the token in a
// header and an Origin of the proxy's own address (with its port), as a
// page served by the proxy would; b's send the token in the query.
func (j *journey) websockets(idle *socket) {
	t, c := j.t, j.c
	gid := strconv.FormatInt(j.group, 10)
	fromA := http.Header{"Origin": {j.px.URL}, "Token": {j.ta}}

	ua := c.dial("a's user socket", "/websocket/"+j.a, fromA)
	ua.expect("the connected frame", isConnected)
	ub := c.dial("b's user socket", "/websocket/"+j.b+"?token="+url.QueryEscape(j.tb), nil)
	ub.expect("the connected frame", isConnected)

	// User channel: a typed send, acked, reaching both of b's sockets,
	// the one idle since before the upload too; then a reply in the
	// original's form.
	ua.sendJSON(map[string]string{"type": "send", "to": j.b, "text": "through the proxy", "clientMsgId": "c1"})
	ua.expect("the ack", func(f frame) bool { return f.Type == "ack" && f.ClientMsgID == "c1" })
	ub.expect("a's message", isMessage(j.a, "through the proxy"))
	idle.expect("a's message on the socket idle for twice the read timeout", isMessage(j.a, "through the proxy"))
	ub.sendJSON(map[string]string{"to": j.a, "text": "and back"})
	ua.expect("b's reply", isMessage(j.b, "and back"))

	// One-to-one channel: every text frame is a message to the friend.
	oa := c.dial("a's one-to-one socket", "/websocket/OneToOne/"+j.a+"/"+j.b, fromA)
	oa.expect("the connected frame", isConnected)
	oa.send("one to one")
	ub.expect("a's one-to-one message", isMessage(j.a, "one to one"))
	idle.expect("a's one-to-one message", isMessage(j.a, "one to one"))

	// Group channel: every text frame is a message to the group.
	gb := c.dial("b's group socket", "/websocket/"+gid+"/"+j.b+"?token="+url.QueryEscape(j.tb), nil)
	gb.expect("the connected frame", isConnected)
	ga := c.dial("a's group socket", "/websocket/"+gid+"/"+j.a, fromA)
	ga.expect("the connected frame", isConnected)
	ga.send("to the group")
	gb.expect("a's group message", func(f frame) bool {
		return f.Type == "message" && f.GroupID == j.group && f.FromUser == j.a && f.Message == "to the group"
	})

	// The same-origin sockets above passed because the proxy kept the
	// port in Host; another origin is still refused.
	_, err := c.dialRaw("/websocket/"+j.a, http.Header{"Origin": {"http://127.0.0.1:1"}, "Token": {j.ta}})
	var he *handshakeError
	if !errors.As(err, &he) || he.status != http.StatusForbidden {
		t.Fatalf("socket from a foreign origin: %v, want a 403 handshake", err)
	}

	for _, s := range []*socket{idle, ua, ub, oa, gb, ga} {
		s.close()
	}
}

// loginLimits checks that failed logins are limited per real client
// address: clients[0] and clients[1] have separate budgets, and a forged
// X-Forwarded-For neither escapes the limit nor moves failures elsewhere.
// Each attempt names another unknown account, so that only the address
// limit applies.
func (j *journey) loginLimits(clients [3]string) {
	first := newClient(j.t, j.px.URL, clients[0])
	second := newClient(j.t, j.px.URL, clients[1])
	third := newClient(j.t, j.px.URL, clients[2])
	n := 0
	nobody := func() string { n++; return fmt.Sprintf("%s_nobody%d", j.a, n) }
	forged := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }

	for range loginLimit {
		first.failLogin(nobody(), nil, http.StatusUnauthorized)
	}
	first.failLogin(nobody(), nil, http.StatusTooManyRequests)

	// Another address has its own budget, and its user logs in.
	second.failLogin(nobody(), nil, http.StatusUnauthorized)
	j.tokens = append(j.tokens, second.login(j.a))

	// A forged X-Forwarded-For does not lift the limit...
	first.failLogin(nobody(), forged("203.0.113.7"), http.StatusTooManyRequests)
	first.failLogin(nobody(), forged(clients[1]), http.StatusTooManyRequests)
	// ... nor charges the failures to the forged addresses.
	for i := range loginLimit {
		third.failLogin(nobody(), forged(fmt.Sprintf("198.51.100.%d", i+1)), http.StatusUnauthorized)
	}
	third.failLogin(nobody(), forged("198.51.100.99"), http.StatusTooManyRequests)
}

// checkLogs reads the logs of a stopped proxy: its access log names the
// wanted paths but holds no token, and nginx spooled no body to disk.
func (j *journey) checkLogs(px *proxy, paths ...string) {
	t := j.t
	all := strings.Join(logLines(t, px.AccessLog), "\n")
	for _, tok := range j.tokens {
		if strings.Contains(all, tok) {
			t.Errorf("the access log %s contains a token", px.AccessLog)
		}
	}
	for _, p := range paths {
		if !strings.Contains(all, p) {
			t.Errorf("the access log %s has no request for %s:\n%s", px.AccessLog, p, all)
		}
	}
	if px.ErrorLog == "" {
		return
	}
	b, err := os.ReadFile(px.ErrorLog)
	if err != nil {
		t.Fatalf("read error log: %v", err)
	}
	if strings.Contains(string(b), "buffered to a temporary file") {
		t.Errorf("nginx buffered a body to disk instead of streaming it:\n%s", b)
	}
}

func isConnected(f frame) bool { return f.Type == "connected" && f.Code == 200 }

// isMessage matches a direct message from from with text.
func isMessage(from, text string) func(frame) bool {
	return func(f frame) bool { return f.Type == "message" && f.FromUser == from && f.Message == text }
}

// TestCaddyfileAsShipped checks the unmodified Caddyfile: Caddy accepts it
// as it is, and it is formatted as `caddy fmt` writes it (Caddy warns at
// every start otherwise).
func TestCaddyfileAsShipped(t *testing.T) {
	bin := proxyBinary(t, "caddy")
	dir := t.TempDir()
	env := append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	validate := exec.Command(bin, "validate", "--config", "Caddyfile", "--adapter", "caddyfile")
	validate.Env = env
	if out, err := validate.CombinedOutput(); err != nil {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}
	format := exec.Command(bin, "fmt", "Caddyfile")
	format.Env = env
	formatted, err := format.Output()
	if err != nil {
		t.Fatalf("caddy fmt: %v", err)
	}
	shipped, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(formatted), bytes.TrimSpace(shipped)) {
		t.Errorf("Caddyfile is not formatted: run `caddy fmt --overwrite deploy/Caddyfile`")
	}
}
