package realtime

import (
	"runtime"
	"strconv"
	"sync"
	"time"

	"tim/internal/testsignal"
)

// transport is what a socket needs from a WebSocket connection. Only the
// socket's writer goroutine calls it.
type transport interface {
	// WriteBatch writes frames in order, all due by deadline; it may gather
	// them into few system calls.
	WriteBatch(frames []outFrame, deadline time.Time) error
	// WritePing writes a ping carrying data, which the peer echoes in its
	// pong.
	WritePing(data []byte, deadline time.Time) error
	WritePong(data []byte, deadline time.Time) error
	WriteClose(code int, reason string, deadline time.Time) error
	Close() error
}

// outFrame is an encoded frame queued for a socket. Message frames carry
// their conversation and seq so that writing them can advance the cursor.
type outFrame struct {
	data      []byte
	conv      string
	seq       int64
	committed int64 // live message frames: their commit time, unix ns
}

// convState is how far a socket has been delivered in one conversation.
type convState struct {
	last     int64 // newest seq queued to the socket
	catching bool  // the catch-up goroutine owns this conversation
	maxSeen  int64 // newest live seq seen while catching up
	// firstLive is the oldest live seq seen while the socket opened (0:
	// none): its replay starts before it, wherever the account's cursor
	// (which its other sockets move) stands.
	firstLive int64
	gen       int // bumped by a rewind (sync), which restarts a catch-up
}

// socketHooks are the service callbacks a socket uses.
type socketHooks interface {
	// confirmed is called, from the reader, when the client has provably
	// read the message frames up to seqs (conversation: seq): their pong
	// answered a ping written after them. Only sockets without ack mode.
	confirmed(s *socket, seqs map[string]int64)
	// startCatchUp starts a goroutine that fetches and queues what s misses.
	startCatchUp(s *socket)
}

// socket is one client connection: a bounded outgoing queue drained by one
// writer goroutine, and per-conversation delivery state.
type socket struct {
	id         uint64
	account    string
	jti        string
	generation int32 // the token's generation, for re-checks
	expiry     *time.Timer
	openEpoch  uint64 // see handshake.epoch
	ch         channel
	conv       string // the conversation of a direct or group socket
	peer       string // direct sockets
	groupID    int64  // group sockets
	ackMode    bool
	// What the open sequence did, for serve to undo; set before the reader
	// starts. counted: in presence; registered: in the hub (and, for a
	// group socket, in group presence).
	counted, registered bool

	t     transport
	hooks socketHooks
	opts  socketOptions

	qmu        sync.Mutex
	queue      []outFrame
	queueBytes int        // the bytes of queue
	closeWith  disconnect // set once, by disconnect: the writer closes with it
	closeSent  bool       // the close frame was already written (by the library)
	pongs      [][]byte   // pongs to send
	wake       chan struct{}
	space      chan struct{}
	writerDone chan struct{}
	readerDone chan struct{}

	// Delivery confirmation without ack mode. The writer notes the message
	// frames written since its last ping (unconfirmed, writer only); each
	// ping takes them along as a mark, and the pong that echoes the ping's
	// number proves the client read them, since a peer reads frames in
	// order.
	unconfirmed map[string]int64
	pingNo      uint64
	cmu         sync.Mutex
	marks       []pingMark

	// A friend's presence frame must not overtake the users list of the
	// open sequence: until presenceOK, such frames are held.
	pmu          sync.Mutex
	presenceOK   bool
	heldPresence [][]byte

	dmu       sync.Mutex
	convs     map[string]*convState
	replaying bool // registered, cursors not loaded yet
	catching  bool // a catch-up goroutine is running
	groups    map[int64]bool
}

// pingMark is what a ping confirms once its pong arrives.
type pingMark struct {
	no   uint64
	seqs map[string]int64
}

// socketOptions are a socket's limits and timings.
type socketOptions struct {
	// queueBytes bounds the encoded frames queued and not yet taken by the
	// writer; above it the socket is closed as a slow consumer.
	queueBytes int
	// writeTimeout bounds one batch write; closeTimeout the close frame.
	writeTimeout, closeTimeout time.Duration
	// pingInterval between keep-alive pings; confirmDelay after a write of
	// message frames, the ping that confirms them (sockets without ack mode).
	pingInterval, confirmDelay time.Duration
	// observer, if set, learns of deliveries and the close.
	observer Observer
	// pinged, if armed, learns of each ping written to confirm frames.
	pinged *testsignal.Signal[confirmPing]
}

// confirmPing is a ping that confirms seqs, written to account's socket.
type confirmPing struct {
	account string
	seqs    map[string]int64
}

