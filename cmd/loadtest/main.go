// Command loadtest drives a running Tim server over real WebSockets:
// (a) pairs exchanging direct messages, (b) groups, (c) idle connections.
// It reports messages/s committed and delivered, send-to-deliver latency,
// server RSS per idle connection, and checks every delivery for loss,
// duplicates and reordering.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"tim/gen/api"
	"tim/gen/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type options struct {
	url      string
	scenario string
	pairs    int
	rate     int
	groups   int
	gRate    int
	members  int
	idle     int
	perUser  int
	duration time.Duration
	pid      int
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8081", "server base URL")
	fs.StringVar(&o.scenario, "scenario", "all", "direct, group, idle or all")
	fs.IntVar(&o.pairs, "pairs", 100, "direct: pairs of users")
	fs.IntVar(&o.rate, "rate", 10000, "direct: messages sent per second in total")
	fs.IntVar(&o.groups, "groups", 10, "group: groups")
	fs.IntVar(&o.gRate, "group-rate", 2000, "group: messages sent per second in total (deliveries are this times members-1)")
	fs.IntVar(&o.members, "members", 50, "group: members per group")
	fs.IntVar(&o.idle, "idle", 10000, "idle: connections")
	fs.IntVar(&o.perUser, "idle-per-user", 1000, "idle: sockets per user (the server's TIM_SOCKETS_PER_USER must allow it)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "direct and group: sending time")
	fs.IntVar(&o.pid, "pid", 0, "server pid, to read its RSS")
	if err := fs.Parse(args); err != nil {
		return err
	}
	raiseFileLimit()
	lt, err := newLoad(o)
	if err != nil {
		return err
	}
	failed := false
	run := func(name string, fn func(context.Context) (report, error)) error {
		if o.scenario != "all" && o.scenario != name {
			return nil
		}
		r, err := fn(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintln(out, r)
		failed = failed || r.bad()
		return nil
	}
	// Idle first, on a fresh server, so that the RSS difference is the
	// connections' own.
	if err := run("idle", lt.idleConns); err != nil {
		return err
	}
	if err := run("direct", lt.direct); err != nil {
		return err
	}
	if err := run("group", lt.group); err != nil {
		return err
	}
	if failed {
		return errors.New("deliveries were lost, duplicated or reordered")
	}
	return nil
}

func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

type load struct {
	o      options
	c      *client.ClientWithResponses
	prefix string
	dialer *websocket.Dialer
}

func newLoad(o options) (*load, error) {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	c, err := client.NewClientWithResponses(o.url, client.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("make client: %w", err)
	}
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &load{o: o, c: c, prefix: "lt" + hex.EncodeToString(b[:]), dialer: &websocket.Dialer{ReadBufferSize: 4096, WriteBufferSize: 4096, HandshakeTimeout: 30 * time.Second}}, nil
}

const password = "loadtest-password-1"

// users registers n accounts named prefix-tag-i and returns their tokens.
func (l *load) users(ctx context.Context, tag string, n int) ([]string, []string, error) {
	accounts := make([]string, n)
	tokens := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		accounts[i] = fmt.Sprintf("%s%s%d", l.prefix, tag, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			reg, err := l.c.UserRegisterWithResponse(ctx, client.UserRegisterJSONRequestBody{Account: accounts[i], Username: accounts[i], Password: password, Sex: "male", Age: 20})
			if err != nil || reg.JSON200 == nil {
				errs <- fmt.Errorf("register %s: %v %s", accounts[i], err, body(reg))
				return
			}
			lg, err := l.c.UserLoginWithResponse(ctx, client.UserLoginJSONRequestBody{Account: accounts[i], Password: password})
			if err != nil || lg.JSON200 == nil {
				errs <- fmt.Errorf("login %s: %v", accounts[i], err)
				return
			}
			for _, item := range lg.JSON200.Data {
				if t, err := item.AsToken(); err == nil && t.Token != "" {
					tokens[i] = t.Token
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, nil, err
	}
	return accounts, tokens, nil
}

func body(r interface{ StatusCode() int }) string {
	if r == nil {
		return ""
	}
	return strconv.Itoa(r.StatusCode())
}

func auth(token string) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("token", token)
		return nil
	}
}

func (l *load) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(l.o.url, "http") + path
}

// conn is one socket with its delivery checks.
type conn struct {
	ws      *websocket.Conn
	account string
	wmu     sync.Mutex
	last    map[string]int64 // conv -> last seq seen
}

