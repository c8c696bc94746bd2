// Package bus connects a Tim instance to NATS, the channel through which
// instances exchange committed messages, presence and socket-closing. With no
// URL it embeds a NATS server in-process, so one process needs nothing else
// and runs the same code path as a cluster.
//
// The bus carries private messages, so no client joins it without a
// credential: the embedded server listens on loopback only and requires a
// token generated for each process; an external server is reached with the
// user, password or token in its URL, a creds file, an NKey seed and TLS.
package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Bus is a connection to NATS, and the embedded server when there is one.
type Bus struct {
	conn       *nats.Conn
	embedded   *server.Server
	clientURL  string
	logger     *slog.Logger
	closed     chan struct{}
	closing    atomic.Bool
	reconnects atomic.Uint64
	hooks      *hooks
}

// Option adds a credential or TLS setting to the connection to an external
// NATS. Options are ignored for the embedded server, whose token Start makes.
type Option func(*options)

type options struct {
	credsFile, nkeyFile string
	caFiles             []string
	certFile, keyFile   string
}

// WithCredsFile authenticates with a NATS creds file (a user JWT and its
// NKey seed), as issued for decentralized JWT authentication.
func WithCredsFile(path string) Option { return func(o *options) { o.credsFile = path } }

// WithNKeySeedFile authenticates with the NKey whose seed is in the file.
func WithNKeySeedFile(path string) Option { return func(o *options) { o.nkeyFile = path } }

// WithRootCAs verifies the server's TLS certificate against the PEM
// certificates in the files instead of the system roots, and requires TLS.
func WithRootCAs(paths ...string) Option {
	return func(o *options) { o.caFiles = append(o.caFiles, paths...) }
}

// WithClientCert presents the PEM certificate and key to a server that
// verifies clients (mutual TLS), and requires TLS.
func WithClientCert(certFile, keyFile string) Option {
	return func(o *options) { o.certFile, o.keyFile = certFile, keyFile }
}

// Start connects to the NATS server at url, or, when url is empty, starts an
// embedded server on a random loopback port that requires a random token,
// and connects to it. url may name several servers separated by commas, and
// may carry credentials: nats://user:password@host:4222 or
// nats://token@host:4222; tls:// requires TLS.
func Start(ctx context.Context, url string, logger *slog.Logger, opts ...Option) (*Bus, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	b := &Bus{logger: logger, clientURL: url, closed: make(chan struct{}), hooks: newHooks()}
	natsOpts := []nats.Option{
		nats.Name("tim"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if b.closing.Load() {
				return
			}
			logger.WarnContext(ctx, "nats disconnected", slog.Any("err", err))
			b.hooks.post(evDisconnect)
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.ReconnectHandler(func(*nats.Conn) {
			n := b.reconnects.Add(1)
			logger.InfoContext(ctx, "nats reconnected", slog.Uint64("reconnects", n))
			b.hooks.post(evReconnect)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			logger.ErrorContext(ctx, "nats error", slog.String("subject", subject), slog.Any("err", err))
		}),
	}
	if url == "" {
		srv, clientURL, err := startEmbedded()
		if err != nil {
			return nil, err
		}
		b.embedded, b.clientURL = srv, clientURL
	} else {
		if err := checkURLs(url); err != nil {
			return nil, err
		}
		sec, err := o.natsOptions()
		if err != nil {
			return nil, err
		}
		natsOpts = append(natsOpts, sec...)
	}
	conn, err := nats.Connect(b.clientURL, natsOpts...)
	if err != nil {
		if b.embedded != nil {
			b.embedded.Shutdown()
		}
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, fmt.Errorf("connect to nats %s: the server refused the credentials (user and password or token in the URL, creds file, nkey): %w", redact(b.clientURL), err)
		}
		return nil, fmt.Errorf("connect to nats %s: %w", redact(b.clientURL), err)
	}
	b.conn = conn
	go b.hooks.run()
	logger.InfoContext(ctx, "connected to nats",
		slog.Bool("embedded", b.embedded != nil), slog.String("url", redact(conn.ConnectedUrl())))
	return b, nil
}

