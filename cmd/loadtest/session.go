package main

// The delivery scenarios (stall, storm) share these sockets: senders that
// record the seq of every acknowledged message in a ledger, and recipient
// connections that record every message they receive in it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
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

var keyClientMsgID = []byte(`"clientMsgId":"`)

// ackEvery is how often an ack-mode recipient acknowledges what it holds.
// Acks count against the server's per-socket frame rate.
const ackEvery = 100 * time.Millisecond

// befriend makes accounts[i] and friend(i) friends, a few requests at a time.
func (l *load) befriend(ctx context.Context, accounts, tokens []string, friend func(i int) string) error {
	errs := make(chan error, len(accounts))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := l.c.AddFriendWithResponse(ctx, &client.AddFriendParams{UserAccount: accounts[i], FriendAccount: friend(i)}, auth(tokens[i]))
			if err != nil || r.StatusCode() != http.StatusOK {
				errs <- fmt.Errorf("add friend %s: %v %s", accounts[i], err, body(r))
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// withReceiveBuffer returns a copy of d whose sockets have a receive buffer
// of size bytes (0: the kernel's default), so that a reader that stops
// reading fills the TCP buffers sooner.
func withReceiveBuffer(d *websocket.Dialer, size int) *websocket.Dialer {
	c := *d
	if size <= 0 {
		return &c
	}
	nd := &net.Dialer{Timeout: 30 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		})
		return errors.Join(err, serr)
	}}
	c.NetDialContext = nd.DialContext
	return &c
}

// dialRetry opens the WebSocket at path until it succeeds, the server
// refuses the token or the account, or until passes. It returns the failed
// attempts too.
func (l *load) dialRetry(ctx context.Context, d *websocket.Dialer, path, token string, until time.Time) (*websocket.Conn, int, error) {
	backoff := 20 * time.Millisecond
	for failed := 1; ; failed++ {
		ws, resp, err := d.DialContext(ctx, l.wsURL(path), http.Header{"token": {token}})
		if err == nil {
			return ws, failed - 1, nil
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		final := status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusNotFound
		if final || ctx.Err() != nil || time.Now().Add(backoff).After(until) {
			return nil, failed, fmt.Errorf("dial %s: %w (status %d, %d attempts)", path, err, status, failed)
		}
		// Jitter keeps a crowd of clients from retrying in step.
		time.Sleep(backoff/2 + rand.N(backoff))
		backoff = min(2*backoff, time.Second)
	}
}

// closeNow sends a close frame and closes the connection without reading
// what the server still had in flight.
func closeNow(ws *websocket.Conn) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = ws.Close()
}

