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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"tim/gen/models"
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
			r, err := l.c.AddFriendWithResponse(ctx, &models.AddFriendParams{UserAccount: accounts[i], FriendAccount: friend(i)}, auth(tokens[i]))
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
// records in the ledger the seq of every acknowledged one. When a socket's
// connection ends, the next send reconnects it and first sends again, under
// their clientMsgId, the messages that were not answered yet: the server
// answers those with the seq it committed them under, as a client that
// retries would be answered.
type sender struct {
	l       *load
	ctx     context.Context
	account string
	token   string
	to      []string
	lg      *ledger
	socks   []*senderSock
	wg      sync.WaitGroup
	next    atomic.Int64

	sent, acked, refused, reconnects atomic.Int64
	firstRefusal                     atomic.Pointer[string]

	mu             sync.Mutex
	pending        map[string]pendingSend // sent and not answered yet, by clientMsgId
	refusedTargets []int                  // the targets of refused messages, to send again
}

type pendingSend struct {
	sock, target int
	frame        []byte
}

// senderSock is one of a sender's sockets and its current connection.
type senderSock struct {
	mu     sync.Mutex
	conn   *senderConn
	closed bool
}

type senderConn struct {
	ws    *websocket.Conn
	ended atomic.Bool // its reader saw it end
}

// openSender opens sockets user sockets of account, which sends to the
// accounts in to.
func (l *load) openSender(ctx context.Context, account, token string, to []string, sockets int, lg *ledger) (*sender, error) {
	s := &sender{l: l, ctx: ctx, account: account, token: token, to: to, lg: lg, pending: map[string]pendingSend{}}
	for range sockets {
		ss := &senderSock{}
		s.socks = append(s.socks, ss)
		if err := s.connect(ss); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// connect opens a connection for ss and starts its reader. ss.mu held
// (or ss not shared yet).
func (s *sender) connect(ss *senderSock) error {
	ws, _, err := s.l.dialRetry(s.ctx, s.l.dialer, "/websocket/"+s.account, s.token, time.Now().Add(30*time.Second))
	if err != nil {
		return err
	}
	ss.conn = &senderConn{ws: ws}
	s.wg.Add(1)
	go s.read(ss.conn)
	return nil
}

// send sends text to to[target] over socket sock; false when the socket
// cannot be reconnected.
func (s *sender) send(sock, target int, text string) bool {
	id := strconv.FormatInt(s.next.Add(1), 10)
	to := s.to[target]
	b, err := json.Marshal(models.SendFrame{Type: "send", To: &to, Text: text, ClientMsgId: &id})
	if err != nil {
		panic("encode send frame: " + err.Error())
	}
	// Pending before the write: the answer may come before it returns.
	s.mu.Lock()
	s.pending[id] = pendingSend{sock: sock, target: target, frame: b}
	s.mu.Unlock()
	ss := s.socks[sock]
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for range 3 {
		if ss.closed || (ss.conn.ended.Load() && !s.reconnect(sock, ss)) {
			break
		}
		if s.write(ss, b) {
			s.sent.Add(1)
			return true
		}
	}
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
	return false
}

// write writes one frame over ss's connection. ss.mu held.
func (s *sender) write(ss *senderSock, b []byte) bool {
	_ = ss.conn.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := ss.conn.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		ss.conn.ended.Store(true)
		return false
	}
	return true
}

// reconnect replaces ss's ended connection and sends again the messages
// sent over it that were not answered. ss.mu held.
func (s *sender) reconnect(sock int, ss *senderSock) bool {
	_ = ss.conn.ws.Close()
	if err := s.connect(ss); err != nil {
		fmt.Fprintf(os.Stderr, "loadtest: sender %s: %v\n", s.account, err)
		return false
	}
	s.reconnects.Add(1)
	s.resend(sock, ss)
	return true
}

// resend sends again the messages sent over socket sock that were not
// answered. ss.mu held.
func (s *sender) resend(sock int, ss *senderSock) {
	s.mu.Lock()
	var again [][]byte
	for _, p := range s.pending {
		if p.sock == sock {
			again = append(again, p.frame)
		}
	}
	s.mu.Unlock()
	for _, b := range again {
		if !s.write(ss, b) {
			return
		}
	}
}

// resendPending sends again, over each socket (reconnected if its
// connection ended), the messages not answered yet.
func (s *sender) resendPending() {
	for sock, ss := range s.socks {
		ss.mu.Lock()
		if !ss.closed {
			if ss.conn.ended.Load() {
				s.reconnect(sock, ss)
			} else {
				s.resend(sock, ss)
			}
		}
		ss.mu.Unlock()
	}
}

// read records the answers to one connection's sends; echoes of the
// sender's own messages are ignored.
func (s *sender) read(c *senderConn) {
	defer s.wg.Done()
	defer c.ended.Store(true)
	buf := make([]byte, 0, 4096)
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		data, err := readAll(r, buf[:0])
		if err != nil {
			return
		}
		buf = data
		typ, _ := stringField(data, keyType)
		isAck, isErr := bytes.Equal(typ, typeAck), bytes.Equal(typ, typeError)
		if !isAck && !isErr {
			continue
		}
		id, _ := stringField(data, keyClientMsgID)
		s.mu.Lock()
		p, ok := s.pending[string(id)]
		delete(s.pending, string(id))
		if ok && isErr {
			s.refusedTargets = append(s.refusedTargets, p.target)
		}
		s.mu.Unlock()
		if !ok {
			// A second answer to a message sent again, or an error
			// that is not about a send.
			if isErr && len(id) == 0 {
				fmt.Fprintf(os.Stderr, "loadtest: sender %s: %s\n", s.account, data)
			}
			continue
		}
		if isErr {
			s.refused.Add(1)
			msg := string(data)
			s.firstRefusal.CompareAndSwap(nil, &msg)
			continue
		}
		seq, ok := intField(data, keySeq)
		if !ok {
			fmt.Fprintf(os.Stderr, "loadtest: sender %s: ack without seq: %s\n", s.account, data)
			continue
		}
		s.lg.acked(convKey{recipient: s.to[p.target], peer: s.account}, seq)
		s.acked.Add(1)
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

// settled reports whether every message sent was answered.
func (s *sender) settled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) == 0
}

func (s *sender) close() {
	for _, ss := range s.socks {
		ss.mu.Lock()
		ss.closed = true
		if ss.conn != nil {
			closeNow(ss.conn.ws)
		}
		ss.mu.Unlock()
	}
	s.wg.Wait()
}

// senderTotals sums what the senders sent, had acked and had refused, and
// how often they reconnected, and returns the first refusal seen.
func senderTotals(senders []*sender) (sent, acked, refused, reconnects int64, first string) {
	for _, s := range senders {
		sent += s.sent.Load()
		acked += s.acked.Load()
		refused += s.refused.Load()
		reconnects += s.reconnects.Load()
		if p := s.firstRefusal.Load(); p != nil && first == "" {
			first = *p
		}
	}
	return sent, acked, refused, reconnects, first
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

	// waitMissing: an idle pause ends the read only once every acked seq
	// of this recipient arrived.
	waitMissing bool

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
		if idle > 0 && !(c.waitMissing && c.lg.missingFor(c.me) > 0) {
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
		b, err := json.Marshal(models.AckClientFrame{Type: "ack", With: &peer, Seq: up})
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