func (l *load) open(account, token string) (*conn, error) {
	ws, resp, err := l.dialer.Dial(l.wsURL("/websocket/"+account), http.Header{"token": {token}})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return nil, fmt.Errorf("dial %s: %w (status %d)", account, err, status)
	}
	return &conn{ws: ws, account: account, last: map[string]int64{}}, nil
}

func (c *conn) send(f api.SendFrame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// stats collects what every reader saw.
type stats struct {
	acks, delivered, echoes, dups, gaps, errs atomic.Int64
	mu                                        sync.Mutex
	lat                                       []time.Duration
	maxAcked                                  map[string]int64 // conv -> newest acked seq
}

func newStats() *stats { return &stats{maxAcked: map[string]int64{}} }

func convOf(m api.MessageFrame) string {
	if m.GroupId != nil {
		return "g" + strconv.FormatInt(*m.GroupId, 10)
	}
	a, b := m.FromUser, *m.To
	if b < a {
		a, b = b, a
	}
	return a + ":" + b
}

// read consumes c's frames until it closes, checking seq order per
// conversation and timing deliveries to recipients.
func (s *stats) read(c *conn, done func()) {
	defer done()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now()
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(data, &head) != nil {
			continue
		}
		switch head.Type {
		case "ack":
			s.acks.Add(1)
		case "error":
			s.errs.Add(1)
		case "message":
			var m api.MessageFrame
			if err := json.Unmarshal(data, &m); err != nil {
				s.errs.Add(1)
				continue
			}
			conv := convOf(m)
			switch last := c.last[conv]; {
			case m.Seq <= last:
				s.dups.Add(1)
				continue
			case m.Seq != last+1:
				s.gaps.Add(1)
			}
			c.last[conv] = m.Seq
			if m.FromUser == c.account {
				s.echoes.Add(1)
				continue
			}
			s.delivered.Add(1)
			if ts, err := strconv.ParseInt(strings.TrimPrefix(m.Message, "t"), 10, 64); err == nil {
				d := now.Sub(time.Unix(0, ts))
				s.mu.Lock()
				s.lat = append(s.lat, d)
				s.mu.Unlock()
			}
		}
	}
}

type report struct {
	name                string
	sent, acked, deliv  int64
	want                int64
	dups, gaps, errs    int64
	elapsed             time.Duration
	p50, p99, pmax      time.Duration
	conns               int
	rssBefore, rssAfter int64
	extra               string
}

func (r report) bad() bool {
	return r.dups > 0 || r.gaps > 0 || (r.want > 0 && r.deliv != r.want) || r.acked != r.sent
}

func (r report) String() string {
	if r.name == "idle" {
		per := float64(r.rssAfter-r.rssBefore) / float64(max(r.conns, 1))
		return fmt.Sprintf("idle: %d connections; server RSS %d KiB -> %d KiB, %.1f KiB per connection%s",
			r.conns, r.rssBefore/1024, r.rssAfter/1024, per/1024, r.extra)
	}
	secs := r.elapsed.Seconds()
	return fmt.Sprintf("%s: sent %d, committed %d (%.0f msg/s), delivered %d of %d (%.0f deliveries/s); latency p50 %v p99 %v max %v; duplicates %d, gaps %d, error frames %d",
		r.name, r.sent, r.acked, float64(r.acked)/secs, r.deliv, r.want, float64(r.deliv)/secs,
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.pmax.Round(10*time.Microsecond), r.dups, r.gaps, r.errs)
}

func (s *stats) percentiles() (p50, p99, pmax time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lat) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s.lat)
	at := func(q float64) time.Duration { return s.lat[min(len(s.lat)-1, int(q*float64(len(s.lat))))] }
	return at(0.50), at(0.99), s.lat[len(s.lat)-1]
}

