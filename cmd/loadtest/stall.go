package main

// The stall scenario: senders send steadily to recipients that read
// normally, that stop reading (so that the TCP buffers fill) and then
// reconnect, or whose connection is cut and who reconnect. After the senders
// stop and a settle period every recipient reconnects once more and drains.
// Every seq acked to a sender must then have reached its recipient.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gorilla/websocket"
)

// readerKind is how a stall recipient treats its connections.
type readerKind int

const (
	readerNormal readerKind = iota // reads everything until the end
	readerStall                    // reads a while, stops reading, then closes and reconnects
	readerCut                      // reads a while, then its connection is cut; reconnects
)

func (k readerKind) String() string {
	return [...]string{"normal", "stall", "cut"}[k]
}

// ackFor says whether recipient i opens its sockets with ?ack=1 in mode
// (all, none or mixed: half of each reader kind).
func ackFor(mode string, i int) bool {
	switch mode {
	case "all":
		return true
	case "none":
		return false
	}
	return i%2 == 0
}

func ackClass(ack bool) string {
	if ack {
		return "ack"
	}
	return "no-ack"
}

// stallRun is what the recipients of one stall run share.
type stallRun struct {
	l         *load
	lg        *ledger
	text      string
	finalAt   time.Time // when every recipient makes its final connection
	stallDial *websocket.Dialer

	dialFailures, errFrames atomic.Int64
	mu                      sync.Mutex
	closes                  map[string]map[int]int // class -> server close code -> connections
	failed                  []error
}

func (l *load) stall(ctx context.Context, out io.Writer) (bool, error) {
	o := l.o
	n := o.stallPairs
	start := time.Now()
	senders, sTokens, err := l.users(ctx, "ss", n)
	if err != nil {
		return false, err
	}
	recips, rTokens, err := l.users(ctx, "sr", n)
	if err != nil {
		return false, err
	}
	if err := l.befriend(ctx, recips, rTokens, func(i int) string { return senders[i] }); err != nil {
		return false, err
	}
	fmt.Fprintf(os.Stderr, "loadtest: %d pairs registered in %v\n", n, time.Since(start).Round(time.Millisecond))

	lg := newLedger()
	kinds := make([]readerKind, n)
	acks := make([]bool, n)
	classes := make([]string, n)
	for i := range n {
		// Kinds take turns, so that every kind gets both delivery modes
		// in mixed mode.
		kinds[i], acks[i] = readerKind(i%3), ackFor(o.ackMode, i/3)
		classes[i] = kinds[i].String() + "/" + ackClass(acks[i])
		lg.expect(convKey{recipient: recips[i], peer: senders[i]}, classes[i])
	}
	ss := make([]*sender, n)
	defer func() {
		for _, s := range ss {
			if s != nil {
				s.close()
			}
		}
	}()
	for i := range n {
		if ss[i], err = l.openSender(ctx, senders[i], sTokens[i], []string{recips[i]}, 1, lg); err != nil {
			return false, err
		}
	}

	// The recipients open their sockets while the senders start: what is
	// sent before a socket opens is replayed to it.
	sendStart := time.Now()
	run := &stallRun{
		l: l, lg: lg, text: filler(o.stallSize), finalAt: sendStart.Add(o.duration + o.settle),
		stallDial: withReceiveBuffer(l.dialer, o.stallRcvBuf), closes: map[string]map[int]int{},
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.recipient(ctx, recips[i], rTokens[i], kinds[i], acks[i], classes[i])
		}()
	}
	fmt.Fprintln(os.Stderr, "loadtest: sending")
	pace(ctx, n, o.stallRate, o.duration, func(i int) bool { return ss[i].send(0, 0, run.text) })
	// Messages whose answer was lost with a sender's connection are sent
	// again, as a client would.
	waitSettled(ctx, ss, time.Now().Add(time.Second))
	for _, s := range ss {
		if !s.settled() {
			s.resendPending()
		}
	}
	waitSettled(ctx, ss, run.finalAt)
	fmt.Fprintln(os.Stderr, "loadtest: senders stopped; recipients reconnect and drain")
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return false, err
	}

	sent, acked, refused, reconnects, firstRefusal := senderTotals(ss)
	byClass, total := lg.summary()
	fmt.Fprintf(out, "stall: %d pairs, %d-byte messages at %g/s per sender for %v, settle %v; stalls of %v (receive buffer %d bytes), cuts about every %v; ack mode %s\n",
		n, o.stallSize, o.stallRate, o.duration, o.settle, o.stallFor, o.stallRcvBuf, o.cutEvery, o.ackMode)
	fmt.Fprintf(out, "  senders: sent %d, acked %d, refused %d, reconnected %d", sent, acked, refused, reconnects)
	if firstRefusal != "" {
		fmt.Fprintf(out, " (first: %s)", firstRefusal)
	}
	fmt.Fprintf(out, "; recipients: failed dials %d, error frames %d\n", run.dialFailures.Load(), run.errFrames.Load())
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  recipients\tconns\tacked\treceived\tnever acked\tLOST\trepeated\tout of order\tdup in conn\tgap in conn\tserver closes\t")
	row := func(t tally, closes string) {
		fmt.Fprintf(tw, "  %s × %d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", t.class, t.convs, t.conns, t.acked, t.received, t.beyondAcked, t.lost, t.repeated, t.disorder, t.dups, t.gaps, closes)
	}
	for _, t := range byClass {
		row(t, run.closeSummary(t.class))
	}
	row(total, run.closeSummary(""))
	if err := tw.Flush(); err != nil {
		return false, err
	}
	ok := total.ok() && len(run.failed) == 0
	for _, err := range run.failed {
		fmt.Fprintln(out, "  recipient failed:", err)
	}
	if total.stray > 0 {
		fmt.Fprintf(out, "  %d messages in conversations nobody expected\n", total.stray)
	}
	fmt.Fprintf(out, "  check (nothing acked is lost; within one connection nothing repeated, reordered or skipped): %s\n", passed(ok))
	return ok, nil
}

