package realtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"go.uber.org/goleak"

	"tim/internal/auth"
	"tim/internal/bus"
	"tim/internal/config"
	"tim/internal/messages"
	"tim/internal/store"
	"tim/internal/testdb"
	"tim/internal/testlog"
	"tim/internal/testwait"
	"tim/internal/wstest"
)

// TestMain runs the tests, then fails when any goroutine remains that was
// not there before: checkLeaks tells which test leaked, this catches what
// it cannot see (goroutines started by the runtime or by shared ones).
func TestMain(m *testing.M) {
	ignore := goleak.IgnoreCurrent()
	testdb.Main(m, func() error { return goleak.Find(ignore) })
}

const wait = 10 * time.Second

// testHealEvery makes the healing loop quick, so that a test of a message
// the bus lost waits a fraction of a second, not seconds.
const testHealEvery = 250 * time.Millisecond

type noRevocations struct{}

func (noRevocations) Revoked(context.Context, auth.Claims) (bool, error) { return false, nil }

// env is one realtime service on a fresh database, served by httptest. It
// is not package testenv's Env: that runs the whole app, which imports this
// package, so tests in this package cannot use it.
type env struct {
	t      *testing.T
	cfg    config.Config
	q      *store.Store
	pool   *pgxpool.Pool // for fixtures the store has no query for
	bus    *bus.Bus
	issuer *auth.Issuer
	svc    *Service
	srv    *httptest.Server
	logger *slog.Logger
}