// drive sends from senders at the total rate for the duration, each frame
// built by mk, and waits until want deliveries arrived (or a drain timeout).
func drive(ctx context.Context, s *stats, senders []*conn, mk func(i int) api.SendFrame, rate int, d time.Duration, want func(sent int64) int64) (int64, time.Duration) {
	var sent atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	tick := 10 * time.Millisecond
	perTick := float64(rate) * tick.Seconds() / float64(len(senders))
	for i, c := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(tick)
			defer t.Stop()
			credit := 0.0
			for time.Since(start) < d && ctx.Err() == nil {
				<-t.C
				credit += perTick
				for ; credit >= 1; credit-- {
					f := mk(i)
					f.Text = "t" + strconv.FormatInt(time.Now().UnixNano(), 10)
					if c.send(f) != nil {
						return
					}
					sent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	n := sent.Load()
	drain := time.Now().Add(20 * time.Second)
	for (s.acks.Load() < n || s.delivered.Load() < want(n)) && time.Now().Before(drain) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	return n, time.Since(start)
}

func (l *load) direct(ctx context.Context) (report, error) {
	accounts, tokens, err := l.users(ctx, "d", 2*l.o.pairs)
	if err != nil {
		return report{}, err
	}
	for i := 0; i < len(accounts); i += 2 {
		r, err := l.c.AddFriendWithResponse(ctx, &client.AddFriendParams{UserAccount: accounts[i], FriendAccount: accounts[i+1]}, auth(tokens[i]))
		if err != nil || r.StatusCode() != 200 {
			return report{}, fmt.Errorf("add friend: %v %s", err, body(r))
		}
	}
	s := newStats()
	conns, wait, err := l.openAll(accounts, tokens, s)
	if err != nil {
		return report{}, err
	}
	defer closeAll(conns, wait)
	sent, elapsed := drive(ctx, s, conns, func(i int) api.SendFrame {
		to := accounts[i^1]
		return api.SendFrame{Type: "send", To: &to}
	}, l.o.rate, l.o.duration, func(n int64) int64 { return n })
	return l.report("direct", s, sent, sent, elapsed), nil
}

func (l *load) group(ctx context.Context) (report, error) {
	n := l.o.groups * l.o.members
	accounts, tokens, err := l.users(ctx, "g", n)
	if err != nil {
		return report{}, err
	}
	base := int64(900000000 + time.Now().Unix()%1000000*100)
	for i, acc := range accounts {
		gid := base + int64(i%l.o.groups)
		r, err := l.c.JoinGroupWithResponse(ctx, &client.JoinGroupParams{UserAccount: acc, GroupID: gid}, auth(tokens[i]))
		if err != nil || r.StatusCode() != 200 {
			return report{}, fmt.Errorf("join group: %v %s", err, body(r))
		}
	}
	s := newStats()
	conns, wait, err := l.openAll(accounts, tokens, s)
	if err != nil {
		return report{}, err
	}
	defer closeAll(conns, wait)
	// One sender per group; every other member receives each message.
	senders := conns[:l.o.groups]
	rate := l.o.gRate
	sent, elapsed := drive(ctx, s, senders, func(i int) api.SendFrame {
		gid := base + int64(i)
		return api.SendFrame{Type: "send", GroupId: &gid}
	}, rate, l.o.duration, func(n int64) int64 { return n * int64(l.o.members-1) })
	return l.report("group", s, sent, sent*int64(l.o.members-1), elapsed), nil
}

func (l *load) openAll(accounts, tokens []string, s *stats) ([]*conn, *sync.WaitGroup, error) {
	conns := make([]*conn, len(accounts))
	var wg sync.WaitGroup
	for i := range accounts {
		c, err := l.open(accounts[i], tokens[i])
		if err != nil {
			closeAll(conns[:i], &wg)
			return nil, nil, err
		}
		conns[i] = c
		wg.Add(1)
		go s.read(c, wg.Done)
	}
	return conns, &wg, nil
}

func closeAll(conns []*conn, wg *sync.WaitGroup) {
	for _, c := range conns {
		c.wmu.Lock()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		c.wmu.Unlock()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	for _, c := range conns {
		_ = c.ws.Close()
	}
}

func (l *load) report(name string, s *stats, sent, want int64, elapsed time.Duration) report {
	r := report{name: name, sent: sent, acked: s.acks.Load(), deliv: s.delivered.Load(), want: want,
		dups: s.dups.Load(), gaps: s.gaps.Load(), errs: s.errs.Load(), elapsed: elapsed}
	r.p50, r.p99, r.pmax = s.percentiles()
	return r
}

func (l *load) idleConns(ctx context.Context) (report, error) {
	nUsers := (l.o.idle + l.o.perUser - 1) / l.o.perUser
	accounts, tokens, err := l.users(ctx, "i", nUsers)
	if err != nil {
		return report{}, err
	}
	time.Sleep(time.Second) // let the registrations' garbage settle
	r := report{name: "idle", rssBefore: rss(l.o.pid)}
	var conns []*websocket.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for i := range l.o.idle {
		if ctx.Err() != nil {
			return report{}, ctx.Err()
		}
		c, err := l.open(accounts[i%nUsers], tokens[i%nUsers])
		if err != nil {
			return report{}, err
		}
		conns = append(conns, c.ws)
	}
	time.Sleep(2 * time.Second) // let the server settle after the last open
	r.conns = len(conns)
	r.rssAfter = rss(l.o.pid)
	if l.o.pid == 0 {
		r.extra = " (no -pid: RSS not measured)"
	}
	return r, nil
}

// rss reads VmRSS of pid in bytes; 0 when unknown.
func rss(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
