// Command loadtest drives a running Tim server over real WebSockets. Its
// default scenarios are (a) pairs exchanging direct messages, at the
// normal rate and at twice it (direct-high), with a read receipt for every
// tenth message received and a typing indicator before every fifth sent,
// (b) groups,
// (c) idle connections: it reports messages/s committed and delivered,
// send-to-deliver latency, server RSS per idle connection, and checks every
// delivery for loss, duplicates and reordering. Two delivery scenarios check
// at-least-once delivery across reconnects: stall (recipients that stop
// reading or whose connections are cut, see stall.go) and storm (many
// sockets with unread messages reconnecting at once, see storm.go).
package main

import (
	"bytes"
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
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"tim/gen/client"
	"tim/gen/models"
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
	highRate int
	receipts bool
	groups   int
	gRate    int
	members  int
	idle     int
	perUser  int
	duration time.Duration
	pid      int

	// The delivery scenarios.
	ackMode     string
	socketLimit int
	sendLimit   float64

	stallPairs  int
	stallSize   int
	stallRate   float64
	stallFor    time.Duration
	stallRcvBuf int
	cutEvery    time.Duration
	settle      time.Duration
	drainIdle   time.Duration
	drainMax    time.Duration

	stormSockets    int
	stormUnread     int
	stormSize       int
	stormPerAccount int
	stormSenders    int
	stormTimeout    time.Duration
}

