package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tim/internal/bus"
	"tim/internal/metrics"
	"tim/internal/realtime"
	"tim/internal/store"
)

// newRegistry returns the registry /metrics serves, holding the Go and
// process collectors and Tim's metrics.
func newRegistry() (*prometheus.Registry, *metrics.Metrics) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg, metrics.New(reg)
}

// watch exports the state of the database pool, the bus and the sockets,
// read at each scrape.
func watch(m *metrics.Metrics, st *store.Store, b *bus.Bus, rt *realtime.Service) {
	m.WatchPool("main", st.PoolStats)
	m.WatchBus(b)
	m.WatchSockets(func() metrics.SocketStats {
		st := rt.SocketStats()
		return metrics.SocketStats{Open: st.Open, QueuedBytes: st.QueuedBytes, MaxQueuedBytes: st.MaxQueuedBytes}
	})
}

// MetricsHandler serves the instance's metrics in Prometheus' format. The
// main handler serves it at /metrics unless TIM_METRICS_ADDR is set.
func (a *App) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{})
}

// Metrics gathers the instance's metric families.
func (a *App) Metrics() prometheus.Gatherer { return a.registry }

// serveMetrics serves /metrics on addr until stop is called, which shuts
// the listener down within ctx.
func serveMetrics(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) (stop func(context.Context) error, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	logger.InfoContext(ctx, "serving metrics", slog.String("addr", ln.Addr().String()))
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, fmt.Errorf("serve metrics: %w", serr))
		}
		return err
	}, nil
}
