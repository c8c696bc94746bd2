// Package wstest is the WebSocket client of Tim's tests. It dials a socket,
// reads every frame on its own goroutine, and checks each frame the server
// sends against the contract: the AsyncAPI document (api/asyncapi.yaml)
// names, for the channel the socket's path matches, the schema of the
// server's frames in openapi.yaml; a frame must match that union and the
// schema its type selects. A test fails at the first frame it reads that
// does not, and, when it ends, for any such frame it never read.
//
// The package imports only the contract documents and the generated types,
// so that every package, internal/realtime included, can use it in tests.
package wstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tim/gen/models"
)

// Wait is how long the client waits for a frame or for the server to close.
const Wait = 10 * time.Second

// queue is how many received frames a client holds before its reader
// stops reading (and the server's queue for the socket fills).
const queue = 100000

// Conn is one test socket. Its methods are called from the test's
// goroutine.
type Conn struct {
	t      testing.TB
	ws     *websocket.Conn
	ch     *channel
	frames chan *frame
	done   chan struct{} // closed when the reader has stopped

	mu      sync.Mutex
	readErr error // why the reader stopped
	invalid error // the first frame that broke the contract
	once    sync.Once
	code    int
}

// frame is one received frame, decoded and checked.
type frame struct {
	data []byte
	v    map[string]any
	err  error // the frame breaks the contract
}

// Dial opens the socket at url (ws://host/websocket/...) with header. A
// refused handshake returns the error and the server's response, whose
// body is unread. The socket is closed when the test ends.
func Dial(t testing.TB, rawURL string, header http.Header) (*Conn, *http.Response, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	ch, err := channelOf(u.Path)
	if err != nil {
		t.Fatal(err)
	}
	ws, res, err := websocket.DefaultDialer.Dial(rawURL, header)
	if err != nil {
		return nil, res, err
	}
	c := &Conn{t: t, ws: ws, ch: ch, frames: make(chan *frame, queue), done: make(chan struct{})}
	go c.read()
	t.Cleanup(func() {
		c.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.invalid != nil {
			t.Errorf("socket %s: %v", u.Path, c.invalid)
		}
	})
	return c, res, nil
}

// MustDial opens the socket at url with token in the token header, as the
// original document's clients do, and fails the test when it is refused.
func MustDial(t testing.TB, rawURL, token string) *Conn {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("token", token)
	}
	c, res, err := Dial(t, rawURL, h)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", rawURL, err, status)
	}
	return c
}

func (c *Conn) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		f := &frame{data: data}
		if err := json.Unmarshal(data, &f.v); err != nil {
			f.err = fmt.Errorf("frame %q is not a JSON object: %w", data, err)
		} else {
			f.err = c.ch.validate(f.v)
		}
		if f.err != nil {
			c.mu.Lock()
			if c.invalid == nil {
				c.invalid = f.err
			}
			c.mu.Unlock()
		}
		c.frames <- f
	}
}

// WS is the underlying connection, for what the client does not offer
// (control frames, cutting the TCP connection).
func (c *Conn) WS() *websocket.Conn { return c.ws }

// Err is why the reader stopped: the server's close (a
// *websocket.CloseError) or a read error; nil while it reads.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// Send writes a text frame.
func (c *Conn) Send(text string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// SendJSON writes v as a JSON text frame.
func (c *Conn) SendJSON(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.Send(string(b))
}

// Next returns the next frame, failing the test when it breaks the
// contract, when the socket closes first, or after Wait.
func (c *Conn) Next() map[string]any {
	c.t.Helper()
	timeout := time.After(Wait)
	select {
	case f := <-c.frames:
		return c.checked(f)
	case <-c.done:
		// Frames read before the close are still queued.
		select {
		case f := <-c.frames:
			return c.checked(f)
		default:
		}
		c.t.Fatalf("socket closed: %v", c.Err())
	case <-timeout:
		c.t.Fatal("no frame within the wait")
	}
	return nil
}

func (c *Conn) checked(f *frame) map[string]any {
	c.t.Helper()
	if f.err != nil {
		c.t.Fatal(f.err)
	}
	return f.v
}

// NextOf skips frames until one of type typ. Message and error frames are
// never skipped: meeting one first fails the test (unless typ is its type).
func (c *Conn) NextOf(typ string) map[string]any {
	c.t.Helper()
	for {
		f := c.Next()
		if f["type"] == typ {
			return f
		}
		if f["type"] == "message" || f["type"] == "error" {
			c.t.Fatalf("want a %s frame, got %v", typ, f)
		}
	}
}

// Poll returns the next frame of type typ that comes within d, skipping
// others, or nil when none does (for frames that must not come).
func (c *Conn) Poll(typ string, d time.Duration) map[string]any {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-c.frames:
			if v := c.checked(f); v["type"] == typ {
				return v
			}
		case <-deadline:
			return nil
		}
	}
}

