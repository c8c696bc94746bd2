package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"

	"tim/internal/config"
	"tim/internal/dbhealth"
	"tim/internal/pgcluster"
	"tim/internal/store"
)

// Run is the whole server process: `tim [flags]` serves until ctx ends;
// `tim migrate [flags]` applies the migrations and exits.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	migrateOnly := false
	if len(args) > 1 && args[1] == "migrate" {
		migrateOnly = true
		args = append(args[:1:1], args[2:]...)
	}
	cfg, err := config.Load(args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	// A database outage is logged as a state change and summaries, not as
	// one ERROR line per failed call (see dbhealth).
	dbHealth := dbhealth.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}),
		dbhealth.Options{Unavailable: store.Unavailable})
	logger := slog.New(dbHealth.Handler())
	logger.InfoContext(ctx, "starting tim", slog.Any("config", cfg))

	if cfg.DatabaseURL == "" {
		cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), Logger: logger})
		if err != nil {
			return fmt.Errorf("start private PostgreSQL: %w", err)
		}
		defer func() {
			if err := cluster.Stop(context.WithoutCancel(ctx)); err != nil {
				logger.ErrorContext(ctx, "stop private PostgreSQL", slog.Any("err", err))
			}
		}()
		if err := cluster.EnsureDatabase(ctx, "tim"); err != nil {
			return fmt.Errorf("create database: %w", err)
		}
		cfg.DatabaseURL = cluster.URL("tim")
		logger.InfoContext(ctx, "private PostgreSQL started", slog.String("dir", filepath.Join(cfg.DataDir, "postgres")))
	}

	if migrateOnly {
		st, err := store.Open(ctx, cfg.DatabaseURL, 2)
		if err != nil {
			return err
		}
		defer st.Close()
		return st.Migrate(ctx, logger)
	}

	a, err := New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		dbHealth.Watch(watchCtx, a.store)
	}()
	defer func() {
		stopWatch()
		<-watched
	}()
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		_ = a.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	stopMetrics := func(context.Context) error { return nil }
	if cfg.HTTP.MetricsAddr != "" {
		if stopMetrics, err = serveMetrics(ctx, cfg.HTTP.MetricsAddr, a.MetricsHandler(), logger); err != nil {
			_ = ln.Close()
			_ = a.Close(context.WithoutCancel(ctx))
			return err
		}
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		// No ReadTimeout or WriteTimeout: one deadline for a whole request
		// would cut off long uploads and downloads. Request bodies are
		// bounded per request instead (TIM_BODY_TIMEOUT, TIM_UPLOAD_MIN_BYTES
		// and TIM_UPLOAD_MIN_WINDOW, applied by httpapi).
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.InfoContext(ctx, "listening", slog.String("addr", ln.Addr().String()))

	select {
	case err := <-serveErr:
		_ = stopMetrics(context.WithoutCancel(ctx))
		_ = a.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.InfoContext(ctx, "shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.ShutdownTimeout)
	defer cancel()
	// WebSockets are hijacked, so Shutdown does not wait for them: the app
	// closes them (after committing in-flight sends) before the store closes.
	shutdownErr := srv.Shutdown(sctx)
	closeErr := a.Close(sctx)
	metricsErr := stopMetrics(sctx)
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return errors.Join(shutdownErr, closeErr, metricsErr)
}
