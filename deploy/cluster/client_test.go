//go:build linux

package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// serverFrame is any frame the server sends on a user socket; the fields
// of the frame types (api/asyncapi.yaml) that the test reads.
type serverFrame struct {
	Type        string          `json:"type"`
	Code        int32           `json:"code"`
	Message     json.RawMessage `json:"message"`
	Seq         int64           `json:"seq"`
	FromUser    string          `json:"fromUser"`
	To          *string         `json:"to"`
	ClientMsgID *string         `json:"clientMsgId"`
	Account     string          `json:"account"`
	Online      bool            `json:"online"`
	Users       []struct {
		Account string `json:"account"`
	} `json:"users"`
}

type presenceEvent struct {
	account string
	online  bool
	at      time.Time
}

type connection struct {
	instance string
	at       time.Time // the connected frame arrived
}

// chatClient is one account's user socket, opened with ?ack=1: it acks
// every message of its conversation up to the seq below which it holds
// them all, sends at a steady rate when told to, resends unacked sends
// under their clientMsgId after reconnecting, and reconnects to the next
// instance when its socket drops.
type chatClient struct {
	account, token string
	peer           string     // the one conversation it takes part in; "" for none
	targets        []*timProc // where it connects, its home first
	reconnect      bool       // reconnect when the socket drops
	logf           func(string, ...any)

	wmu  sync.Mutex // one writer at a time on conn
	mu   sync.Mutex
	conn *websocket.Conn
	next int // index into targets to try next

	connections []connection
	drops       []time.Time

	// Receiving: seqs of the conversation with peer.
	got        map[int64]time.Time // first receipt of each seq
	high       int64               // every seq up to high was received
	lastOnConn int64               // the previous seq on the current socket
	newAt      []time.Time         // receipt times of seqs not seen before
	violations []string

	// Sending.
	sent    int
	unacked map[string]string // clientMsgId -> text
	order   []string          // clientMsgIds in send order
	retry   []string          // refused with an error frame: send again
	acked   map[string]int64  // clientMsgId -> seq
	seqOf   map[int64]string  // seq -> clientMsgId
	errors  int

	presence []presenceEvent // presence frames, and the users frame's friends as online
	opened   chan struct{}   // closed at the first connected frame
	done     chan struct{}
}

func newChatClient(account, token, peer string, reconnect bool, logf func(string, ...any), targets ...*timProc) *chatClient {
	return &chatClient{
		account: account, token: token, peer: peer, targets: targets, reconnect: reconnect, logf: logf,
		got: map[int64]time.Time{}, unacked: map[string]string{}, acked: map[string]int64{}, seqOf: map[int64]string{},
		opened: make(chan struct{}), done: make(chan struct{}),
	}
}

// run keeps the socket open until ctx ends (or, without reconnect, until
// it drops).
func (c *chatClient) run(ctx context.Context) {
	defer close(c.done)
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		if c.conn != nil {
			c.conn.Close()
		}
		c.mu.Unlock()
	})
	defer stop()
	for ctx.Err() == nil {
		c.mu.Lock()
		target := c.targets[c.next%len(c.targets)]
		c.mu.Unlock()
		conn, err := c.dial(ctx, target)
		if err != nil {
			c.mu.Lock()
			c.next++ // that instance is gone: try the next one
			c.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		c.serve(ctx, conn, target.name)
		c.mu.Lock()
		c.conn = nil
		if ctx.Err() == nil {
			c.drops = append(c.drops, time.Now())
		}
		c.mu.Unlock()
		if !c.reconnect {
			return
		}
	}
}

func (c *chatClient) dial(ctx context.Context, p *timProc) (*websocket.Conn, error) {
	url := "ws" + strings.TrimPrefix(p.url, "http") + "/websocket/" + c.account + "?ack=1"
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.DialContext(ctx, url, http.Header{"token": {c.token}})
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("dial %s: %w (status %d)", p.name, err, res.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", p.name, err)
	}
	return conn, nil
}

// serve reads conn until it fails.
func (c *chatClient) serve(ctx context.Context, conn *websocket.Conn, instance string) {
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var first serverFrame
	if err := conn.ReadJSON(&first); err != nil || first.Code != 200 {
		c.logf("%s: no connected frame from %s: %v", c.account, instance, err)
		return
	}
	c.mu.Lock()
	if ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.conn, c.lastOnConn = conn, 0
	c.connections = append(c.connections, connection{instance: instance, at: time.Now()})
	if len(c.connections) == 1 {
		close(c.opened)
	}
	// Sends not acked on an earlier socket go again, under the same id:
	// the server stores each id once.
	resend := append(c.retry[:0:0], c.order...)
	c.retry = nil
	c.mu.Unlock()
	for _, id := range resend {
		c.mu.Lock()
		text, pending := c.unacked[id]
		c.mu.Unlock()
		if pending {
			c.write(map[string]any{"type": "send", "to": c.peer, "text": text, "clientMsgId": id})
		}
	}
	for {
		// No read deadline: the server pings, and a killed server's
		// socket fails at once.
		_ = conn.SetReadDeadline(time.Time{})
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var f serverFrame
		if err := json.Unmarshal(data, &f); err != nil {
			c.violation("undecodable frame %q", data)
			continue
		}
		c.handle(f, data)
	}
}

