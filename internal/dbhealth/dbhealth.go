// Package dbhealth turns a database outage into a few log lines instead of
// one per failed call.
//
// While PostgreSQL is down every request, commit, catch-up and presence
// tick fails, and each of them logs its error: a 12-second outage wrote
// thousands of ERROR lines. Monitor sits in front of the log handler.
// Records at WARN or above whose error says the database cannot be reached
// (as the Unavailable function given to New decides) are not written;
// instead the monitor writes:
//
//   - "database unreachable" once, with the first failure (ERROR);
//   - "database still unreachable" at most once per Options.Summary while
//     failures go on, with the count since the previous line (WARN);
//   - "database reachable again" once a probe succeeds, with the outage's
//     duration and the count of failed calls in it (WARN).
//
// Failures that are not about reaching the database pass through as they
// are. Watch probes the database while it is down, so that the recovery is
// noticed even when nothing else calls it.
package dbhealth

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultSummary      = 10 * time.Second
	DefaultProbe        = time.Second
	defaultProbeTimeout = 2 * time.Second
)

// Options configure a Monitor.
type Options struct {
	// Unavailable reports whether an error means the database could not
	// be reached (refused, reset, shutting down). Required.
	Unavailable func(error) bool
	// Summary is the least time between two lines about one outage.
	// Default DefaultSummary.
	Summary time.Duration
	// Probe is the pause between probes while the database is down.
	// Default DefaultProbe.
	Probe time.Duration
}

// Pinger answers whether the database is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Monitor tracks whether the database is reachable from the failures
// logged through its Handler and from its own probes.
type Monitor struct {
	out  *slog.Logger // the lines about the outage, written past the filter
	opts Options
	wake chan struct{} // the database went down: probe it

	mu       sync.Mutex
	down     bool
	since    time.Time // when the outage was first seen
	failed   int       // failed calls in this outage
	unshown  int       // of which not yet counted in a line
	lastLine time.Time // of the previous line about this outage
	lastErr  string
}

// New returns a monitor writing to next. Log through Handler.
func New(next slog.Handler, opts Options) *Monitor {
	if opts.Summary <= 0 {
		opts.Summary = DefaultSummary
	}
	if opts.Probe <= 0 {
		opts.Probe = DefaultProbe
	}
	return &Monitor{out: slog.New(next), opts: opts, wake: make(chan struct{}, 1)}
}

// Handler returns the log handler that filters database outages out of
// what reaches next.
func (m *Monitor) Handler() slog.Handler {
	return &handler{m: m, next: m.out.Handler()}
}

// Down reports whether the database is currently taken to be unreachable.
func (m *Monitor) Down() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.down
}

// Watch probes db while it is down, until ctx ends, and writes the
// recovery line when a probe succeeds.
func (m *Monitor) Watch(ctx context.Context, db Pinger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		}
		for m.Down() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(m.opts.Probe):
			}
			pctx, cancel := context.WithTimeout(ctx, defaultProbeTimeout)
			err := db.Ping(pctx)
			cancel()
			if err == nil {
				m.up(ctx)
			} else if ctx.Err() == nil && m.opts.Unavailable(err) {
				m.failure(ctx, "probe", err, false)
			}
		}
	}
}

// failure counts one failed call; msg is what its log record said. A
// probe (counted false) keeps the summaries going but is not a call.
func (m *Monitor) failure(ctx context.Context, msg string, err error, counted bool) {
	now := time.Now()
	m.mu.Lock()
	if !m.down {
		m.down, m.since, m.failed, m.unshown, m.lastLine = true, now, 0, 0, now
		if counted {
			m.failed = 1
		}
		m.mu.Unlock()
		select {
		case m.wake <- struct{}{}:
		default:
		}
		m.out.ErrorContext(ctx, "database unreachable",
			slog.String("first_failure", msg), slog.Any("err", err),
			slog.String("note", "failed calls are counted, not logged, until it answers again"))
		return
	}
	if counted {
		m.failed++
		m.unshown++
	}
	m.lastErr = err.Error()
	if now.Sub(m.lastLine) < m.opts.Summary {
		m.mu.Unlock()
		return
	}
	outage, n, last := now.Sub(m.since), m.unshown, m.lastErr
	m.unshown, m.lastLine = 0, now
	m.mu.Unlock()
	m.out.WarnContext(ctx, "database still unreachable",
		slog.Duration("outage", outage.Round(time.Millisecond)),
		slog.Int("failed_calls", n), slog.String("last_err", last))
}

// up ends the outage.
func (m *Monitor) up(ctx context.Context) {
	m.mu.Lock()
	if !m.down {
		m.mu.Unlock()
		return
	}
	outage, n := time.Since(m.since), m.failed
	m.down = false
	m.mu.Unlock()
	m.out.WarnContext(ctx, "database reachable again",
		slog.Duration("outage", outage.Round(time.Millisecond)), slog.Int("failed_calls", n))
}

// handler passes records on to next, except those about a failure to
// reach the database, which it hands to the monitor.
type handler struct {
	m    *Monitor
	next slog.Handler
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		if err := errorOf(r); err != nil && h.m.opts.Unavailable(err) {
			h.m.failure(ctx, r.Message, err, true)
			return nil
		}
	}
	return h.next.Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{m: h.m, next: h.next.WithAttrs(attrs)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{m: h.m, next: h.next.WithGroup(name)}
}

// errorOf returns the first error among r's attributes.
func errorOf(r slog.Record) error {
	var found error
	r.Attrs(func(a slog.Attr) bool {
		if v := a.Value.Resolve(); v.Kind() == slog.KindAny {
			if err, ok := v.Any().(error); ok {
				found = err
				return false
			}
		}
		return true
	})
	return found
}
