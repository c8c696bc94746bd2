package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tim/internal/app"
	"tim/internal/config"
	"tim/internal/testdb"
	"tim/internal/testenv"
	"tim/internal/testlog"
)

// logWait bounds the wait for a server's log line: under load a start
// has taken more than 10 s.
const logWait = 30 * time.Second

// runTim runs the whole server process, as `tim` does, with the given
// environment on top of a fresh database, and returns its address and log.
// It is stopped in t.Cleanup.
func runTim(t *testing.T, env map[string]string) (string, *testlog.Buffer) {
	t.Helper()
	vars := map[string]string{
		"TIM_DATABASE_URL": testdb.New(t),
		"TIM_DATA_DIR":     t.TempDir(),
		"TIM_JWT_SECRET":   "test-secret-0123456789abcdefghijklmnop",
		"TIM_ADDR":         "127.0.0.1:0",
		// Cheap password hashes: hashing cost is not these tests' subject.
		"TIM_PASSWORD_MEMORY_KIB": "64",
		"TIM_PASSWORD_TIME":       "1",
	}
	for k, v := range env {
		vars[k] = v
	}
	logs := &testlog.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, []string{"tim"}, func(k string) string { return vars[k] }, logs, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	line := logs.Wait(t, logWait, 0, regexp.MustCompile(`msg=listening addr=\S+`))[0]
	return strings.TrimPrefix(line[strings.Index(line, "addr="):], "addr="), logs
}

// closedWithin reports whether the server closes conn within d, reading and
// discarding what it sends. It writes nothing.
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestSlowHeadersAreCutOff: a client that sends its request line and
// headers a byte at a time is disconnected after TIM_READ_HEADER_TIMEOUT,
// however long it would go on.
func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	addr, _ := runTim(t, map[string]string{"TIM_READ_HEADER_TIMEOUT": "1s"})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	closed := make(chan struct{})
	go func() {
		closedWithin(conn, time.Minute)
		close(closed)
	}()
	head := "GET /healthz HTTP/1.1\r\nHost: tim\r\nX-Padding: " + strings.Repeat("x", 200) + "\r\n\r\n"
	start := time.Now()
	for i := 0; i < len(head); i++ {
		select {
		case <-closed:
			t.Logf("cut off after %v, %d header bytes", time.Since(start).Round(time.Millisecond), i)
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(start) > 6*time.Second {
			t.Fatalf("still connected after %v of trickled headers (timeout 1s)", time.Since(start))
		}
		if _, err := conn.Write([]byte{head[i]}); err != nil {
			t.Logf("cut off after %v: %v", time.Since(start).Round(time.Millisecond), err)
			return
		}
	}
	t.Fatal("the whole header went through")
}

// TestIdleConnectionsAreClosed: a kept-alive connection that sends no
// further request is closed after TIM_IDLE_TIMEOUT.
func TestIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	addr, _ := runTim(t, map[string]string{"TIM_IDLE_TIMEOUT": "1s"})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: tim\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Close {
		t.Fatalf("status %d, close %v", res.StatusCode, res.Close)
	}
	if !closedWithin(conn, 6*time.Second) {
		t.Fatal("idle connection still open after 6s (timeout 1s)")
	}
}

// TestSlowJSONBodyAnswered408: a JSON body that trickles in is answered
// 408 in the envelope once TIM_BODY_TIMEOUT has passed, and the connection
// is closed.
func TestSlowJSONBodyAnswered408(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.HTTP.BodyTimeout = time.Second }))
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"account":"alice","password":"` + strings.Repeat("p", 60) + `"}`
	fmt.Fprintf(conn, "POST /Tim/UserLogin HTTP/1.1\r\nHost: tim\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))

	type answer struct {
		res  *http.Response
		body []byte
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		br := bufio.NewReader(conn)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		answered <- answer{res: res, body: b, err: err}
	}()
	start := time.Now()
	var a answer
trickle:
	for i := 0; ; i++ {
		select {
		case a = <-answered:
			break trickle
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(start) > 6*time.Second {
			t.Fatalf("no answer after %v of a trickled body (timeout 1s)", time.Since(start))
		}
		if i < len(body)-1 { // never the last byte
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				t.Fatalf("write: %v", err)
			}
		}
	}
	if a.err != nil {
		t.Fatalf("read answer: %v", a.err)
	}
	t.Logf("answered after %v", time.Since(start).Round(time.Millisecond))
	var e envelope
	if err := json.Unmarshal(a.body, &e); err != nil || a.res.StatusCode != 408 || e.Code != 408 || e.Message == "" {
		t.Fatalf("status %d body %s", a.res.StatusCode, a.body)
	}
	if !a.res.Close {
		t.Error("408 does not close the connection")
	}
	if !closedWithin(conn, 5*time.Second) {
		t.Error("connection still open after the 408")
	}
}

// TestJSONBodyWithinTheDeadline: a body that arrives in pieces, all within
// the deadline, is served, and so is the next request on the connection:
// the deadline is the request's, not the connection's.
func TestJSONBodyWithinTheDeadline(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.HTTP.BodyTimeout = 2 * time.Second }))
	env.Register(t, "alice")
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	body := `{"account":"alice","password":"` + testenv.Password + `"}`
	for round := range 2 {
		fmt.Fprintf(conn, "POST /Tim/UserLogin HTTP/1.1\r\nHost: tim\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		half := len(body) / 2
		if _, err := io.WriteString(conn, body[:half]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the scenario: a pause well inside the deadline
		if _, err := io.WriteString(conn, body[half:]); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("round %d: status %d %s", round, res.StatusCode, b)
		}
		if round == 0 {
			// Longer than the body deadline: the idle connection must
			// not inherit it.
			time.Sleep(2500 * time.Millisecond) // the scenario: a client idle past the deadline
		}
	}
}

// TestWebSocketOutlivesTheBodyDeadline: the body deadline never reaches a
// WebSocket: a socket idle for several body timeouts still answers a ping.
func TestWebSocketOutlivesTheBodyDeadline(t *testing.T) {
	t.Parallel()
	env := testenv.New(t, testenv.WithConfig(func(c *config.Config) { c.HTTP.BodyTimeout = 300 * time.Millisecond }))
	tok := env.Register(t, "alice")
	conn, res, err := websocket.DefaultDialer.Dial(env.WebSocketURL("/websocket/alice"), http.Header{"token": {tok}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	defer conn.Close()
	pong := make(chan struct{}, 1)
	conn.SetPongHandler(func(string) error { pong <- struct{}{}; return nil })
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				closed <- err
				return
			}
		}
	}()
	time.Sleep(time.Second) // the scenario: idle for more than three body timeouts
	if err := conn.WriteControl(websocket.PingMessage, []byte("still there?"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("ping: %v", err)
	}
	select {
	case <-pong:
	case err := <-closed:
		t.Fatalf("socket closed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no pong")
	}
}