// Targets of the realtime issue, for this 2-core machine.
const (
	targetDirectRate  = 10000
	targetDirectP99   = 50 * time.Millisecond
	targetGroupRate   = 200000
	targetGroupP99    = 50 * time.Millisecond
	targetIdlePerConn = 16 << 10
)

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8081", "server base URL")
	fs.StringVar(&o.scenario, "scenario", "all", "direct, direct-high, group, idle or all (these four); or stall or storm")
	fs.IntVar(&o.pairs, "pairs", 100, "direct: pairs of users")
	fs.IntVar(&o.rate, "rate", 10300, "direct: messages sent per second in total")
	fs.BoolVar(&o.receipts, "receipts", true, "direct and direct-high: send read frames (every tenth message received) and typing frames (before every fifth sent)")
	fs.IntVar(&o.highRate, "high-rate", 20000, "direct-high: messages sent per second in total, by other pairs of the same accounts (0: skip it)")
	fs.IntVar(&o.groups, "groups", 20, "group: groups")
	fs.IntVar(&o.gRate, "group-rate", 2100, "group: messages sent per second in total (deliveries are this times members-1)")
	fs.IntVar(&o.members, "members", 100, "group: members per group, drawn from the 2*pairs accounts (each account joins several groups)")
	fs.IntVar(&o.idle, "idle", 10000, "idle: connections")
	fs.IntVar(&o.perUser, "idle-per-user", 1000, "idle: sockets per user (the server's TIM_SOCKETS_PER_USER must allow it)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "direct, group and stall: sending time")
	fs.IntVar(&o.pid, "pid", 0, "server pid, to read its RSS and CPU time")

	fs.StringVar(&o.ackMode, "ack", "mixed", "stall and storm: recipients open sockets with ?ack=1 and ack what they hold (all), never (none), or half of them (mixed)")
	fs.IntVar(&o.socketLimit, "socket-limit", 10, "stall and storm: the server's TIM_SOCKETS_PER_USER, which the generator stays within")
	fs.Float64Var(&o.sendLimit, "send-limit", 50, "stall and storm: the server's TIM_SEND_RATE (frames per second per socket), which the generator stays under")
	fs.IntVar(&o.stallPairs, "stall-pairs", 24, "stall: sender/recipient pairs; recipients take turns being normal, stalling and cut readers")
	fs.IntVar(&o.stallSize, "stall-size", 8192, "stall: message text bytes")
	fs.Float64Var(&o.stallRate, "stall-rate", 45, "stall: messages per second per sender")
	fs.DurationVar(&o.stallFor, "stall-for", 4*time.Second, "stall: how long a stalling reader stops reading before it closes and reconnects")
	fs.IntVar(&o.stallRcvBuf, "stall-rcvbuf", 32<<10, "stall: TCP receive buffer of stalling readers in bytes (0: the kernel's default)")
	fs.DurationVar(&o.cutEvery, "cut-every", 2*time.Second, "stall: about how long a cut reader reads before its connection is cut")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "stall: wait after the senders stop before the final reconnect")
	fs.DurationVar(&o.drainIdle, "drain-idle", 2*time.Second, "stall: the final connection is drained once no frame came for this long")
	fs.DurationVar(&o.drainMax, "drain-max", time.Minute, "stall: longest final drain")
	fs.IntVar(&o.stormSockets, "storm-sockets", 2000, "storm: sockets that reconnect at once")
	fs.IntVar(&o.stormUnread, "storm-unread", 10, "storm: unread messages waiting for each socket")
	fs.IntVar(&o.stormSize, "storm-size", 256, "storm: message text bytes")
	fs.IntVar(&o.stormPerAccount, "storm-per-account", 10, "storm: sockets per recipient account; 1: user sockets, more: direct sockets, one per sender, each with a cursor of its own")
	fs.IntVar(&o.stormSenders, "storm-senders", 10, "storm: sender accounts (at least -storm-per-account)")
	fs.DurationVar(&o.stormTimeout, "storm-timeout", 2*time.Minute, "storm: give up waiting for sockets to catch up after this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	raiseFileLimit()
	lt, err := newLoad(o)
	if err != nil {
		return err
	}
	switch o.scenario {
	case "stall", "storm":
		scenario := lt.stall
		if o.scenario == "storm" {
			scenario = lt.storm
		}
		ok, err := scenario(ctx, out)
		if err != nil {
			return fmt.Errorf("%s: %w", o.scenario, err)
		}
		if !ok {
			return errors.New("acked messages were lost, or a connection repeated, reordered or skipped messages")
		}
		return nil
	}
	// One set of accounts serves every scenario: registering costs two
	// password hashes each, which would dominate the run.
	start := time.Now()
	lt.accounts, lt.tokens, err = lt.users(ctx, "u", 2*o.pairs)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loadtest: %d accounts registered in %v\n", len(lt.accounts), time.Since(start).Round(time.Millisecond))
	failed, missed := false, false
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
		missed = missed || !r.met
		return nil
	}
	// Idle first, on a fresh server, so that the RSS difference is the
	// connections' own.
	if err := run("idle", lt.idleConns); err != nil {
		return err
	}
	if err := run("direct", func(ctx context.Context) (report, error) { return lt.direct(ctx, "direct", o.rate, 1) }); err != nil {
		return err
	}
	if o.highRate > 0 {
		if err := run("direct-high", func(ctx context.Context) (report, error) { return lt.direct(ctx, "direct-high", o.highRate, 2) }); err != nil {
			return err
		}
	}
	if err := run("group", lt.group); err != nil {
		return err
	}
	if failed {
		return errors.New("deliveries were lost, duplicated or reordered")
	}
	if missed {
		fmt.Fprintln(out, "some targets were not met")
	}
	return nil
}