func newSocket(t transport, hooks socketHooks, opts socketOptions) *socket {
	return &socket{
		t: t, hooks: hooks, opts: opts,
		wake: make(chan struct{}, 1), space: make(chan struct{}, 1),
		writerDone: make(chan struct{}), readerDone: make(chan struct{}),
		replaying: true, // convs and groups are made when first needed
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// enqueue queues f without blocking and wakes the writer. On overflow the
// socket is closed as a slow consumer: it resumes from its cursor after
// reconnecting.
func (s *socket) enqueue(f outFrame) bool {
	ok := s.push(f)
	if ok {
		signal(s.wake)
	}
	return ok
}

// enqueueBy is enqueue with the writer's wake-up left to wakes, if set.
func (s *socket) enqueueBy(f outFrame, wakes *wakeSet) bool {
	if wakes == nil {
		return s.enqueue(f)
	}
	ok := s.push(f)
	if ok {
		wakes.add(s)
	}
	return ok
}

// push is enqueue without waking the writer, unless the socket overflowed.
func (s *socket) push(f outFrame) bool {
	s.qmu.Lock()
	if s.closeWith.code != 0 {
		s.qmu.Unlock()
		return false
	}
	if s.queueBytes+len(f.data) > s.opts.queueBytes {
		s.disconnectLocked(disconnectSlow)
		s.queue, s.queueBytes = nil, 0
		s.qmu.Unlock()
		signal(s.wake)
		return false
	}
	s.queue = append(s.queue, f)
	s.queueBytes += len(f.data)
	s.qmu.Unlock()
	return true
}

// wakeSet gathers the sockets that were given frames during one batch and
// wakes each writer once at its end, so that what a batch queues for a
// socket (a message, an ack) goes out in one write. One goroutine uses it.
type wakeSet struct {
	socks map[*socket]struct{}
}

func (w *wakeSet) add(s *socket) {
	if w.socks == nil {
		w.socks = map[*socket]struct{}{}
	}
	w.socks[s] = struct{}{}
}

// wake wakes the writers gathered since the last call.
func (w *wakeSet) wake() {
	for s := range w.socks {
		signal(s.wake)
	}
	clear(w.socks)
}

// enqueueWait queues f once the queue holds at most half its bytes, leaving
// room for live traffic. It returns false when the socket closes first.
func (s *socket) enqueueWait(f outFrame) bool {
	for {
		s.qmu.Lock()
		if s.closeWith.code != 0 {
			s.qmu.Unlock()
			return false
		}
		if s.queueBytes == 0 || s.queueBytes+len(f.data) <= s.opts.queueBytes/2 {
			s.queue = append(s.queue, f)
			s.queueBytes += len(f.data)
			s.qmu.Unlock()
			signal(s.wake)
			return true
		}
		s.qmu.Unlock()
		select {
		case <-s.space:
		case <-s.writerDone:
			return false
		}
	}
}

func (s *socket) pong(data []byte) {
	s.qmu.Lock()
	s.pongs = append(s.pongs, append([]byte(nil), data...))
	s.qmu.Unlock()
	signal(s.wake)
}

func (s *socket) closing() bool {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return s.closeWith.code != 0
}

// writeLoop is the socket's only writer: frames, pings, pongs and the close.
// Each wake-up drains the whole queue and writes it as one batch: one write
// deadline and, through coalescingConn, few system calls for many frames.
func (s *socket) writeLoop() {
	defer close(s.writerDone)
	ping := time.NewTicker(s.opts.pingInterval)
	defer ping.Stop()
	// confirm fires the ping that confirms written message frames; made
	// when first needed, so that an idle socket holds no timer for it.
	var confirm *time.Timer
	var confirmC <-chan time.Time // nil unless confirm runs
	var batch []outFrame
	for {
		select {
		case <-s.wake:
		case <-ping.C:
			if !s.ping() {
				return
			}
			continue
		case <-confirmC:
			confirmC = nil
			if !s.ping() {
				return
			}
			continue
		case <-s.readerDone:
			// The client went away without a close handshake.
			s.disconnect(disconnectNormal)
		}
		// Let the goroutines that are fanning out run first, so that
		// frames queued at about the same time share one write call.
		runtime.Gosched()
		s.qmu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.queueBytes = 0
		d := s.closeWith
		pongs := s.pongs
		s.pongs = nil
		s.qmu.Unlock()
		signal(s.space)

		for _, p := range pongs {
			if err := s.t.WritePong(p, time.Now().Add(s.opts.writeTimeout)); err != nil {
				s.finish(disconnect{})
				return
			}
		}
		// Queued frames still go out before a shutdown's close; a slow
		// consumer or a logged-out socket is closed at once.
		open := d.code == 0
		if (open || d == disconnectShutdown) && len(batch) > 0 {
			if err := s.t.WriteBatch(batch, time.Now().Add(s.opts.writeTimeout)); err != nil {
				s.finish(disconnect{})
				return
			}
			s.observeWritten(batch)
			if s.noteWritten(batch) && confirmC == nil && open {
				if confirm == nil {
					confirm = time.NewTimer(s.opts.confirmDelay)
				} else {
					confirm.Reset(s.opts.confirmDelay)
				}
				confirmC = confirm.C
			}
		}
		clear(batch)
		if cap(batch) > 64 {
			batch = nil // an idle socket keeps no large batch
		}
		if !open {
			s.finish(d)
			return
		}
	}
}

// noteWritten records the message frames of batch as written and not yet
// confirmed; it reports whether there were any. Sockets in ack mode are
// confirmed by their client's acks instead.
func (s *socket) noteWritten(batch []outFrame) bool {
	if s.ackMode {
		return false
	}
	any := false
	for _, f := range batch {
		if f.conv == "" {
			continue
		}
		if s.unconfirmed == nil {
			s.unconfirmed = map[string]int64{}
		}
		s.unconfirmed[f.conv] = max(s.unconfirmed[f.conv], f.seq)
		any = true
	}
	return any
}

// ping writes a ping numbered so that its pong confirms the message frames
// written before it. It reports false when the socket is finished.
func (s *socket) ping() bool {
	s.pingNo++
	seqs := s.unconfirmed
	if len(s.unconfirmed) > 0 {
		s.cmu.Lock()
		s.marks = append(s.marks, pingMark{no: s.pingNo, seqs: s.unconfirmed})
		s.cmu.Unlock()
		s.unconfirmed = nil
	}
	if err := s.t.WritePing(strconv.AppendUint(nil, s.pingNo, 10), time.Now().Add(s.opts.writeTimeout)); err != nil {
		s.finish(disconnect{})
		return false
	}
	if len(seqs) > 0 {
		s.opts.pinged.Signal(confirmPing{s.account, seqs})
	}
	return true
}

// ponged handles a pong from the client: every mark up to the ping it
// echoes is confirmed. Called by the reader.
func (s *socket) ponged(data []byte) {
	no, err := strconv.ParseUint(string(data), 10, 64)
	if err != nil {
		return // not an answer to one of our pings
	}
	s.cmu.Lock()
	n := 0
	for n < len(s.marks) && s.marks[n].no <= no {
		n++
	}
	if n == 0 {
		s.cmu.Unlock()
		return
	}
	done := s.marks[:n:n]
	s.marks = s.marks[n:]
	s.cmu.Unlock()
	seqs := done[0].seqs
	for _, m := range done[1:] {
		for conv, seq := range m.seqs {
			seqs[conv] = max(seqs[conv], seq)
		}
	}
	s.hooks.confirmed(s, seqs)
}

// finish ends the socket, from its writer: it writes d's close frame within
// the close timeout, unless the WebSocket library already wrote one or the
// connection broke (d is the zero value), waits briefly for the client's
// reply and closes the connection.
func (s *socket) finish(d disconnect) {
	s.qmu.Lock()
	write := d.code != 0 && !s.closeSent
	if write {
		s.observeClose(d.code)
	} else {
		s.observeClose(0)
	}
	if s.closeWith.code == 0 {
		s.closeWith = disconnectNormal
	}
	s.queue, s.queueBytes = nil, 0
	s.qmu.Unlock()
	if write {
		if err := s.t.WriteClose(d.code, d.reason, time.Now().Add(s.opts.closeTimeout)); err == nil {
			t := time.NewTimer(time.Second)
			select {
			case <-s.readerDone:
			case <-t.C:
			}
			t.Stop()
		}
	}
	_ = s.t.Close() // the reader sees the error and ends
}

// sendControl queues a frame that is not a message (ack, error, presence).
func (s *socket) sendControl(data []byte) { s.enqueue(outFrame{data: data}) }

// sendPresence queues a friend's presence frame, or holds it while the open
// sequence has not yet sent the users list.
func (so *socket) sendPresence(frame []byte) {
	so.pmu.Lock()
	defer so.pmu.Unlock()
	if !so.presenceOK {
		so.heldPresence = append(so.heldPresence, frame)
		return
	}
	so.sendControl(frame)
}

// presenceReady queues the held presence frames, in order, and lets later
// ones through.
func (so *socket) presenceReady() {
	so.pmu.Lock()
	defer so.pmu.Unlock()
	so.presenceOK = true
	for _, f := range so.heldPresence {
		so.sendControl(f)
	}
	so.heldPresence = nil
}
