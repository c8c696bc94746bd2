package main

// The storm scenario: many sockets, each with unread messages waiting, all
// reconnect at once. It measures how long until every socket has caught up,
// and checks that nothing acked is lost, repeated or reordered.

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// stormSocket is one recipient socket of the storm.
type stormSocket struct {
	recipient, sender int // indexes into the storm's accounts
	key               convKey
	path              string
	ack               bool

	mu     sync.Mutex
	ws     *websocket.Conn // the open connection, nil between connections
	closed bool            // the storm is over: do not reconnect

	dialed, caught time.Duration // since the storm began; caught 0: never
	dialFailures   int
	reconnects     int
	errFrames      int64
}

func (l *load) storm(ctx context.Context, out io.Writer) (bool, error) {
	o := l.o
	n, k, m := o.stormSockets, o.stormPerAccount, o.stormUnread
	nr := (n + k - 1) / k
	if err := ensureFileLimit(uint64(n + o.stormSenders*o.socketLimit + 256)); err != nil {
		return false, err
	}
	start := time.Now()
	recips, rTokens, err := l.users(ctx, "wr", nr)
	if err != nil {
		return false, err
	}
	senders, sTokens, err := l.users(ctx, "ws", o.stormSenders)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(os.Stderr, "loadtest: %d accounts registered in %v\n", nr+o.stormSenders, time.Since(start).Round(time.Millisecond))

	// Socket j belongs to recipient j/k. With one socket per account it is
	// the user socket; with several, each is a direct socket with another
	// sender, so that every socket has a delivery cursor of its own.
	lg := newLedger()
	socks := make([]*stormSocket, n)
	to := make([][]string, o.stormSenders) // each sender's recipients
	for j := range n {
		r := j / k
		s := (r + j%k) % o.stormSenders
		sock := &stormSocket{recipient: r, sender: s, key: convKey{recipient: recips[r], peer: senders[s]}, ack: ackFor(o.ackMode, j)}
		sock.path = "/websocket/" + recips[r]
		if k > 1 {
			sock.path = "/websocket/OneToOne/" + recips[r] + "/" + senders[s]
		}
		if sock.ack {
			sock.path += "?ack=1"
		}
		socks[j] = sock
		lg.expect(sock.key, ackClass(sock.ack))
		to[s] = append(to[s], recips[r])
	}
	start = time.Now()
	if err := l.stormFriends(ctx, socks, recips, rTokens, senders); err != nil {
		return false, err
	}
	fmt.Fprintf(os.Stderr, "loadtest: %d friendships made in %v\n", n, time.Since(start).Round(time.Millisecond))

	// The unread messages, sent while every recipient is offline.
	start = time.Now()
	if err := l.stormSend(ctx, senders, sTokens, to, lg); err != nil {
		return false, err
	}
	_, total := lg.summary()
	fmt.Fprintf(os.Stderr, "loadtest: %d messages acked in %v; %d sockets reconnect\n", total.acked, time.Since(start).Round(time.Millisecond), n)

	cpu0, self0, mach0, t0 := cpuTime(l.o.pid), cpuTime(os.Getpid()), machineBusy(), time.Now()
	wall, all := l.stormReconnect(ctx, socks, recips, rTokens, lg)
	cpu, self, mach, elapsed := cpuTime(l.o.pid)-cpu0, cpuTime(os.Getpid())-self0, machineBusy()-mach0, time.Since(t0)
	if err := ctx.Err(); err != nil {
		return false, err
	}

	var caught, dialed []time.Duration
	var dialFailures, reconnects int
	var errFrames int64
	for _, s := range socks {
		if s.caught > 0 {
			caught = append(caught, s.caught)
		}
		if s.dialed > 0 {
			dialed = append(dialed, s.dialed)
		}
		dialFailures += s.dialFailures
		reconnects += s.reconnects
		errFrames += s.errFrames
	}
	layout := "user sockets, one account each"
	if k > 1 {
		layout = fmt.Sprintf("%d accounts × %d direct sockets", nr, k)
	}
	fmt.Fprintf(out, "storm: %d sockets (%s, %d senders), %d unread %d-byte messages each, ack mode %s\n",
		n, layout, o.stormSenders, m, o.stormSize, o.ackMode)
	if all {
		fmt.Fprintf(out, "  every socket caught up %v after the storm began", wall.Round(time.Millisecond))
	} else {
		fmt.Fprintf(out, "  %d of %d sockets caught up within %v", len(caught), n, o.stormTimeout)
	}
	p50, p99, pmax := quantiles(caught)
	d50, d99, dmax := quantiles(dialed)
	fmt.Fprintf(out, "; per socket caught up p50 %v, p99 %v, max %v; handshake done p50 %v, p99 %v, max %v\n",
		p50, p99, pmax, d50, d99, dmax)
	fmt.Fprintf(out, "  failed dials %d, reconnects %d, error frames %d", dialFailures, reconnects, errFrames)
	// CPU from the storm's start until every socket closed.
	if cpu > 0 {
		fmt.Fprintf(out, "; in the %v until all closed, server CPU %v (%.0f%% of one core)",
			elapsed.Round(10*time.Millisecond), cpu.Round(10*time.Millisecond), 100*cpu.Seconds()/elapsed.Seconds())
	}
	if mach > 0 {
		fmt.Fprintf(out, ", generator CPU %v, machine busy %.0f%% of %d cores",
			self.Round(10*time.Millisecond), 100*mach.Seconds()/elapsed.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	}
	fmt.Fprintln(out)
	byClass, total := lg.summary()
	for _, t := range byClass {
		fmt.Fprintf(out, "  %s × %d: %v\n", t.class, t.convs, t)
	}
	fmt.Fprintf(out, "  all: %v\n", total)
	ok := all && total.ok()
	fmt.Fprintf(out, "  check (every socket caught up; nothing acked lost; within one connection nothing repeated, reordered or skipped): %s\n", passed(ok))
	return ok, nil
}

// stormFriends makes each socket's recipient and sender friends.
func (l *load) stormFriends(ctx context.Context, socks []*stormSocket, recips, rTokens, senders []string) error {
	accounts := make([]string, len(socks))
	tokens := make([]string, len(socks))
	for j, s := range socks {
		accounts[j], tokens[j] = recips[s.recipient], rTokens[s.recipient]
	}
	return l.befriend(ctx, accounts, tokens, func(j int) string { return senders[socks[j].sender] })
}

// stormSend sends every sender's recipients the unread messages over as
// many sockets as the server allows, each under the send rate limit, and
// waits for the acks.
func (l *load) stormSend(ctx context.Context, senders, tokens []string, to [][]string, lg *ledger) error {
	convs := 0
	for _, t := range to {
		convs += len(t)
	}
	o := l.o
	text := filler(o.stormSize)
	var ss []*sender
	defer func() {
		for _, s := range ss {
			s.close()
		}
	}()
	// A slot is one sender socket with its share of the messages.
	type slot struct {
		s      *sender
		sock   int
		target []int
	}
	var slots []*slot
	for i, acc := range senders {
		if len(to[i]) == 0 {
			continue
		}
		s, err := l.openSender(ctx, acc, tokens[i], to[i], min(o.socketLimit, len(to[i])), lg)
		if err != nil {
			return err
		}
		ss = append(ss, s)
		first := len(slots)
		for sock := range s.socks {
			slots = append(slots, &slot{s: s, sock: sock})
		}
		n := 0
		for t := range to[i] {
			for range o.stormUnread {
				sl := slots[first+n%len(s.socks)]
				sl.target = append(sl.target, t)
				n++
			}
		}
	}
	// Pacing keeps each socket under the rate limit as the client sees
	// it; the server may still read a socket's frames in a burst after a
	// pause, and refuse some. Those are sent again, as a client would.
	for round := 0; ; round++ {
		pace(ctx, len(slots), 0.8*o.sendLimit, 0, func(i int) bool {
			sl := slots[i]
			if len(sl.target) == 0 {
				return false
			}
			t := sl.target[0]
			sl.target = sl.target[1:]
			return sl.s.send(sl.sock, t, text)
		})
		waitSettled(ctx, ss, time.Now().Add(10*time.Second))
		for _, s := range ss {
			if !s.settled() {
				s.resendPending()
			}
		}
		waitSettled(ctx, ss, time.Now().Add(20*time.Second))
		again := 0
		for _, sl := range slots {
			if sl.sock == 0 {
				sl.target = sl.s.takeRefused()
				again += len(sl.target)
			}
		}
		if again == 0 || round == 5 || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(os.Stderr, "loadtest: sending %d refused messages again\n", again)
		time.Sleep(time.Second)
	}
	sent, acked, refused, _, first := senderTotals(ss)
	if want := int64(convs * o.stormUnread); acked != want {
		return fmt.Errorf("senders: %d of %d messages acked; %d sent, %d refused (first: %s)", acked, want, sent, refused, first)
	}
	return ctx.Err()
}

// stormReconnect opens every socket at once and reads until each has
// received every acked message of its conversation (or the storm timeout),
// then a little longer to catch repeats. It returns the time until the
// last socket caught up and whether all did.
func (l *load) stormReconnect(ctx context.Context, socks []*stormSocket, recips, rTokens []string, lg *ledger) (time.Duration, bool) {
	o := l.o
	var pending atomic.Int64
	pending.Store(int64(len(socks)))
	allCaught := make(chan struct{})
	var last atomic.Int64 // nanoseconds since begin of the last catch-up
	begin := make(chan struct{})
	var t0 time.Time
	deadline := time.Now().Add(o.stormTimeout)
	var wg sync.WaitGroup
	for _, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			caught := func() {
				if s.caught != 0 {
					return
				}
				s.caught = max(time.Since(t0), time.Nanosecond)
				last.Store(int64(s.caught))
				if pending.Add(-1) == 0 {
					close(allCaught)
				}
			}
			for first := true; ; first = false {
				ws, failed, err := l.dialRetry(ctx, l.dialer, s.path, rTokens[s.recipient], deadline)
				s.dialFailures += failed
				if err != nil {
					fmt.Fprintln(os.Stderr, "loadtest:", err)
					return
				}
				if first {
					s.dialed = max(time.Since(t0), time.Nanosecond)
				} else {
					s.reconnects++
				}
				s.mu.Lock()
				if s.closed {
					s.mu.Unlock()
					closeNow(ws)
					return
				}
				s.ws = ws
				s.mu.Unlock()
				c := newRecvConn(ws, recips[s.recipient], s.ack, lg, ackClass(s.ack))
				c.caughtUp = func(convKey) {
					caught()
					c.sendAcks()
				}
				if lg.missing(s.key) == 0 {
					caught()
				}
				c.read(deadline, 0)
				s.errFrames += c.errFrames
				s.mu.Lock()
				s.ws = nil
				stop := s.closed
				s.mu.Unlock()
				_ = ws.Close()
				if stop || time.Now().After(deadline) || ctx.Err() != nil {
					return
				}
			}
		}()
	}
	t0 = time.Now()
	close(begin)
	all := false
	select {
	case <-allCaught:
		all = true
	case <-time.After(time.Until(deadline)):
	case <-ctx.Done():
	}
	// Read a little longer: a socket must not receive anything twice.
	time.Sleep(time.Second)
	for _, s := range socks {
		s.mu.Lock()
		s.closed = true
		if s.ws != nil {
			_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		}
		s.mu.Unlock()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		for _, s := range socks {
			s.mu.Lock()
			if s.ws != nil {
				_ = s.ws.Close()
			}
			s.mu.Unlock()
		}
		<-done
	}
	return time.Duration(last.Load()), all
}

// quantiles returns the median, the 99th percentile and the maximum of d.
func quantiles(d []time.Duration) (p50, p99, pmax time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	return r(at(0.50)), r(at(0.99)), r(d[len(d)-1])
}
