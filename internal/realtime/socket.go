package realtime

import (
	"runtime"
	"sync"
	"time"
)

// Close codes, documented in api/asyncapi.yaml.
const (
	CloseNormal       = 1000 // the client closed
	CloseGoingAway    = 1001 // server shutdown; reconnect and resume
	ClosePolicy       = 1008 // protocol violation
	CloseTooBig       = 1009 // a frame above the size limit
	CloseInternal     = 1011 // an unexpected server error
	CloseSlowConsumer = 4000 // the outgoing queue overflowed; reconnect and resume
	CloseLoggedOut    = 4001 // the token was logged out
)

// transport is what a socket needs from a WebSocket connection. Only the
// socket's writer goroutine calls it.
type transport interface {
	// WriteBatch writes frames in order, all due by deadline; it may gather
	// them into few system calls.
	WriteBatch(frames []outFrame, deadline time.Time) error
	WritePing(deadline time.Time) error
	WritePong(data []byte, deadline time.Time) error
	WriteClose(code int, reason string, deadline time.Time) error
	Close() error
}

// outFrame is an encoded frame queued for a socket. Message frames carry
// their conversation and seq so that writing them can advance the cursor.
type outFrame struct {
	data []byte
	conv string
	seq  int64
}

// convState is how far a socket has been delivered in one conversation.
type convState struct {
	last     int64 // newest seq queued to the socket
	catching bool  // the catch-up goroutine owns this conversation
	maxSeen  int64 // newest live seq seen while catching up
	gen      int   // bumped by a rewind (sync), which restarts a catch-up
}

// socketHooks are the service callbacks a socket uses.
type socketHooks interface {
	// written is called by the writer after frames reached the socket.
	written(s *socket, frames []outFrame)
	// startCatchUp starts a goroutine that fetches and queues what s misses.
	startCatchUp(s *socket)
}

// socket is one client connection: a bounded outgoing queue drained by one
// writer goroutine, and per-conversation delivery state.
type socket struct {
	id      uint64
	account string
	jti     string
	ch      channel
	conv    string // the conversation of a direct or group socket
	peer    string // direct sockets
	groupID int64  // group sockets
	ackMode bool
	// What the open sequence did, for serve to undo; set before the reader
	// starts. counted: in presence; registered: in the hub (and, for a
	// group socket, in group presence).
	counted, registered bool

	t            transport
	hooks        socketHooks
	queueCap     int
	writeTimeout time.Duration
	pingInterval time.Duration

	qmu        sync.Mutex
	queue      []outFrame
	closeCode  int // set once: the writer closes with it
	closeMsg   string
	closeSent  bool     // the close frame was already written (by the library)
	pongs      [][]byte // pongs to send
	wake       chan struct{}
	space      chan struct{}
	writerDone chan struct{}
	readerDone chan struct{}

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

func newSocket(t transport, hooks socketHooks, queueCap int, writeTimeout, pingInterval time.Duration) *socket {
	return &socket{
		t: t, hooks: hooks, queueCap: queueCap, writeTimeout: writeTimeout, pingInterval: pingInterval,
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

// enqueue queues f without blocking. On overflow the socket is closed as a
// slow consumer: it resumes from its cursor after reconnecting.
func (s *socket) enqueue(f outFrame) bool {
	s.qmu.Lock()
	if s.closeCode != 0 {
		s.qmu.Unlock()
		return false
	}
	if len(s.queue) >= s.queueCap {
		s.closeCode, s.closeMsg = CloseSlowConsumer, "slow consumer"
		s.queue = nil
		s.qmu.Unlock()
		signal(s.wake)
		return false
	}
	s.queue = append(s.queue, f)
	s.qmu.Unlock()
	signal(s.wake)
	return true
}

// enqueueWait queues f once the queue is at most half full, leaving room for
// live traffic. It returns false when the socket closes first.
func (s *socket) enqueueWait(f outFrame) bool {
	for {
		s.qmu.Lock()
		if s.closeCode != 0 {
			s.qmu.Unlock()
			return false
		}
		if len(s.queue) < (s.queueCap+1)/2 {
			s.queue = append(s.queue, f)
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

// close asks the writer to close the socket with code. The first code wins.
func (s *socket) close(code int, msg string) {
	s.qmu.Lock()
	if s.closeCode == 0 {
		s.closeCode, s.closeMsg = code, msg
	}
	s.qmu.Unlock()
	signal(s.wake)
}

// closedByLibrary records that the WebSocket library already wrote a close
// frame (for an oversized frame) and asks the writer to finish.
func (s *socket) closedByLibrary(code int) {
	s.qmu.Lock()
	if s.closeCode == 0 {
		s.closeCode = code
	}
	s.closeSent = true
	s.qmu.Unlock()
	signal(s.wake)
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
	return s.closeCode != 0
}

// writeLoop is the socket's only writer: frames, pings, pongs and the close.
// Each wake-up drains the whole queue and writes it as one batch: one write
// deadline and, through coalescingConn, few system calls for many frames.
func (s *socket) writeLoop() {
	defer close(s.writerDone)
	ping := time.NewTicker(s.pingInterval)
	defer ping.Stop()
	var batch []outFrame
	for {
		select {
		case <-s.wake:
		case <-ping.C:
			if err := s.t.WritePing(time.Now().Add(s.writeTimeout)); err != nil {
				s.finish(0, "")
				return
			}
			continue
		case <-s.readerDone:
			// The client went away without a close handshake.
			s.close(CloseNormal, "")
		}
		// Let the goroutines that are fanning out run first, so that
		// frames queued at about the same time share one write call.
		runtime.Gosched()
		s.qmu.Lock()
		batch, s.queue = s.queue, batch[:0]
		code, msg, sent := s.closeCode, s.closeMsg, s.closeSent
		pongs := s.pongs
		s.pongs = nil
		s.qmu.Unlock()
		signal(s.space)

		for _, p := range pongs {
			if err := s.t.WritePong(p, time.Now().Add(s.writeTimeout)); err != nil {
				s.finish(0, "")
				return
			}
		}
		// Queued frames still go out before a graceful close; a slow
		// consumer or a logged-out socket is closed at once.
		if (code == 0 || code == CloseGoingAway) && len(batch) > 0 {
			if err := s.t.WriteBatch(batch, time.Now().Add(s.writeTimeout)); err != nil {
				s.finish(0, "")
				return
			}
			s.hooks.written(s, batch)
		}
		clear(batch)
		if cap(batch) > 64 {
			batch = nil // an idle socket keeps no large batch
		}
		if code != 0 {
			if sent {
				code = 0
			}
			s.finish(code, msg)
			return
		}
	}
}

// finish writes the close frame (code 0: none), waits briefly for the
// client's reply and closes the connection.
func (s *socket) finish(code int, msg string) {
	s.qmu.Lock()
	if s.closeCode == 0 {
		s.closeCode = CloseNormal
	}
	s.queue = nil
	s.qmu.Unlock()
	if code != 0 {
		if err := s.t.WriteClose(code, msg, time.Now().Add(s.writeTimeout)); err == nil {
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
