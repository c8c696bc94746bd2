package realtime

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// maxCoalesce is the most bytes the writer gathers before one write call.
const maxCoalesce = 64 << 10

// coalescePool holds the buffers of writers in the middle of a batch, so
// that an idle socket keeps none.
var coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, maxCoalesce); return &b }}

// coalescingConn is the network connection under a gorilla connection. While
// the writer drains a batch it gathers gorilla's frame writes in a pooled
// buffer and sends them with one write call and one deadline, instead of a
// system call and a deadline per frame. Outside a batch, writes (pings,
// pongs, the close frame the library writes from the reader) go straight
// through.
type coalescingConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      *[]byte
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.batching {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = coalescePool.Get().(*[]byte)
	}
	if len(*c.buf)+len(p) > maxCoalesce {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > maxCoalesce {
			return c.Conn.Write(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// SetWriteDeadline is called by gorilla before every frame; within a batch
// the deadline was set once by begin.
func (c *coalescingConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batching {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// begin starts gathering writes, all due by deadline.
func (c *coalescingConn) begin(deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = true
	return c.Conn.SetWriteDeadline(deadline)
}

// end writes what was gathered and stops gathering.
func (c *coalescingConn) end() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = false
	err := c.flushLocked()
	if c.buf != nil {
		coalescePool.Put(c.buf)
		c.buf = nil
	}
	return err
}

func (c *coalescingConn) flushLocked() error {
	if c.buf == nil || len(*c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

// hijackWrapper hands gorilla's upgrader a coalescingConn.
type hijackWrapper struct {
	http.ResponseWriter
	conn *coalescingConn
}

func (w *hijackWrapper) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &coalescingConn{Conn: conn}
	return w.conn, brw, nil
}

// wsTransport adapts a gorilla connection to transport.
type wsTransport struct {
	c   *websocket.Conn
	raw *coalescingConn
}

func (t wsTransport) WriteBatch(frames []outFrame, deadline time.Time) error {
	if err := t.raw.begin(deadline); err != nil {
		_ = t.raw.end()
		return err
	}
	for _, f := range frames {
		if f.data == nil {
			continue // a seq's place only (socket.ownCommitted)
		}
		if err := t.c.WriteMessage(websocket.TextMessage, f.data); err != nil {
			_ = t.raw.end()
			return err
		}
	}
	return t.raw.end()
}

func (t wsTransport) WritePing(data []byte, deadline time.Time) error {
	return t.c.WriteControl(websocket.PingMessage, data, deadline)
}

func (t wsTransport) WritePong(data []byte, deadline time.Time) error {
	return t.c.WriteControl(websocket.PongMessage, data, deadline)
}

func (t wsTransport) WriteClose(code int, reason string, deadline time.Time) error {
	return t.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), deadline)
}

func (t wsTransport) Close() error { return t.c.Close() }