// check refuses flag values the scenarios cannot run with.
func (o options) check() error {
	var errs []error
	bad := func(cond bool, format string, args ...any) {
		if cond {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	bad(!slices.Contains([]string{"all", "direct", "group", "idle", "stall", "storm"}, o.scenario), "-scenario %q: want direct, group, idle, all, stall or storm", o.scenario)
	bad(o.highRate > 0 && o.pairs%2 != 0, "-pairs %d: direct-high pairs accounts i and i^2, which needs an even number of pairs (or -high-rate 0)", o.pairs)
	bad(o.members > 2*o.pairs, "-members %d is more than the %d accounts (2*pairs)", o.members, 2*o.pairs)
	bad(!slices.Contains([]string{"all", "none", "mixed"}, o.ackMode), "-ack %q: want all, none or mixed", o.ackMode)
	bad(o.socketLimit < 1 || o.sendLimit <= 0, "-socket-limit and -send-limit must be positive")
	// A message frame carries the text and about 300 bytes of fields
	// within the server's default 64 KiB frame limit.
	bad(o.stallSize < 1 || o.stallSize > 60000 || o.stormSize < 1 || o.stormSize > 60000, "-stall-size and -storm-size must be between 1 and 60000")
	bad(o.stallPairs < 1 || o.stallRate <= 0, "-stall-pairs and -stall-rate must be positive")
	// A stall sender sends over one socket; an ack-mode recipient acks
	// every ackEvery.
	bad(o.stallRate > o.sendLimit, "-stall-rate %g is above -send-limit %g", o.stallRate, o.sendLimit)
	bad(o.ackMode != "none" && o.sendLimit < float64(time.Second/ackEvery), "-send-limit %g: ack-mode recipients ack %d times a second", o.sendLimit, time.Second/ackEvery)
	bad(o.stormSockets < 1 || o.stormUnread < 1 || o.stormSenders < 1, "-storm-sockets, -storm-unread and -storm-senders must be positive")
	bad(o.stormPerAccount < 1 || o.stormPerAccount > o.socketLimit, "-storm-per-account must be between 1 and -socket-limit %d", o.socketLimit)
	bad(o.stormSenders < o.stormPerAccount, "-storm-senders %d: each of a recipient's %d sockets needs a sender of its own", o.stormSenders, o.stormPerAccount)
	return errors.Join(errs...)
}

func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

type load struct {
	o        options
	c        *client.ClientWithResponses
	prefix   string
	dialer   *websocket.Dialer
	accounts []string
	tokens   []string
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
	return &load{o: o, c: c, prefix: "lt" + hex.EncodeToString(b[:]), dialer: &websocket.Dialer{ReadBufferSize: 32 << 10, WriteBufferSize: 4096, HandshakeTimeout: 30 * time.Second}}, nil
}

const password = "loadtest-password-1"

// users registers n accounts named prefix-tag-i and returns their tokens.
// Hashing passwords keeps the server's cores busy, so a few requests at a
// time are as fast as many and leave less garbage in the server's heap.
func (l *load) users(ctx context.Context, tag string, n int) ([]string, []string, error) {
	accounts := make([]string, n)
	tokens := make([]string, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		accounts[i] = fmt.Sprintf("%s%s%d", l.prefix, tag, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			// A busy server answers 503 (its password hashing is full) or
			// 429 with Retry-After: a client waits and tries again.
			var reg *client.UserRegisterResponse
			var lg *client.UserLoginResponse
			var err error
			for try := 0; try < 30; try++ {
				reg, err = l.c.UserRegisterWithResponse(ctx, models.UserRegisterJSONRequestBody{Account: accounts[i], Username: accounts[i], Password: password, Sex: "male", Age: 20})
				if err != nil || !busy(reg.StatusCode()) {
					break
				}
				time.Sleep(retryAfter(reg.HTTPResponse))
			}
			if err != nil || reg.JSON200 == nil {
				errs <- fmt.Errorf("register %s: %v %s", accounts[i], err, body(reg))
				return
			}
			for try := 0; try < 30; try++ {
				lg, err = l.c.UserLoginWithResponse(ctx, models.UserLoginJSONRequestBody{Account: accounts[i], Password: password})
				if err != nil || !busy(lg.StatusCode()) {
					break
				}
				time.Sleep(retryAfter(lg.HTTPResponse))
			}
			if err != nil || lg.JSON200 == nil {
				errs <- fmt.Errorf("login %s: %v", accounts[i], err)
				return
			}
			for _, item := range lg.JSON200.Data {
				if t, err := item.AsTokenHolder(); err == nil && t.Token != "" {
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

// busy reports whether a status asks the client to come back later.
func busy(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests
}

// retryAfter is how long a busy answer asks to wait: its Retry-After
// seconds, or one second.
func retryAfter(r *http.Response) time.Duration {
	if r != nil {
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return time.Second
}

func body(r interface{ StatusCode() int }) string {
	if r == nil || reflect.ValueOf(r).IsNil() {
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
	// Delivery order per conversation: groups by "g:<id>", direct
	// conversations by the other account. Reader goroutine only.
	convs    map[string]*convOrder
	lat      []time.Duration // read by the reader goroutine only until it ends
	received int             // direct messages from others (reader goroutine)
	sent     int             // messages sent (sending goroutine)
}

// convOrder is how far a connection has seen one conversation: the newest
// seq, and seqs of its own sends acked ahead of it. A typed send is
// answered by its ack alone, so its seq is part of the order without a
// message frame.
type convOrder struct {
	last int64
	own  map[int64]struct{}
	// seen: a frame of the conversation arrived. A group's members join
	// before their sockets open, and each join is an event with a seq of
	// its own, so a member's first frame of a group starts its order
	// wherever its join put its cursor; the ledger of deliveries still
	// counts every message.
	seen bool
}

// start takes a group conversation's first frame, of seq seq, as the
// start of its order.
func (o *convOrder) start(seq int64) {
	if !o.seen {
		o.seen = true
		if len(o.own) == 0 {
			o.last = max(o.last, seq-1)
		}
	}
}

// skipOwn moves last past the acked own seqs that follow it.
func (o *convOrder) skipOwn() {
	for {
		if _, ok := o.own[o.last+1]; !ok {
			return
		}
		delete(o.own, o.last+1)
		o.last++
	}
}

func (c *conn) conv(key string) *convOrder {
	o := c.convs[key]
	if o == nil {
		o = &convOrder{own: map[int64]struct{}{}}
		c.convs[key] = o
	}
	return o
}

// acked records the seq of an ack as the connection's own.
func (c *conn) acked(data []byte) {
	seq, ok := intField(data, keySeq)
	if !ok {
		return
	}
	var key string
	if gid, ok := intField(data, keyGroup); ok {
		key = "g:" + strconv.FormatInt(gid, 10)
	} else if to, ok := stringField(data, keyTo); ok {
		key = string(to)
	} else {
		return
	}
	o := c.conv(key)
	if seq > o.last {
		o.own[seq] = struct{}{}
		o.skipOwn()
	}
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
	return &conn{ws: ws, account: account, convs: map[string]*convOrder{}}, nil
}

func (c *conn) send(f models.SendFrame) error { return c.write(f) }

// write sends one client frame.
func (c *conn) write(f any) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// stats collects what every reader saw.
type stats struct {
	acks, delivered, echoes, dups, gaps, errs atomic.Int64
	groups                                    bool // count group messages only (else direct only)
	// peers, if set, is each account's partner in a direct run: messages
	// of other conversations (replays of an earlier run) are not counted.
	peers map[string]string
	// Direct only: read frames and typing frames sent, receipt and
	// typing frames received.
	reads, typings, receipts, typed atomic.Int64
	signals                         bool // send read frames
	mu                              sync.Mutex
	lat                             []time.Duration
}

// Keys of the message frame fields the reader looks at. Inside a JSON
// string a quote is escaped, so these match only real keys.
var (
	keyType     = []byte(`"type":"`)
	keySeq      = []byte(`"seq":`)
	keyFrom     = []byte(`"fromUser":"`)
	keyTo       = []byte(`"to":"`)
	keyGroup    = []byte(`"groupId":`)
	keyMessage  = []byte(`"message":"`)
	typeMessage = []byte("message")
	typeAck     = []byte("ack")
	typeError   = []byte("error")
	typeReceipt = []byte("receipt")
	typeTyping  = []byte("typing")
	typeEvent   = []byte("event")
)

// The direct scenario's receipts and typing indicators.
const (
	readEvery   = 10 // a read frame for every tenth message received
	typingEvery = 5  // a typing frame before every fifth message sent
)

// stringField returns the raw value of the string field key (no unescaping).
func stringField(data, key []byte) ([]byte, bool) {
	i := bytes.Index(data, key)
	if i < 0 {
		return nil, false
	}
	v := data[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 {
		return nil, false
	}
	return v[:j], true
}

// intField returns the value of the integer field key.
func intField(data, key []byte) (int64, bool) {
	i := bytes.Index(data, key)
	if i < 0 {
		return 0, false
	}
	v := data[i+len(key):]
	var n int64
	j := 0
	for ; j < len(v) && v[j] >= '0' && v[j] <= '9'; j++ {
		n = n*10 + int64(v[j]-'0')
	}
	return n, j > 0
}

// read consumes c's frames until it closes, checking seq order per
// conversation and timing deliveries to recipients. Message frames are
// scanned rather than decoded, so that the generator keeps up with the
// server on shared cores; the server's frames are checked against the
// schema by the realtime tests.
func (s *stats) read(c *conn, done func()) {
	defer done()
	defer func() {
		s.mu.Lock()
		s.lat = append(s.lat, c.lat...)
		s.mu.Unlock()
	}()
	me := []byte(c.account)
	buf := make([]byte, 0, 4096)
	for {
		// Frames are read into one reused buffer: nothing below keeps them.
		_, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		data, err := readAll(r, buf[:0])
		if err != nil {
			return
		}
		buf = data
		now := time.Now()
		typ, ok := stringField(data, keyType)
		switch {
		case !ok:
			// The opening frames have no type.
		case bytes.Equal(typ, typeAck):
			s.acks.Add(1)
			c.acked(data)
		case bytes.Equal(typ, typeError):
			s.errs.Add(1)
		case bytes.Equal(typ, typeMessage):
			s.message(c, me, data, now)
		case bytes.Equal(typ, typeReceipt):
			s.receipts.Add(1)
		case bytes.Equal(typ, typeTyping):
			s.typed.Add(1)
		case bytes.Equal(typ, typeEvent):
			s.event(c, data)
		}
	}
}

// readAll appends r's bytes to b.
func readAll(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// event takes a group event's place in its conversation: events (the
// members' joins) take seqs between the messages, so that without this the
// next message would look like a gap.
func (s *stats) event(c *conn, data []byte) {
	seq, ok1 := intField(data, keySeq)
	gid, ok2 := intField(data, keyGroup)
	if !ok1 || !ok2 {
		s.errs.Add(1)
		return
	}
	if !s.groups {
		return // left over from another scenario
	}
	o := c.conv("g:" + strconv.FormatInt(gid, 10))
	o.start(seq)
	o.skipOwn()
	switch {
	case seq <= o.last:
		return // replayed
	case seq != o.last+1:
		s.gaps.Add(1)
	}
	o.last = seq
	o.skipOwn()
}

func (s *stats) message(c *conn, me, data []byte, now time.Time) {
	seq, ok1 := intField(data, keySeq)
	from, ok2 := stringField(data, keyFrom)
	if !ok1 || !ok2 {
		s.errs.Add(1)
		return
	}
	gid, isGroup := intField(data, keyGroup)
	if isGroup != s.groups {
		return // left over from another scenario
	}
	var o *convOrder
	var other []byte
	if isGroup {
		o = c.conv("g:" + strconv.FormatInt(gid, 10))
		o.start(seq)
	} else {
		to, ok := stringField(data, keyTo)
		if !ok {
			s.errs.Add(1)
			return
		}
		other = from
		if bytes.Equal(from, me) {
			other = to
		}
		if want, ok := s.peers[string(me)]; ok && string(other) != want {
			return // left over from another run
		}
		o = c.conv(string(other))
	}
	own := bytes.Equal(from, me)
	o.skipOwn()
	switch {
	case seq <= o.last && own:
		s.echoes.Add(1) // an own message already acked
		return
	case seq <= o.last:
		s.dups.Add(1)
		return
	case seq != o.last+1:
		s.gaps.Add(1)
	}
	o.last = seq
	o.skipOwn()
	if own {
		s.echoes.Add(1)
		return
	}
	s.delivered.Add(1)
	if text, ok := stringField(data, keyMessage); ok && len(text) > 1 && text[0] == 't' {
		if ts, err := strconv.ParseInt(string(text[1:]), 10, 64); err == nil {
			c.lat = append(c.lat, now.Sub(time.Unix(0, ts)))
		}
	}
	if c.received++; s.signals && !isGroup && c.received%readEvery == 0 {
		with := string(other)
		if c.write(models.ReadFrame{Type: models.ReadFrameTypeRead, With: &with, Seq: seq}) == nil {
			s.reads.Add(1)
		}
	}
}

type report struct {
	name                string
	detail              string
	sent, acked, deliv  int64
	want                int64
	dups, gaps, errs    int64
	elapsed             time.Duration
	p50, p99, pmax      time.Duration
	conns               int
	rssBefore, rssAfter int64
	goBefore, goAfter   int64         // the server's Go heap and stacks in use
	cpu                 time.Duration // server CPU time while sending and draining
	self, machine       time.Duration // the generator's and the whole machine's busy CPU time meanwhile
	met                 bool
	target              string
}

func (r report) bad() bool {
	return r.dups > 0 || r.gaps > 0 || (r.want > 0 && r.deliv != r.want) || r.acked != r.sent
}

func verdict(met bool) string {
	if met {
		return "MET"
	}
	return "NOT MET"
}

func (r report) String() string {
	if r.name == "idle" {
		per := float64(r.rssAfter-r.rssBefore) / float64(max(r.conns, 1))
		goPer := float64(r.goAfter-r.goBefore) / float64(max(r.conns, 1))
		return fmt.Sprintf("idle: %d connections; server RSS %d KiB -> %d KiB, %.1f KiB per connection; Go heap+stacks in use %d KiB -> %d KiB, %.1f KiB per connection\n  target %s: %s",
			r.conns, r.rssBefore/1024, r.rssAfter/1024, per/1024, r.goBefore/1024, r.goAfter/1024, goPer/1024, r.target, verdict(r.met))
	}
	secs := r.elapsed.Seconds()
	cpu := ""
	if r.cpu > 0 && r.deliv > 0 {
		cpu = fmt.Sprintf("; server CPU %.0f%% (%.1f µs per delivery)", 100*r.cpu.Seconds()/secs, float64(r.cpu.Microseconds())/float64(r.deliv))
	}
	if r.machine > 0 {
		other := r.machine - r.cpu - r.self
		cpu += fmt.Sprintf("; generator CPU %.0f%%, everything else (PostgreSQL, other processes) %.0f%% of %d cores",
			100*r.self.Seconds()/secs, 100*max(other, 0).Seconds()/secs, runtime.NumCPU())
	}
	return fmt.Sprintf("%s (%s): sent %d, committed %d (%.0f msg/s), delivered %d of %d (%.0f deliveries/s); latency p50 %v p99 %v max %v; lost %d, duplicates %d, reordered %d, error frames %d%s\n  target %s: %s",
		r.name, r.detail, r.sent, r.acked, float64(r.acked)/secs, r.deliv, r.want, float64(r.deliv)/secs,
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.pmax.Round(10*time.Microsecond),
		max(r.want-r.deliv, 0), r.dups, r.gaps, r.errs, cpu, r.target, verdict(r.met))
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
// One goroutine paces every sender, so that pacing costs few wake-ups.
func drive(ctx context.Context, s *stats, senders []*conn, mk func(i int) models.SendFrame, rate int, d time.Duration, want func(sent int64) int64) (int64, time.Duration) {
	var sent int64
	start := time.Now()
	fmt.Fprintln(os.Stderr, "loadtest: sending")
	tick := 5 * time.Millisecond
	t := time.NewTicker(tick)
	credit := 0.0
	next := 0
	dead := make([]bool, len(senders))
sending:
	for time.Since(start) < d && ctx.Err() == nil {
		<-t.C
		credit = float64(rate)*time.Since(start).Seconds() - float64(sent)
		for ; credit >= 1; credit-- {
			i := next
			next = (next + 1) % len(senders)
			if dead[i] {
				continue
			}
			f := mk(i)
			f.Text = "t" + strconv.FormatInt(time.Now().UnixNano(), 10)
			if senders[i].send(f) != nil {
				dead[i] = true
				if !slices.Contains(dead, false) {
					break sending
				}
				continue
			}
			sent++
		}
	}
	t.Stop()
	drain := time.Now().Add(20 * time.Second)
	for (s.acks.Load() < sent || s.delivered.Load() < want(sent)) && time.Now().Before(drain) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	return sent, time.Since(start)
}

// direct sends rate messages per second in total, account i to account
// i^partner: partner 1 pairs 0-1, 2-3, …; partner 2 pairs 0-2, 1-3, …, so
// that a second run has conversations of its own, from seq 1.
func (l *load) direct(ctx context.Context, name string, rate, partner int) (report, error) {
	accounts, tokens := l.accounts, l.tokens
	for i := range accounts {
		j := i ^ partner
		if j < i || j >= len(accounts) {
			continue
		}
		r, err := l.c.AddFriendWithResponse(ctx, &models.AddFriendParams{UserAccount: accounts[i], FriendAccount: accounts[j]}, auth(tokens[i]))
		if err != nil || r.StatusCode() != 200 {
			return report{}, fmt.Errorf("add friend: %v %s", err, body(r))
		}
	}
	s := newStats(false)
	s.peers = make(map[string]string, len(accounts))
	for i, a := range accounts {
		s.peers[a] = accounts[i^partner]
	}
	s.signals = l.o.receipts
	conns, wait, err := l.openAll(accounts, tokens, s)
	if err != nil {
		return report{}, err
	}
	cpu0, self0, mach0 := cpuTime(l.o.pid), cpuTime(os.Getpid()), machineBusy()
	sent, elapsed := drive(ctx, s, conns, func(i int) models.SendFrame {
		to := accounts[i^partner]
		if c := conns[i]; s.signals && c.sent%typingEvery == 0 {
			if c.write(models.TypingClientFrame{Type: models.TypingClientFrameTypeTyping, With: &to}) == nil {
				s.typings.Add(1)
			}
		}
		conns[i].sent++
		return models.SendFrame{Type: "send", To: &to}
	}, rate, l.o.duration, func(n int64) int64 { return n })
	cpu, self, mach := cpuTime(l.o.pid)-cpu0, cpuTime(os.Getpid())-self0, machineBusy()-mach0
	// Every read moves a cursor: one receipt to the reader, one to its peer.
	for drain := time.Now().Add(5 * time.Second); s.receipts.Load() < 2*s.reads.Load() && time.Now().Before(drain); {
		time.Sleep(5 * time.Millisecond)
	}
	closeAll(conns, wait)
	r := l.report(name, s, sent, sent, elapsed)
	r.detail = fmt.Sprintf("%d pairs, %d msg/s offered; %d reads, %d receipts of %d; %d typing sent, %d relayed (at most one per sender every 2 s)",
		l.o.pairs, rate, s.reads.Load(), s.receipts.Load(), 2*s.reads.Load(), s.typings.Load(), s.typed.Load())
	r.cpu, r.self, r.machine = cpu, self, mach
	// Nearly all of what was offered, at least the floor, within p99.
	floor := max(float64(targetDirectRate), 0.97*float64(rate))
	got := float64(min(r.acked, r.deliv)) / elapsed.Seconds()
	r.met = !r.bad() && got >= floor && r.p99 < targetDirectP99
	r.target = fmt.Sprintf("≥ %.0f msg/s committed and delivered, p99 < %v, nothing lost, repeated or reordered", floor, targetDirectP99)
	return r, nil
}

func (l *load) group(ctx context.Context) (report, error) {
	accounts, tokens := l.accounts, l.tokens
	n, g, m := len(accounts), l.o.groups, l.o.members
	// Group k's members are m consecutive accounts from k*stride on
	// (wrapping), so each account belongs to about g*m/n groups and has one
	// user socket that receives all of them.
	stride := max(n/g, 1)
	base := int64(900000000 + time.Now().Unix()%1000000*100)
	var wg sync.WaitGroup
	errs := make(chan error, g*m)
	sem := make(chan struct{}, 8)
	for k := range g {
		for j := range m {
			a := (k*stride + j) % n
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				r, err := l.c.JoinGroupWithResponse(ctx, &models.JoinGroupParams{UserAccount: accounts[a], GroupID: base + int64(k)}, auth(tokens[a]))
				if err != nil || r.StatusCode() != 200 {
					errs <- fmt.Errorf("join group: %v %s", err, body(r))
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return report{}, err
	}
	s := newStats(true)
	conns, wait, err := l.openAll(accounts, tokens, s)
	if err != nil {
		return report{}, err
	}
	// One sender per group: its first member.
	senders := make([]*conn, g)
	for k := range g {
		senders[k] = conns[(k*stride)%n]
	}
	cpu0, self0, mach0 := cpuTime(l.o.pid), cpuTime(os.Getpid()), machineBusy()
	sent, elapsed := drive(ctx, s, senders, func(i int) models.SendFrame {
		gid := base + int64(i)
		return models.SendFrame{Type: "send", GroupId: &gid}
	}, l.o.gRate, l.o.duration, func(n int64) int64 { return n * int64(m-1) })
	cpu, self, mach := cpuTime(l.o.pid)-cpu0, cpuTime(os.Getpid())-self0, machineBusy()-mach0
	closeAll(conns, wait)
	r := l.report("group", s, sent, sent*int64(m-1), elapsed)
	r.detail = fmt.Sprintf("%d groups × %d members over %d accounts with one user socket each, %d msg/s offered", g, m, n, l.o.gRate)
	r.cpu, r.self, r.machine = cpu, self, mach
	r.met = !r.bad() && float64(r.deliv)/elapsed.Seconds() >= targetGroupRate && r.p99 < targetGroupP99
	r.target = fmt.Sprintf("≥ %d group deliveries/s, p99 < %v, nothing lost, repeated or reordered", targetGroupRate, targetGroupP99)
	return r, nil
}

func newStats(groups bool) *stats { return &stats{groups: groups} }

// openAll opens a user socket for each account and waits until each has
// sent its opening frames and caught up.
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
	<-done
}

func (l *load) report(name string, s *stats, sent, want int64, elapsed time.Duration) report {
	r := report{name: name, sent: sent, acked: s.acks.Load(), deliv: s.delivered.Load(), want: want,
		dups: s.dups.Load(), gaps: s.gaps.Load(), errs: s.errs.Load(), elapsed: elapsed}
	r.p50, r.p99, r.pmax = s.percentiles()
	return r
}

func (l *load) idleConns(ctx context.Context) (report, error) {
	nUsers := min((l.o.idle+l.o.perUser-1)/l.o.perUser, len(l.accounts))
	accounts, tokens := l.accounts[:nUsers], l.tokens[:nUsers]
	r := report{name: "idle", target: fmt.Sprintf("< %d KiB of server memory per idle connection", targetIdlePerConn>>10)}
	// The registrations' password hashes leave freed memory that the
	// server's runtime returns to the system over a few seconds; measuring
	// while it does would hide the connections' own memory.
	r.rssBefore = settledRSS(ctx, l.o.pid)
	r.goBefore = l.goInUse(ctx)
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
		ws, _, err := l.dialer.Dial(l.wsURL("/websocket/"+accounts[i%nUsers]), http.Header{"token": {tokens[i%nUsers]}})
		if err != nil {
			return report{}, fmt.Errorf("dial: %w", err)
		}
		conns = append(conns, ws)
	}
	r.rssAfter = settledRSS(ctx, l.o.pid)
	r.goAfter = l.goInUse(ctx)
	r.conns = len(conns)
	// RSS can understate: the connections reuse memory the runtime had
	// freed but not yet returned. The Go runtime's own count of heap and
	// stack in use (which includes garbage not yet collected) is checked too.
	r.target += " (both RSS and Go heap+stacks in use)"
	if l.o.pid == 0 {
		r.target += " (no -pid: RSS not measured)"
	} else {
		limit := int64(targetIdlePerConn * r.conns)
		r.met = r.rssAfter-r.rssBefore < limit && r.goAfter-r.goBefore < limit
	}
	return r, nil
}

// goInUse reads the server's Go heap and stack bytes in use from /metrics;
// 0 when unknown.
func (l *load) goInUse(ctx context.Context) int64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.o.url+"/metrics", nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0
	}
	var total int64
	for _, line := range strings.Split(string(b), "\n") {
		for _, name := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_stack_inuse_bytes "} {
			if v, ok := strings.CutPrefix(line, name); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				total += int64(f)
			}
		}
	}
	return total
}

// settledRSS waits until pid's RSS stops moving (or a time limit) and
// returns it.
func settledRSS(ctx context.Context, pid int) int64 {
	if pid == 0 {
		return 0
	}
	prev := rss(pid)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(time.Second)
		cur := rss(pid)
		if d := cur - prev; d > -(256<<10) && d < 256<<10 {
			return cur
		}
		prev = cur
	}
	return prev
}

// machineBusy is the CPU time every core spent busy since boot.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / 100
}

// cpuTime is pid's user and system CPU time so far; 0 when unknown.
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
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