// Until skips frames of any type until one of type typ.
func (c *Conn) Until(typ string) map[string]any {
	c.t.Helper()
	for {
		if f := c.Next(); f["type"] == typ {
			return f
		}
	}
}

// Message returns the next message frame (see NextOf).
func (c *Conn) Message() models.MessageFrame {
	c.t.Helper()
	var m models.MessageFrame
	c.decode(c.NextOf("message"), &m)
	return m
}

// Ack returns the next frame, which must be an ack.
func (c *Conn) Ack() models.AckFrame {
	c.t.Helper()
	f := c.Next()
	if f["type"] != "ack" {
		c.t.Fatalf("want an ack, got %v", f)
	}
	var a models.AckFrame
	c.decode(f, &a)
	return a
}

// AcksAndMessages reads until it has nAcks acks and nMsgs messages, which
// may interleave, and returns each kind in arrival order. An error frame,
// or more of either than asked, fails the test.
func (c *Conn) AcksAndMessages(nAcks, nMsgs int) ([]models.AckFrame, []models.MessageFrame) {
	c.t.Helper()
	var acks []models.AckFrame
	var msgs []models.MessageFrame
	for len(acks) < nAcks || len(msgs) < nMsgs {
		f := c.Next()
		switch f["type"] {
		case "ack":
			var a models.AckFrame
			c.decode(f, &a)
			acks = append(acks, a)
		case "message":
			var m models.MessageFrame
			c.decode(f, &m)
			msgs = append(msgs, m)
		case "error":
			c.t.Fatalf("error frame %v", f)
		}
	}
	if len(acks) > nAcks || len(msgs) > nMsgs {
		c.t.Fatalf("%d acks and %d messages, want %d and %d", len(acks), len(msgs), nAcks, nMsgs)
	}
	return acks, msgs
}

func (c *Conn) decode(f map[string]any, v any) {
	c.t.Helper()
	b, err := json.Marshal(f)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		c.t.Fatalf("decode %v: %v", f, err)
	}
}

// Closed waits for the server to close the socket and returns the close
// code (-1 when the connection ended without a close frame). The frames
// before the close are checked and dropped.
func (c *Conn) Closed() int {
	c.t.Helper()
	deadline := time.After(Wait)
	for {
		select {
		case f := <-c.frames:
			c.checked(f)
		case <-c.done:
			for len(c.frames) > 0 {
				c.checked(<-c.frames)
			}
			var ce *websocket.CloseError
			if errors.As(c.Err(), &ce) {
				return ce.Code
			}
			return -1
		case <-deadline:
			c.t.Fatal("socket not closed within the wait")
		}
	}
}

// Close closes the socket normally: it sends a close frame, waits up to
// Wait for the server's, and closes the connection. It returns the code of the
// server's close frame (-1 without one). Later calls return the same.
func (c *Conn) Close() int {
	c.once.Do(func() {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		select {
		case <-c.done:
		case <-time.After(Wait):
		}
		_ = c.ws.Close()
		// The reader may be blocked on a full queue.
		for {
			select {
			case <-c.frames:
				continue
			case <-c.done:
			}
			break
		}
		c.code = -1
		var ce *websocket.CloseError
		if errors.As(c.Err(), &ce) {
			c.code = ce.Code
		}
	})
	return c.code
}
