package realtime

import (
	"time"
)

// Observer receives the service's measurements (internal/metrics
// implements it). Its methods are called on hot paths and must not block.
type Observer interface {
	// Committed: one commit batch, its sends, the messages it stored, how
	// long it took and its error.
	Committed(sends, stored int, took time.Duration, err error)
	// Delivered: a live message frame was written to a socket, latency
	// after its commit.
	Delivered(latency time.Duration)
	// SocketClosed: a socket closed with code (1006: it broke first).
	SocketClosed(code int)
	// CatchUpQuery: missed messages were read from the database.
	CatchUpQuery()
	// SendRateLimited: a frame was refused for the socket's send rate.
	SendRateLimited()
}

type noObserver struct{}

func (noObserver) Committed(int, int, time.Duration, error) {}
func (noObserver) Delivered(time.Duration)                  {}
func (noObserver) SocketClosed(int)                         {}
func (noObserver) CatchUpQuery()                            {}
func (noObserver) SendRateLimited()                         {}

// observerOr returns o, or an observer that records nothing.
func observerOr(o Observer) Observer {
	if o == nil {
		return noObserver{}
	}
	return o
}

// closeAbnormal is the code recorded for a socket whose connection broke
// before a close frame could be written (RFC 6455 reserves it for that).
const closeAbnormal = 1006

// observeWritten records the delivery latency of the live message frames
// of a batch just written.
func (s *socket) observeWritten(batch []outFrame) {
	if s.opts.observer == nil {
		return
	}
	now := time.Now().UnixNano()
	for _, f := range batch {
		if f.committed != 0 {
			s.opts.observer.Delivered(time.Duration(now - f.committed))
		}
	}
}

// observeClose records the socket's close: with code, the one written; 0
// when none was written, because the connection broke or the WebSocket
// library already wrote it (closeSent). qmu held.
func (s *socket) observeClose(code int) {
	if s.opts.observer == nil {
		return
	}
	switch {
	case code != 0:
	case s.closeSent:
		code = s.closeWith.code
	default:
		code = closeAbnormal
	}
	s.opts.observer.SocketClosed(code)
}

// SocketStats is the state of the instance's WebSockets at one moment.
type SocketStats struct {
	// Open counts the sockets by channel: user, direct, group.
	Open map[string]int
	// QueuedBytes is the bytes of frames queued for all sockets;
	// MaxQueuedBytes those of the fullest queue.
	QueuedBytes, MaxQueuedBytes int64
}

// SocketStats counts the open sockets (from their upgrade to their end)
// and the bytes waiting in their queues.
func (s *Service) SocketStats() SocketStats {
	st := SocketStats{Open: map[string]int{}}
	for _, so := range s.hub.openSockets() {
		st.Open[so.ch.String()]++
		so.qmu.Lock()
		q := int64(so.queueBytes)
		so.qmu.Unlock()
		st.QueuedBytes += q
		st.MaxQueuedBytes = max(st.MaxQueuedBytes, q)
	}
	return st
}