func setup(t *testing.T, opts ...func(*config.Config)) *env {
	t.Helper()
	checkLeaks(t)
	ctx := context.Background()
	logger := testlog.Logger(t, slog.LevelWarn)
	url := testdb.New(t)
	st, err := store.Open(ctx, url, 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx, logger); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cfg := config.Default()
	cfg.Realtime.SendRate, cfg.Realtime.SendBurst = 10000, 10000
	for _, o := range opts {
		o(&cfg)
	}
	b, err := bus.Start(ctx, cfg.NATS.URL, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	issuer, err := auth.NewIssuer([]byte(strings.Repeat("k", 32)), "tim", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cfg: cfg, q: st, pool: pool, bus: b, issuer: issuer, logger: logger}
	e.start()
	return e
}

// start runs a service on e's database and bus.
func (e *env) start() {
	e.t.Helper()
	reads := messages.NewReads(e.q, e.logger, e.cfg.Realtime.CommitTimeout)
	e.t.Cleanup(reads.Close) // after stop, below
	svc, err := New(context.Background(), Deps{Settings: settings(e.cfg), Store: e.q, Verifier: auth.NewVerifier(e.issuer, noRevocations{}), Bus: e.bus, Reads: reads, Logger: e.logger})
	if err != nil {
		e.t.Fatal(err)
	}
	ec := echo.New()
	svc.Register(ec)
	srv := httptest.NewServer(ec)
	e.svc, e.srv = svc, srv
	e.t.Cleanup(func() { e.stop() })
}

// stop shuts the service down; it may be called more than once.
func (e *env) stop() {
	if e.svc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.svc.Shutdown(ctx); err != nil {
		e.t.Error(err)
	}
	e.srv.Close()
	e.svc = nil
}

// restart stops the service and starts a new one on the same database.
func (e *env) restart() {
	e.stop()
	e.start()
}

// peer is a second instance on the same database and NATS; opts change
// its configuration.
func (e *env) peer(opts ...func(*config.Config)) *env {
	p := &env{t: e.t, cfg: e.cfg, q: e.q, pool: e.pool, bus: e.bus, issuer: e.issuer, logger: e.logger}
	for _, o := range opts {
		o(&p.cfg)
	}
	b, err := bus.Start(context.Background(), e.bus.ClientURL(), e.logger)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(b.Close)
	p.bus = b
	p.start()
	return p
}

// user creates account and returns a token for it.
func (e *env) user(account string) string {
	e.t.Helper()
	_, err := e.q.UserInsert(context.Background(), store.NewUser{Account: account, Username: "name-" + account, PasswordHash: "x", Sex: "male", Age: 20})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.token(account)
}

func (e *env) token(account string) string {
	tok, _, err := e.issuer.Issue(account, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) befriend(a, b string) {
	e.t.Helper()
	if a > b {
		a, b = b, a
	}
	if _, err := e.q.FriendshipInsertPair(context.Background(), a, b); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) group(id int64, members ...string) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.q.GroupInsertIfMissing(ctx, id, "g", members[0]); err != nil {
		e.t.Fatal(err)
	}
	for _, m := range members {
		if err := e.q.GroupMemberInsert(ctx, id, m, store.RoleMember); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) wsURL(path string) string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + path }

// dial opens path with token in the token header; it fails the test when
// the handshake is refused.
func (e *env) dial(path, token string) *client {
	e.t.Helper()
	c, resp, err := e.tryDial(path, token, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	return c
}

func (e *env) tryDial(path, token string, header http.Header) (*client, *http.Response, error) {
	if header == nil {
		header = http.Header{}
	}
	if token != "" {
		header.Set("token", token)
	}
	c, resp, err := wstest.Dial(e.t, e.wsURL(path), header)
	if err != nil {
		return nil, resp, err
	}
	return &client{Conn: c, t: e.t}, resp, nil
}

// client is the shared test client (package wstest), which checks every
// frame against the contract, with the helpers of the tests here.
type client struct {
	*wstest.Conn
	t *testing.T
}

var (
	specOnce sync.Once
	spec     *openapi3.T
	specErr  error
)

func loadSpec(t *testing.T) *openapi3.T {
	specOnce.Do(func() {
		spec, specErr = openapi3.NewLoader().LoadFromFile("../../api/openapi.yaml")
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	return spec
}

// rawClient does not read until told to, so that its socket backs up.
type rawClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func (e *env) tryDialRaw(path, token string) (*rawClient, *http.Response, error) {
	// A small receive buffer, set before the connection is made, so that
	// the connection backs up after little data.
	nd := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	d := websocket.Dialer{ReadBufferSize: 1024, NetDialContext: nd.DialContext}
	conn, resp, err := d.Dial(e.wsURL(path), http.Header{"token": {token}})
	if err != nil {
		return nil, resp, err
	}
	e.t.Cleanup(func() { _ = conn.Close() })
	return &rawClient{t: e.t, conn: conn}, resp, nil
}

// drain reads until the connection ends and returns the close code
// (1006 when it ended without a close frame, -1 on a read timeout).
func (c *rawClient) drain() int {
	_ = c.conn.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return -1
		}
	}
}

// waitCursor waits until account's stored delivery cursor in conv is seq.
func (e *env) waitCursor(account, conv string, seq int64) {
	e.t.Helper()
	testwait.Eventually(e.t, wait, func() error {
		got, err := e.q.DeliveryCursorGet(context.Background(), account, conv)
		if err == nil && got != seq {
			err = fmt.Errorf("delivery cursor of %s in %s is %d, want %d", account, conv, got, seq)
		}
		return err
	})
}

// crash stops the service as a killed process would: no more heartbeats or
// presence writes, nothing removed from the database, sockets dropped.
func (e *env) crash() {
	s := e.svc
	s.cancel()
	s.bg.Wait()
	for _, f := range s.unhook {
		f()
	}
	s.unsubscribe()
	s.hub.shutdown()
	s.sockets.Wait()
	s.committer.Close()
	s.reads.Close()
	e.srv.Close()
	e.svc = nil
}

// settings are the service's settings from cfg, as package app builds them.
func settings(cfg config.Config) Settings {
	return Settings{Realtime: cfg.Realtime, AllowedOrigins: cfg.HTTP.AllowedOrigins, HealEvery: testHealEvery}
}