// startEmbedded starts a NATS server on a random loopback port that admits
// only clients presenting a fresh random token, and returns its URL with
// the token in it.
func startEmbedded() (*server.Server, string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("generate nats token: %w", err)
	}
	token := hex.EncodeToString(raw)
	srv, err := server.NewServer(&server.Options{
		Host:                  "127.0.0.1",
		Port:                  server.RANDOM_PORT,
		Authorization:         token,
		NoLog:                 true,
		NoSigs:                true,
		MaxPayload:            8 << 20,
		MaxPending:            256 << 20,
		WriteDeadline:         10 * time.Second,
		DisableShortFirstPing: true,
	})
	if err != nil {
		return nil, "", fmt.Errorf("create embedded nats server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, "", errors.New("embedded nats server did not start")
	}
	u, err := url.Parse(srv.ClientURL())
	if err != nil {
		srv.Shutdown()
		return nil, "", fmt.Errorf("embedded nats server url: %w", err)
	}
	u.User = url.User(token)
	return srv, u.String(), nil
}

// checkURLs rejects a malformed server list without echoing it: url.Parse
// errors quote the whole URL, password included.
func checkURLs(s string) error {
	for i, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if !strings.Contains(part, "://") {
			part = "nats://" + part
		}
		u, err := url.Parse(part)
		if err != nil || u.Host == "" {
			return fmt.Errorf("nats url: server %d of %q is not a URL such as nats://host:4222", i+1, redact(s))
		}
	}
	return nil
}

// natsOptions turns the credential and TLS files into nats options, checking
// first that each file can be read so that a typo gets a clear error.
func (o options) natsOptions() ([]nats.Option, error) {
	var out []nats.Option
	readable := func(what, path string) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("nats %s: %w", what, err)
		}
		return f.Close()
	}
	if o.credsFile != "" && o.nkeyFile != "" {
		return nil, errors.New("nats: a creds file and an nkey seed file exclude each other")
	}
	if o.credsFile != "" {
		if err := readable("creds file", o.credsFile); err != nil {
			return nil, err
		}
		out = append(out, nats.UserCredentials(o.credsFile))
	}
	if o.nkeyFile != "" {
		opt, err := nats.NkeyOptionFromSeed(o.nkeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats nkey seed file: %w", err)
		}
		out = append(out, opt)
	}
	for _, ca := range o.caFiles {
		if err := readable("CA file", ca); err != nil {
			return nil, err
		}
	}
	if len(o.caFiles) > 0 {
		out = append(out, nats.RootCAs(o.caFiles...))
	}
	if (o.certFile == "") != (o.keyFile == "") {
		return nil, errors.New("nats: a client certificate needs both a certificate and a key file")
	}
	if o.certFile != "" {
		if err := readable("client certificate", o.certFile); err != nil {
			return nil, err
		}
		if err := readable("client key", o.keyFile); err != nil {
			return nil, err
		}
		out = append(out, nats.ClientCert(o.certFile, o.keyFile))
	}
	return out, nil
}

// redact hides the credentials of NATS URLs, a comma-separated list of
// nats://user:password@host or nats://token@host, for logs and errors.
func redact(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		scheme := strings.Index(p, "://")
		at := strings.LastIndex(p, "@")
		if at < 0 {
			continue
		}
		start := 0
		if scheme >= 0 && scheme < at {
			start = scheme + 3
		}
		parts[i] = p[:start] + "***" + p[at:]
	}
	return strings.Join(parts, ",")
}

// Conn returns the NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.conn }

// ClientURL is where other instances connect to reach the same NATS. For the
// embedded server it carries this process's token,
// nats://<token>@127.0.0.1:<port>, so it is a secret: hand it only to
// trusted instances and never log it (its logs hide the token).
func (b *Bus) ClientURL() string { return b.clientURL }