// cut ends the connection abruptly: no close frame, and a TCP reset.
func cut(ws *websocket.Conn) {
	if tcp, ok := ws.NetConn().(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = ws.Close()
}

// sender sends direct messages from one account over its user sockets and
// records in the ledger the seq of every acknowledged one. A message's
// clientMsgId names its recipient: "<index in to>.<n>".
type sender struct {
	account string
	to      []string
	lg      *ledger
	socks   []*senderSock
	wg      sync.WaitGroup
	next    atomic.Int64

	sent, acked, refused atomic.Int64
	firstRefusal         atomic.Pointer[string]
	mu                   sync.Mutex
	refusedTargets       []int // the targets of refused messages, to send again
}

type senderSock struct {
	ws   *websocket.Conn
	mu   sync.Mutex
	dead atomic.Bool
}

// openSender opens sockets user sockets of account, which sends to the
// accounts in to.
func (l *load) openSender(ctx context.Context, account, token string, to []string, sockets int, lg *ledger) (*sender, error) {
	s := &sender{account: account, to: to, lg: lg}
	for range sockets {
		ws, _, err := l.dialRetry(ctx, l.dialer, "/websocket/"+account, token, time.Now().Add(30*time.Second))
		if err != nil {
			s.close()
			return nil, err
		}
		ss := &senderSock{ws: ws}
		s.socks = append(s.socks, ss)
		s.wg.Add(1)
		go s.read(ss)
	}
	return s, nil
}

// send sends text to to[target] over socket sock; false when that socket
// is dead.
func (s *sender) send(sock, target int, text string) bool {
	ss := s.socks[sock]
	if ss.dead.Load() {
		return false
	}
	id := strconv.Itoa(target) + "." + strconv.FormatInt(s.next.Add(1), 10)
	to := s.to[target]
	b, err := json.Marshal(api.SendFrame{Type: "send", To: &to, Text: text, ClientMsgId: &id})
	if err != nil {
		panic("encode send frame: " + err.Error())
	}
	ss.mu.Lock()
	_ = ss.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err = ss.ws.WriteMessage(websocket.TextMessage, b)
	ss.mu.Unlock()
	if err != nil {
		ss.dead.Store(true)
		return false
	}
	s.sent.Add(1)
	return true
}

// read records the acks of one socket; echoes of the sender's own messages
// are ignored.
func (s *sender) read(ss *senderSock) {
	defer s.wg.Done()
	defer ss.dead.Store(true)
	buf := make([]byte, 0, 4096)
	for {
		_, r, err := ss.ws.NextReader()
		if err != nil {
			return
		}
		data, err := readAll(r, buf[:0])
		if err != nil {
			return
		}
		buf = data
		typ, _ := stringField(data, keyType)
		switch {
		case bytes.Equal(typ, typeAck):
			id, ok1 := stringField(data, keyClientMsgID)
			seq, ok2 := intField(data, keySeq)
			target, _, ok3 := strings.Cut(string(id), ".")
			i, err := strconv.Atoi(target)
			if !ok1 || !ok2 || !ok3 || err != nil || i < 0 || i >= len(s.to) {
				fmt.Fprintf(os.Stderr, "loadtest: unexpected ack %s\n", data)
				continue
			}
			s.lg.acked(convKey{recipient: s.to[i], peer: s.account}, seq)
			s.acked.Add(1)
		case bytes.Equal(typ, typeError):
			s.refused.Add(1)
			msg := string(data)
			s.firstRefusal.CompareAndSwap(nil, &msg)
			id, _ := stringField(data, keyClientMsgID)
			target, _, _ := strings.Cut(string(id), ".")
			if i, err := strconv.Atoi(target); err == nil && i >= 0 && i < len(s.to) {
				s.mu.Lock()
				s.refusedTargets = append(s.refusedTargets, i)
				s.mu.Unlock()
			}
		}
	}
}

// takeRefused returns the targets of the messages refused so far and
// forgets them.
func (s *sender) takeRefused() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.refusedTargets
	s.refusedTargets = nil
	return t
}

// settled reports whether every message sent was acked or refused.
func (s *sender) settled() bool { return s.acked.Load()+s.refused.Load() >= s.sent.Load() }

func (s *sender) close() {
	for _, ss := range s.socks {
		ss.mu.Lock()
		closeNow(ss.ws)
		ss.mu.Unlock()
	}
	s.wg.Wait()
}

// senderTotals sums what the senders sent, had acked and had refused, and
// returns the first refusal seen.
func senderTotals(senders []*sender) (sent, acked, refused int64, first string) {
	for _, s := range senders {
		sent += s.sent.Load()
		acked += s.acked.Load()
		refused += s.refused.Load()
		if p := s.firstRefusal.Load(); p != nil && first == "" {
			first = *p
		}
	}
	return sent, acked, refused, first
}

