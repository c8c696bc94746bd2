package deploy

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// requestTimeout bounds every request of the test, the 50 MB transfers too.
const requestTimeout = 2 * time.Minute

// client talks to one proxy from one local address.
type client struct {
	t     *testing.T
	base  string // the proxy's base URL
	local string // the client's address, e.g. 127.0.0.2
	http  *http.Client
	ws    *websocket.Dialer
}

// newClient returns a client of base whose connections leave from local,
// a loopback address (Linux answers for all of 127.0.0.0/8 without setup).
func newClient(t *testing.T, base, local string) *client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{
		t: t, base: base, local: local,
		http: &http.Client{Transport: tr, Timeout: requestTimeout},
		ws:   &websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 10 * time.Second},
	}
}

// envelope is Tim's response body.
type envelope struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// do sends a request and returns the response with its body read.
func (c *client) do(method, path string, header http.Header, body io.Reader, size int64) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if size > 0 {
		req.ContentLength = size
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s from %s: %v", method, path, c.local, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return res, b
}

// call sends a request whose answer must be Tim's JSON envelope with the
// given status, and returns the envelope.
func (c *client) call(method, path, token string, body any, header http.Header, want int) envelope {
	c.t.Helper()
	if header == nil {
		header = http.Header{}
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
		r = bytes.NewReader(b)
		header.Set("Content-Type", "application/json")
	}
	if token != "" {
		header.Set("token", token)
	}
	res, b := c.do(method, path, header, r, 0)
	return c.checkEnvelope(method+" "+path, res, b, want)
}

// checkEnvelope checks that a response is Tim's JSON envelope (not a page
// of the proxy's own) with the wanted status in both places.
func (c *client) checkEnvelope(what string, res *http.Response, body []byte, want int) envelope {
	c.t.Helper()
	var env envelope
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		c.t.Fatalf("%s: %s with Content-Type %q, not Tim's JSON envelope: %.300s", what, res.Status, ct, body)
	}
	if err := json.Unmarshal(body, &env); err != nil {
		c.t.Fatalf("%s: %s, body is not an envelope (%v): %.300s", what, res.Status, err, body)
	}
	if res.StatusCode != want || env.Code != want {
		c.t.Fatalf("%s: status %d, code %d (%s), want %d", what, res.StatusCode, env.Code, env.Message, want)
	}
	return env
}

// register creates an account with password.
func (c *client) register(account string) {
	c.t.Helper()
	c.call(http.MethodPost, "/Tim/UserRegister", "", map[string]any{
		"account": account, "password": password, "username": "user " + account, "age": 30, "sex": "female",
	}, nil, http.StatusOK)
}

// password is every test account's password.
const password = "proxied-secret"

// login logs account in and returns its token.
func (c *client) login(account string) string {
	c.t.Helper()
	env := c.call(http.MethodPost, "/Tim/UserLogin", "", map[string]string{"account": account, "password": password}, nil, http.StatusOK)
	var data []json.RawMessage
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(env.Data, &data); err != nil || len(data) != 2 {
		c.t.Fatalf("login %s: data is not [user, token]: %s", account, env.Data)
	}
	if err := json.Unmarshal(data[1], &tok); err != nil || tok.Token == "" {
		c.t.Fatalf("login %s: no token in %s", account, data[1])
	}
	return tok.Token
}

// failLogin tries a wrong password for account and expects want (401
// while under the limit, 429 after). header may carry X-Forwarded-For.
func (c *client) failLogin(account string, header http.Header, want int) {
	c.t.Helper()
	c.call(http.MethodPost, "/Tim/UserLogin", "", map[string]string{"account": account, "password": "wrong-password"}, header, want)
}

// upload posts file as the multipart field "file" to path, with a
// Content-Length as browsers send it, and returns the response.
func (c *client) upload(path, token, filename string, file []byte) (*http.Response, []byte) {
	c.t.Helper()
	return c.uploadFrom(path, token, filename, bytes.NewReader(file), len(file))
}

// uploadFrom is upload with the file's size bytes read from file as the
// request is sent.
func (c *client) uploadFrom(path, token, filename string, file io.Reader, size int) (*http.Response, []byte) {
	c.t.Helper()
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if _, err := mw.CreateFormFile("file", filename); err != nil {
		c.t.Fatalf("multipart: %v", err)
	}
	prefix := bytes.Clone(head.Bytes())
	head.Reset()
	if err := mw.Close(); err != nil {
		c.t.Fatalf("multipart: %v", err)
	}
	suffix := head.Bytes()
	body := io.MultiReader(bytes.NewReader(prefix), file, bytes.NewReader(suffix))
	h := http.Header{"Content-Type": {mw.FormDataContentType()}, "Token": {token}}
	return c.do(http.MethodPost, path, h, body, int64(len(prefix)+size+len(suffix)))
}