// Connected reports whether the connection to NATS is up now. While it is
// down, publishes are buffered (up to 64 MiB) and subscriptions receive
// nothing; the client keeps reconnecting until Close.
func (b *Bus) Connected() bool { return b.conn.IsConnected() }

// Reconnects counts the times the connection came back after it was lost.
func (b *Bus) Reconnects() uint64 { return b.reconnects.Load() }

// OnReconnect registers f to run each time the connection comes back after it
// was lost: messages published meanwhile by other instances were not
// received, so f is where a listener catches up. The returned function
// unregisters f.
//
// Callbacks of OnReconnect and OnDisconnect run one at a time, in the order
// of the events, on a goroutine of the bus: never on the NATS client's own
// goroutines, so a slow callback delays only the next callbacks. Events that
// arrive while a callback runs are coalesced to the latest transition
// (disconnect, reconnect, disconnect becomes disconnect). Close waits for a
// running callback to return and drops pending ones; a callback must not
// call Close.
func (b *Bus) OnReconnect(f func()) (unregister func()) { return b.hooks.add(evReconnect, f) }

// OnDisconnect registers f to run each time the connection is lost (not when
// Close closes it). See OnReconnect for how callbacks run. The returned
// function unregisters f.
func (b *Bus) OnDisconnect(f func()) (unregister func()) { return b.hooks.add(evDisconnect, f) }

// Close drains the connection and stops the embedded server, if any.
func (b *Bus) Close() {
	b.closing.Store(true)
	if err := b.conn.Drain(); err != nil {
		b.conn.Close()
	}
	// Drain returns at once; wait until the connection is really closed.
	select {
	case <-b.closed:
	case <-time.After(5 * time.Second):
		b.conn.Close()
	}
	b.hooks.stop()
	if b.embedded != nil {
		b.embedded.Shutdown()
		b.embedded.WaitForShutdown()
	}
}

type event int

const (
	evDisconnect event = iota
	evReconnect
)

// hooks runs the registered callbacks for connection events on its own
// goroutine. The queue holds at most two events: NATS alternates
// disconnects and reconnects, so a longer queue adds nothing a listener
// needs once the latest transition is known.
type hooks struct {
	mu      sync.Mutex
	next    int
	fns     [2][]hook
	queue   []event
	wake    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	stopped sync.Once
}

type hook struct {
	id int
	f  func()
}

func newHooks() *hooks {
	return &hooks{wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
}

func (h *hooks) add(ev event, f func()) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.next
	h.next++
	h.fns[ev] = append(h.fns[ev], hook{id, f})
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.fns[ev] = slices.DeleteFunc(h.fns[ev], func(x hook) bool { return x.id == id })
	}
}

// post queues ev without blocking; NATS handlers call it.
func (h *hooks) post(ev event) {
	h.mu.Lock()
	if n := len(h.queue); n == 0 || h.queue[n-1] != ev {
		h.queue = append(h.queue, ev)
	}
	if n := len(h.queue); n > 2 {
		h.queue = append(h.queue[:0], h.queue[n-1])
	}
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *hooks) run() {
	defer close(h.done)
	for {
		select {
		case <-h.quit:
			return
		case <-h.wake:
		}
		for {
			h.mu.Lock()
			if len(h.queue) == 0 {
				h.mu.Unlock()
				break
			}
			ev := h.queue[0]
			h.queue = h.queue[1:]
			fns := slices.Clone(h.fns[ev])
			h.mu.Unlock()
			for _, x := range fns {
				select {
				case <-h.quit:
					return
				default:
				}
				x.f()
			}
		}
	}
}

// stop ends the goroutine after the running callback, if any, returns.
func (h *hooks) stop() {
	h.stopped.Do(func() { close(h.quit) })
	<-h.done
}