func (c *chatClient) handle(f serverFrame, raw []byte) {
	now := time.Now()
	switch f.Type {
	case "message":
		peer := f.FromUser
		if peer == c.account && f.To != nil {
			peer = *f.To
		}
		if peer != c.peer {
			c.violation("message from an unexpected conversation: %s", raw)
			return
		}
		c.mu.Lock()
		switch {
		case c.lastOnConn == 0 && f.Seq > c.high+1:
			c.violationLocked("first seq %d on a new socket skips past %d", f.Seq, c.high)
		case c.lastOnConn != 0 && f.Seq != c.lastOnConn+1:
			c.violationLocked("seq %d after %d on one socket", f.Seq, c.lastOnConn)
		}
		c.lastOnConn = f.Seq
		if _, seen := c.got[f.Seq]; !seen {
			c.got[f.Seq] = now
			c.newAt = append(c.newAt, now)
		}
		before := c.high
		for {
			if _, ok := c.got[c.high+1]; !ok {
				break
			}
			c.high++
		}
		high := c.high
		c.mu.Unlock()
		if high > before {
			c.write(map[string]any{"type": "ack", "with": c.peer, "seq": high})
		}
	case "ack":
		if f.ClientMsgID == nil {
			c.violation("ack without clientMsgId: %s", raw)
			return
		}
		id := *f.ClientMsgID
		c.mu.Lock()
		if prev, ok := c.acked[id]; ok && prev != f.Seq {
			c.violationLocked("%s acked as seq %d and as seq %d", id, prev, f.Seq)
		}
		if other, ok := c.seqOf[f.Seq]; ok && other != id {
			c.violationLocked("seq %d acked for %s and for %s", f.Seq, other, id)
		}
		c.acked[id], c.seqOf[f.Seq] = f.Seq, id
		delete(c.unacked, id)
		c.mu.Unlock()
	case "error":
		c.mu.Lock()
		c.errors++
		if f.ClientMsgID != nil {
			c.retry = append(c.retry, *f.ClientMsgID)
		}
		c.mu.Unlock()
		c.logf("%s: error frame %s", c.account, raw)
	case "presence":
		c.mu.Lock()
		c.presence = append(c.presence, presenceEvent{account: f.Account, online: f.Online, at: now})
		c.mu.Unlock()
	case "connected":
	case "users":
		// The users frame: the account itself, then its online friends.
		c.mu.Lock()
		for i, u := range f.Users {
			if i == 0 {
				continue
			}
			c.presence = append(c.presence, presenceEvent{account: u.Account, online: true, at: now})
		}
		c.mu.Unlock()
	default:
		c.violation("unexpected frame %s", raw)
	}
}

// write sends v on the current socket, if any; a failed write shows up as
// a failed read, which reconnects.
func (c *chatClient) write(v any) {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = conn.WriteJSON(v)
}

// sendNext queues and sends a new message, and sends again those refused
// with an error frame.
func (c *chatClient) sendNext() {
	c.mu.Lock()
	c.sent++
	id := fmt.Sprintf("%s-%d", c.account, c.sent)
	text := fmt.Sprintf("message %d from %s", c.sent, c.account)
	c.unacked[id] = text
	c.order = append(c.order, id)
	retry := c.retry
	c.retry = nil
	c.mu.Unlock()
	c.resend(retry)
	c.write(map[string]any{"type": "send", "to": c.peer, "text": text, "clientMsgId": id})
}

func (c *chatClient) resend(ids []string) {
	for _, id := range ids {
		c.mu.Lock()
		text, pending := c.unacked[id]
		c.mu.Unlock()
		if pending {
			c.write(map[string]any{"type": "send", "to": c.peer, "text": text, "clientMsgId": id})
		}
	}
}

// sendFor sends one message every interval until stop is closed.
func (c *chatClient) sendFor(interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			c.sendNext()
		}
	}
}

// pending is how many sends have no ack yet; it resends those refused.
func (c *chatClient) pending() int {
	c.mu.Lock()
	retry := c.retry
	c.retry = nil
	n := len(c.unacked)
	c.mu.Unlock()
	c.resend(retry)
	return n
}

func (c *chatClient) violation(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violationLocked(format, args...)
}

func (c *chatClient) violationLocked(format string, args ...any) {
	if len(c.violations) < 20 {
		c.violations = append(c.violations, fmt.Sprintf(format, args...))
	}
}

// problems are the broken guarantees the client saw.
func (c *chatClient) problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.violations)
}

// missing lists the seqs of acked that this client never received.
func (c *chatClient) missing(acked map[string]int64) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int64
	for _, seq := range acked {
		if _, ok := c.got[seq]; !ok {
			out = append(out, seq)
		}
	}
	return out
}

// ackedSeqs is a copy of the sends acked so far.
func (c *chatClient) ackedSeqs() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.acked))
	for k, v := range c.acked {
		out[k] = v
	}
	return out
}

// firstConnectionAfter is when the client was connected again after t, and
// to which instance.
func (c *chatClient) firstConnectionAfter(t time.Time) (connection, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cn := range c.connections {
		if cn.at.After(t) {
			return cn, true
		}
	}
	return connection{}, false
}

// firstNewAfter is when a seq not seen before first arrived after t.
func (c *chatClient) firstNewAfter(t time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, at := range c.newAt {
		if at.After(t) {
			return at, true
		}
	}
	return time.Time{}, false
}

// maxGap is the longest time between arrivals of new seqs in [from, to].
func (c *chatClient) maxGap(from, to time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev, gap := from, time.Duration(0)
	for _, at := range c.newAt {
		if at.Before(from) || at.After(to) {
			continue
		}
		gap = max(gap, at.Sub(prev))
		prev = at
	}
	return max(gap, to.Sub(prev))
}

// presenceOf is the presence frames the client got about account.
func (c *chatClient) presenceOf(account string) []presenceEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []presenceEvent
	for _, e := range c.presence {
		if e.account == account {
			out = append(out, e)
		}
	}
	return out
}