// waitSettled waits until every sender's messages were acked or refused,
// or until passes.
func waitSettled(ctx context.Context, senders []*sender, until time.Time) {
	for time.Now().Before(until) && ctx.Err() == nil {
		all := true
		for _, s := range senders {
			all = all && s.settled()
		}
		if all {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pace calls send(slot) for every slot at rate calls per second each, until
// d passed (0: no limit), ctx ends, or every slot is done (send returned
// false). Each slot stays under the rate, as the server's per-socket limit
// requires.
func pace(ctx context.Context, slots int, rate float64, d time.Duration, send func(slot int) bool) {
	start := time.Now()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	sent := make([]int64, slots)
	done := make([]bool, slots)
	for live := slots; live > 0; {
		elapsed := time.Since(start)
		if d > 0 && elapsed >= d {
			return
		}
		due := int64(rate*elapsed.Seconds()) + 1
		for i := range slots {
			for !done[i] && sent[i] < due {
				if !send(i) {
					done[i] = true
					live--
					break
				}
				sent[i]++
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// recvConn reads one connection of a recipient and records its messages in
// the ledger; in ack mode it acknowledges, every ackEvery, what the
// recipient holds without a gap.
type recvConn struct {
	ws      *websocket.Conn
	me      string
	ack     bool
	lg      *ledger
	tally   *connTally
	acked   map[string]int64 // per peer, the newest seq acked on this connection
	ackedAt time.Time
	// caughtUp, when set, is called with each conversation whose acked
	// seqs have all been received, when a message completes it.
	caughtUp func(k convKey)

	errFrames int64 // error frames received
	closeCode int   // the server's close code, 0 when it sent none
}

func newRecvConn(ws *websocket.Conn, me string, ack bool, lg *ledger, class string) *recvConn {
	return &recvConn{ws: ws, me: me, ack: ack, lg: lg, tally: lg.connection(class), acked: map[string]int64{}, ackedAt: time.Now()}
}

// readEnd says why read returned.
type readEnd int

const (
	endDeadline readEnd = iota // the deadline passed
	endIdle                    // no frame arrived for the idle time
	endClosed                  // the connection ended
)

// read reads frames until the deadline, until no frame arrived for idle
// (0: no idle limit) or until the connection ends. A read that times out
// leaves the connection unusable for reading. What arrived since the last
// ack is not acked: a client that means to, calls sendAcks.
func (c *recvConn) read(deadline time.Time, idle time.Duration) readEnd {
	buf := make([]byte, 0, 4096)
	for {
		until := deadline
		if idle > 0 {
			until = earliest(until, time.Now().Add(idle))
		}
		_ = c.ws.SetReadDeadline(until)
		_, r, err := c.ws.NextReader()
		var data []byte
		if err == nil {
			data, err = readAll(r, buf[:0])
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if time.Now().Before(deadline) {
					return endIdle
				}
				return endDeadline
			}
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				c.closeCode = ce.Code
			}
			return endClosed
		}
		buf = data
		typ, _ := stringField(data, keyType)
		switch {
		case bytes.Equal(typ, typeMessage):
			c.message(data)
		case bytes.Equal(typ, typeError):
			c.errFrames++
		}
		if c.ack && time.Since(c.ackedAt) >= ackEvery {
			c.sendAcks()
		}
	}
}

func (c *recvConn) message(data []byte) {
	seq, ok1 := intField(data, keySeq)
	from, ok2 := stringField(data, keyFrom)
	to, ok3 := stringField(data, keyTo)
	if !ok1 || !ok2 || !ok3 {
		c.errFrames++
		return
	}
	peer := string(from)
	if peer == c.me {
		peer = string(to)
	}
	k := convKey{recipient: c.me, peer: peer}
	if c.tally.received(k, seq) == 0 && c.caughtUp != nil {
		c.caughtUp(k)
	}
}

// sendAcks acknowledges, in each conversation this connection received,
// the newest seq up to which the recipient holds everything.
func (c *recvConn) sendAcks() {
	if !c.ack {
		return
	}
	c.ackedAt = time.Now()
	for k := range c.tally.convs {
		up := c.lg.contiguous(k)
		if up <= c.acked[k.peer] {
			continue
		}
		peer := k.peer
		b, err := json.Marshal(api.AckClientFrame{Type: "ack", With: &peer, Seq: up})
		if err != nil {
			panic("encode ack frame: " + err.Error())
		}
		_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
			return
		}
		c.acked[k.peer] = up
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ensureFileLimit raises the open-file limit to at least need: the soft
// limit up to the hard one, and the hard one too when the process may.
func ensureFileLimit(need uint64) error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if l.Cur >= need {
		return nil
	}
	hard := l.Max
	l.Cur, l.Max = need, max(l.Max, need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return fmt.Errorf("raise the open-file limit to %d (hard limit %d; raise it with ulimit -Hn): %w", need, hard, err)
	}
	return nil
}