func passed(ok bool) string {
	if ok {
		return "PASSED"
	}
	return "FAILED"
}

// filler is a message text of size bytes.
func filler(size int) string { return "s" + strings.Repeat("x", max(size-1, 0)) }

// recipient connects, behaves as its kind until finalAt, then reconnects
// one final time and reads until the server has nothing more to send.
func (r *stallRun) recipient(ctx context.Context, account, token string, kind readerKind, ack bool, class string) {
	o := r.l.o
	path := "/websocket/" + account
	if ack {
		path += "?ack=1"
	}
	d := r.l.dialer
	if kind == readerStall {
		d = r.stallDial
	}
	dial := func() *recvConn {
		ws, failed, err := r.l.dialRetry(ctx, d, path, token, time.Now().Add(30*time.Second))
		r.dialFailures.Add(int64(failed))
		if err != nil {
			r.fail(fmt.Errorf("%s (%s): %w", account, class, err))
			return nil
		}
		return newRecvConn(ws, account, ack, r.lg, class)
	}
	// between is a random time around mean.
	between := func(mean time.Duration) time.Duration {
		return mean/2 + rand.N(mean+1)
	}
	for time.Now().Before(r.finalAt) && ctx.Err() == nil {
		c := dial()
		if c == nil {
			return
		}
		var end readEnd
		switch kind {
		case readerNormal:
			end = c.read(r.finalAt, 0)
			c.sendAcks()
			closeNow(c.ws)
		case readerStall:
			end = c.read(earliest(time.Now().Add(between(time.Second)), r.finalAt), 0)
			if end != endClosed {
				// Stop reading: frames pile up in the TCP buffers and
				// then in the server's queue.
				time.Sleep(min(o.stallFor, time.Until(r.finalAt)))
			}
			closeNow(c.ws)
		case readerCut:
			end = c.read(earliest(time.Now().Add(between(o.cutEvery)), r.finalAt), 0)
			cut(c.ws)
		}
		r.done(c, class)
		if end == endClosed && ctx.Err() == nil {
			// The server closed the socket; reconnect after a pause, as a
			// client would.
			time.Sleep(50 * time.Millisecond)
		}
	}
	if ctx.Err() != nil {
		return
	}
	c := dial()
	if c == nil {
		return
	}
	// Drained once idle with nothing acked missing, or at drainMax: on a
	// loaded machine a catch-up may pause longer than drainIdle.
	c.waitMissing = true
	c.read(time.Now().Add(o.drainMax), o.drainIdle)
	c.sendAcks()
	closeNow(c.ws)
	r.done(c, class)
}

// done records what one connection saw.
func (r *stallRun) done(c *recvConn, class string) {
	r.errFrames.Add(c.errFrames)
	if c.closeCode == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.closes[class]
	if m == nil {
		m = map[int]int{}
		r.closes[class] = m
	}
	m[c.closeCode]++
}

func (r *stallRun) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, err)
}

// closeSummary lists the close codes the server sent to class ("" for
// every class), e.g. "4000×3 1000×1".
func (r *stallRun) closeSummary(class string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	sum := map[int]int{}
	for c, m := range r.closes {
		if class == "" || c == class {
			for code, n := range m {
				sum[code] += n
			}
		}
	}
	var codes []int
	for code := range sum {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var parts []string
	for _, code := range codes {
		parts = append(parts, fmt.Sprintf("%d×%d", code, sum[code]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