// mp4 returns an ISO BMFF file of size bytes: an ftyp box (major brand
// isom), a moov box holding a version 0 mvhd box, and an mdat box whose
// payload is pseudo-random, so that a wrong byte range cannot pass for the
// right one.
func mp4(size int) []byte {
	be := binary.BigEndian
	box := func(b []byte, typ string, content func([]byte) []byte) []byte {
		start := len(b)
		b = append(b, 0, 0, 0, 0)
		b = append(b, typ...)
		b = content(b)
		be.PutUint32(b[start:], uint32(len(b)-start))
		return b
	}
	b := make([]byte, 0, size)
	b = box(b, "ftyp", func(b []byte) []byte {
		b = append(b, "isom"...)
		b = be.AppendUint32(b, 0x200)
		return append(b, "isomiso2avc1mp41"...)
	})
	b = box(b, "moov", func(b []byte) []byte {
		return box(b, "mvhd", func(b []byte) []byte {
			b = be.AppendUint32(b, 0)          // version 0, flags 0
			b = be.AppendUint32(b, 0)          // creation time
			b = be.AppendUint32(b, 0)          // modification time
			b = be.AppendUint32(b, 1000)       // timescale
			b = be.AppendUint32(b, 1000)       // duration: one second
			b = be.AppendUint32(b, 0x00010000) // rate 1.0
			b = be.AppendUint16(b, 0x0100)     // volume 1.0
			b = append(b, make([]byte, 10)...) // reserved
			for _, m := range [9]uint32{0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000} {
				b = be.AppendUint32(b, m) // unity matrix
			}
			b = append(b, make([]byte, 24)...) // pre-defined
			return be.AppendUint32(b, 2)       // next track ID
		})
	})
	pad := size - len(b) - 8
	b = be.AppendUint32(b, uint32(8+pad))
	b = append(b, "mdat"...)
	payload := make([]byte, pad)
	_, _ = rand.NewChaCha8([32]byte{'t', 'i', 'm'}).Read(payload) // never fails
	return append(b, payload...)
}

// frame is any frame Tim sends on a WebSocket; fields not in a given
// frame type stay zero.
type frame struct {
	Type        string `json:"type"`
	Code        int    `json:"code"`
	Message     any    `json:"message"`
	FromUser    string `json:"fromUser"`
	To          string `json:"to"`
	GroupID     int64  `json:"groupId"`
	ClientMsgID string `json:"clientMsgId"`
	raw         string
}

// socket is a WebSocket through the proxy. One goroutine reads it
// (answering pings with pongs, as every WebSocket client does) and hands
// the frames to the test.
type socket struct {
	t      *testing.T
	name   string
	conn   *websocket.Conn
	frames chan frame
	done   chan struct{} // closed when reading has ended
	err    error         // why reading ended, once done is closed
}

// dial opens path (with its query) through the proxy. header carries the
// token or an Origin. The socket is closed in t.Cleanup.
func (c *client) dial(name, path string, header http.Header) *socket {
	c.t.Helper()
	conn, err := c.dialRaw(path, header)
	if err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
	s := &socket{t: c.t, name: name, conn: conn, frames: make(chan frame, 256), done: make(chan struct{})}
	go s.read()
	c.t.Cleanup(s.close)
	return s
}

// dialRaw opens a WebSocket, reporting a refused handshake with its status
// and body.
func (c *client) dialRaw(path string, header http.Header) (*websocket.Conn, error) {
	u, err := url.Parse(c.base + path)
	if err != nil {
		return nil, err
	}
	u.Scheme = "ws"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, res, err := c.ws.DialContext(ctx, u.String(), header)
	if err != nil {
		if res != nil {
			b, _ := io.ReadAll(res.Body)
			return nil, &handshakeError{status: res.StatusCode, body: string(b), err: err}
		}
		return nil, fmt.Errorf("dial %s: %w", path, err)
	}
	return conn, nil
}

// handshakeError is a WebSocket upgrade answered with an HTTP status.
type handshakeError struct {
	status int
	body   string
	err    error
}

func (e *handshakeError) Error() string {
	return fmt.Sprintf("handshake answered %d: %.300s (%v)", e.status, e.body, e.err)
}

func (s *socket) read() {
	defer close(s.done)
	for {
		_, b, err := s.conn.ReadMessage()
		if err != nil {
			s.err = err
			return
		}
		f := frame{raw: string(b)}
		if err := json.Unmarshal(b, &f); err != nil {
			s.err = fmt.Errorf("frame is not JSON (%w): %s", err, b)
			return
		}
		s.frames <- f
	}
}

// expect reads frames until one satisfies ok, failing the test when the
// socket closes or none comes within 15 s.
func (s *socket) expect(what string, ok func(frame) bool) frame {
	s.t.Helper()
	timeout := time.After(15 * time.Second)
	match := func(f frame) bool {
		if f.Type == "error" {
			s.t.Fatalf("%s: error frame while waiting for %s: %s", s.name, what, f.raw)
		}
		return ok(f)
	}
	for {
		select {
		case f := <-s.frames: // frames that came before a close first
			if match(f) {
				return f
			}
			continue
		default:
		}
		select {
		case f := <-s.frames:
			if match(f) {
				return f
			}
		case <-s.done:
			if len(s.frames) == 0 {
				s.t.Fatalf("%s: closed while waiting for %s: %v", s.name, what, s.err)
			}
		case <-timeout:
			s.t.Fatalf("%s: no %s within 15s", s.name, what)
		}
	}
}

// alive fails the test when the socket has closed.
func (s *socket) alive() {
	s.t.Helper()
	select {
	case <-s.done:
		s.t.Fatalf("%s: closed: %v", s.name, s.err)
	default:
	}
}

// send writes a text frame.
func (s *socket) send(text string) {
	s.t.Helper()
	if err := s.conn.WriteMessage(websocket.TextMessage, []byte(text)); err != nil {
		s.t.Fatalf("%s: send: %v", s.name, err)
	}
}

// sendJSON writes v as a text frame.
func (s *socket) sendJSON(v any) {
	s.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		s.t.Fatalf("%s: %v", s.name, err)
	}
	s.send(string(b))
}

// close ends the socket with a close frame and waits for the reader.
func (s *socket) close() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	timeout := time.After(5 * time.Second)
wait:
	for {
		select {
		case <-s.frames: // drain, so that the reader reaches the close
		case <-s.done:
			break wait
		case <-timeout:
			break wait
		}
	}
	if err := s.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.t.Logf("%s: close: %v", s.name, err)
	}
}
