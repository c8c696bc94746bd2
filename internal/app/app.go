// Package app wires Tim together: configuration, PostgreSQL, NATS, the
// domain services and the HTTP server, each built by hand in order and torn
// down in reverse.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tim/gen/server"
	"tim/internal/accounts"
	"tim/internal/auth"
	"tim/internal/blob"
	"tim/internal/bus"
	"tim/internal/config"
	"tim/internal/httpapi"
	"tim/internal/media"
	"tim/internal/messages"
	"tim/internal/realtime"
	"tim/internal/social"
	"tim/internal/store"
	"tim/internal/userview"
)

// The domain APIs under distinct names, so that handlers can embed them all.
type (
	accountsAPI = accounts.API
	socialAPI   = social.API
	historyAPI  = messages.History
	mediaAPI    = media.API
	// conversationsAPI: the conversation list, read cursors, group readers.
	conversationsAPI = messages.Conversations
)

// handlers implements the whole contract by embedding each domain's API.
type handlers struct {
	*accountsAPI
	*socialAPI
	*historyAPI
	*mediaAPI
	*conversationsAPI
	*httpapi.Ops
}

var _ server.StrictServerInterface = (*handlers)(nil)

// App is one running Tim instance over an existing database.
type App struct {
	handler  http.Handler
	registry *prometheus.Registry // served at /metrics
	realtime *realtime.Service
	reads    *messages.Reads
	store    *store.Store
	bus      *bus.Bus
	logger   *slog.Logger
	stop     context.CancelFunc
	done     chan struct{}
}

// New connects to cfg.DatabaseURL, applies migrations and builds every
// service. Close releases what New started.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *App, err error) {
	var cleanups []func()
	defer func() {
		if err != nil {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
		}
	}()

	st, err := store.Open(ctx, cfg.DatabaseURL, 0)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, st.Close)
	if err := st.Migrate(ctx, logger); err != nil {
		return nil, err
	}

	secret, err := jwtSecret(cfg)
	if err != nil {
		return nil, err
	}
	issuer, err := auth.NewIssuer(secret, cfg.Auth.JWTIssuer, cfg.Auth.TokenTTL)
	if err != nil {
		return nil, err
	}
	verifier := auth.NewVerifier(issuer, auth.NewRevocations(st))

	reg, m := newRegistry()
	b, err := bus.Start(ctx, cfg.NATS.URL, logger, busOptions(cfg.NATS)...)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, b.Close)
	profiles := userview.NewLoader(st, cfg.Realtime.PresenceTimeout)

	// Read cursors, moved by read frames and POST /Tim/read alike.
	reads := messages.NewReads(st, logger, cfg.Realtime.CommitTimeout)
	cleanups = append(cleanups, reads.Close)
	rt, err := realtime.New(ctx, realtime.Deps{Reads: reads, Settings: realtime.Settings{Realtime: cfg.Realtime, AllowedOrigins: cfg.HTTP.AllowedOrigins},
		Store: st, Verifier: verifier, Bus: b, Logger: logger, Metrics: m})
	if err != nil {
		return nil, err
	}
	watch(m, st, b, rt)
	cleanups = append(cleanups, func() { _ = rt.Shutdown(context.WithoutCancel(ctx)) })

	accts, err := accounts.New(st, issuer, profiles, rt, cfg.Accounts, logger)
	if err != nil {
		return nil, err
	}
	soc := social.New(st, profiles, rt, cfg.Social, logger)
	blobs, err := blob.NewLocal(filepath.Join(cfg.DataDir, "media"))
	if err != nil {
		return nil, err
	}
	med := media.New(st, blobs, cfg.Media, logger)

	e, err := httpapi.New(httpapi.Options{
		Logger:   logger,
		Verifier: verifier,
		Handler:  &handlers{accts, soc, messages.NewHistory(st), med, messages.NewConversations(st, reads, rt, logger), &httpapi.Ops{DB: st, Bus: b, Media: blobs}},
		Registry: reg,
		HTTP:     cfg.HTTP, // with MetricsAddr set, Run serves MetricsHandler there
		// The largest file limit, plus room for the other parts and headers.
		MaxMultipartBody: cfg.Media.Largest() + 1<<20,
		Mount:            rt.Register,
	})
	if err != nil {
		return nil, err
	}

	jctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a := &App{handler: m.HTTP(e), registry: reg, realtime: rt, reads: reads, store: st, bus: b, logger: logger, stop: stop, done: make(chan struct{})}
	go a.janitor(jctx)
	return a, nil
}

// Handler is the HTTP surface.
func (a *App) Handler() http.Handler { return a.handler }

// Close stops background work and closes the database connections. Call
// it after the HTTP server has stopped.
func (a *App) Close(ctx context.Context) error {
	err := a.realtime.Shutdown(ctx)
	a.reads.Close()
	a.stop()
	<-a.done
	a.bus.Close()
	a.store.Close()
	return err
}

// NATSURL is where other instances reach this instance's NATS. For the
// embedded server it carries this process's token: it is a secret.
func (a *App) NATSURL() string { return a.bus.ClientURL() }

// janitor prunes rows that only matter for a while: failed logins,
// registration attempts and revoked tokens past their expiry.
func (a *App) janitor(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := a.store.RevokedTokenDeleteExpired(ctx); err != nil && ctx.Err() == nil {
			a.logger.WarnContext(ctx, "prune revoked tokens", slog.Any("err", err))
		}
		cutoff := time.Now().Add(-24 * time.Hour)
		if _, err := a.store.LoginFailureDeleteBefore(ctx, cutoff); err != nil && ctx.Err() == nil {
			a.logger.WarnContext(ctx, "prune login failures", slog.Any("err", err))
		}
		if _, err := a.store.RegistrationAttemptDeleteBefore(ctx, cutoff); err != nil && ctx.Err() == nil {
			a.logger.WarnContext(ctx, "prune registration attempts", slog.Any("err", err))
		}
	}
}

// busOptions are the credentials and TLS files of the NATS section, as
// options of bus.Start.
func busOptions(n config.NATS) []bus.Option {
	var opts []bus.Option
	if n.CredsFile != "" {
		opts = append(opts, bus.WithCredsFile(n.CredsFile))
	}
	if n.NKeyFile != "" {
		opts = append(opts, bus.WithNKeySeedFile(n.NKeyFile))
	}
	if n.CAFile != "" {
		opts = append(opts, bus.WithRootCAs(n.CAFile))
	}
	if n.CertFile != "" || n.KeyFile != "" {
		opts = append(opts, bus.WithClientCert(n.CertFile, n.KeyFile))
	}
	return opts
}

// jwtSecret returns the configured secret, or the one kept in the data
// directory, generating it on first start.
func jwtSecret(cfg config.Config) ([]byte, error) {
	if cfg.Auth.JWTSecret != "" {
		return []byte(cfg.Auth.JWTSecret), nil
	}
	path := filepath.Join(cfg.DataDir, "jwt-secret")
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return nil, fmt.Errorf("jwt secret in %s is shorter than 32 bytes", path)
		}
		return []byte(s), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read jwt secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate jwt secret: %w", err)
	}
	s := hex.EncodeToString(raw)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// O_EXCL: when two instances race on one data dir, the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return jwtSecret(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("create jwt secret: %w", err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write jwt secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write jwt secret: %w", err)
	}
	return []byte(s), nil
}
