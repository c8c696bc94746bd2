// Package testenv runs real Tim servers for end-to-end tests: a fresh
// PostgreSQL database per server, the real HTTP stack on httptest, and a
// generated client whose every response is checked against the contract.
package testenv

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tim/gen/client"
	"tim/gen/models"
	"tim/internal/app"
	"tim/internal/config"
	"tim/internal/testdb"
	"tim/internal/testlog"
)

// Password is the password Register gives every account.
const Password = "secret-pass"

// Main runs a test package's tests; call it from TestMain.
func Main(m *testing.M) { testdb.Main(m) }

// Env is one running server.
type Env struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:40123.
	URL string
	// Client is the generated client; it validates every response.
	Client *client.ClientWithResponses
	// HTTP is a plain client with the same validation, for raw requests.
	HTTP *http.Client
	// Config is the server's configuration.
	Config config.Config
	// App is the running instance.
	App *app.App

	t      testing.TB
	server *httptest.Server
	closed bool
	mu     sync.Mutex
}

// Option adjusts the configuration of a new Env.
type Option func(*config.Config)

// WithConfig lets a test change the server's configuration.
func WithConfig(f func(*config.Config)) Option { return Option(f) }

// Cheap password hashing: argon2id with 64 KiB and one pass costs well under
// a millisecond, where the production parameters cost about 100 ms of CPU
// under -race for each registration and login. Tests about what hashing
// costs (the hashing cap, its queue) ask for ProductionHashing.
const (
	cheapPasswordMemoryKiB = 64
	cheapPasswordTime      = 1
)

// ProductionHashing gives the server the default (production) password
// hashing parameters instead of the cheap ones New sets.
func ProductionHashing() Option {
	return func(c *config.Config) {
		def := config.Default()
		c.Accounts.PasswordMemoryKiB, c.Accounts.PasswordTime = def.Accounts.PasswordMemoryKiB, def.Accounts.PasswordTime
	}
}

// New starts a server on a fresh database, stopped in t.Cleanup. Its
// password hashes are cheap (see ProductionHashing).
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := config.Default()
	cfg.DatabaseURL = testdb.New(t)
	cfg.DataDir = t.TempDir()
	cfg.Auth.JWTSecret = "test-secret-0123456789abcdefghijklmnop"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.HTTP.ShutdownTimeout = 5 * time.Second
	cfg.Accounts.PasswordMemoryKiB, cfg.Accounts.PasswordTime = cheapPasswordMemoryKiB, cheapPasswordTime
	for _, o := range opts {
		o(&cfg)
	}
	return start(t, cfg)
}

// Peer starts a second instance sharing e's database, data directory and
// NATS, as a second server behind a load balancer would.
func (e *Env) Peer(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := e.Config
	cfg.NATS.URL = e.App.NATSURL()
	cfg.Realtime.InstanceID = ""
	for _, o := range opts {
		o(&cfg)
	}
	return start(t, cfg)
}

// Restart stops the server gracefully and starts it again on the same
// database and data directory; URL changes.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.Stop(t)
	n := start(t, e.Config)
	e.mu.Lock()
	e.URL, e.Client, e.HTTP, e.App, e.server, e.closed = n.URL, n.Client, n.HTTP, n.App, n.server, false
	e.mu.Unlock()
}

// Stop shuts the server down gracefully (idempotent).
func (e *Env) Stop(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	e.closed = true
	e.server.Config.SetKeepAlivesEnabled(false)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Close the app first: it closes WebSockets, which httptest.Close would
	// otherwise wait for.
	if err := e.App.Close(ctx); err != nil {
		t.Errorf("close app: %v", err)
	}
	e.server.CloseClientConnections()
	e.server.Close()
}

func start(t testing.TB, cfg config.Config) *Env {
	t.Helper()
	logger := testlog.Logger(t, slog.LevelWarn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	hc := &http.Client{Transport: &validatingTransport{t: t, next: http.DefaultTransport}}
	c, err := client.NewClientWithResponses(srv.URL, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	e := &Env{URL: srv.URL, Client: c, HTTP: hc, Config: cfg, App: a, t: t, server: srv}
	t.Cleanup(func() { e.Stop(t) })
	return e
}

// Auth sets the token header, as the document's clients do.
func Auth(token string) client.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("token", token)
		return nil
	}
}

// Register creates account (username = account, password Password) and
// returns a token from logging in.
func (e *Env) Register(t testing.TB, account string) string {
	t.Helper()
	ctx := context.Background()
	res, err := e.Client.UserRegisterWithResponse(ctx, models.RegisterRequest{
		Account: account, Password: Password, Username: account, Age: 20, Sex: models.SexMale,
	})
	if err != nil {
		t.Fatalf("register %s: %v", account, err)
	}
	if res.StatusCode() != http.StatusOK {
		t.Fatalf("register %s: status %d: %s", account, res.StatusCode(), res.Body)
	}
	return e.Login(t, account)
}

// Login logs account in with Password and returns the token.
func (e *Env) Login(t testing.TB, account string) string {
	t.Helper()
	res, err := e.Client.UserLoginWithResponse(context.Background(), models.UserLoginJSONRequestBody{Account: account, Password: Password})
	if err != nil {
		t.Fatalf("login %s: %v", account, err)
	}
	if res.JSON200 == nil || len(res.JSON200.Data) != 2 {
		t.Fatalf("login %s: status %d: %s", account, res.StatusCode(), res.Body)
	}
	tok, err := res.JSON200.Data[1].AsTokenHolder()
	if err != nil || tok.Token == "" {
		t.Fatalf("login %s: no token in %s", account, res.Body)
	}
	return tok.Token
}

// WebSocketURL turns a path into a ws:// URL on the server.
func (e *Env) WebSocketURL(path string) string {
	return "ws" + strings.TrimPrefix(e.URL, "http") + path
}
