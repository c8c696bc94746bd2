// Package metrics defines Tim's Prometheus metrics beyond the HTTP
// requests: message commits and deliveries, WebSockets, the bus, the
// PostgreSQL pool, logins, rate limits and uploads. The services feed them
// through the few methods of Metrics (each service declares the ones it
// calls as an interface of its own); state that already exists, such as
// open sockets or pool statistics, is read when Prometheus scrapes.
//
// Names follow the Prometheus conventions: the tim_ prefix, the unit in the
// name, _total on counters. README's Operations section lists them.
package metrics

import (
	"strconv"
	"time"

	"tim/internal/store"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values created up front, so that every series exists, at zero,
// from the start: dashboards and rate() need no first event.
func labelValues() (limits, uploadKinds, channels []string, closeCodes []int) {
	return []string{limitLogin, limitRegistration, limitHashQueue, limitUploads, limitSockets, limitSendRate},
		[]string{"avatar", "chatpic", "mp3", "mp4"},
		[]string{"user", "direct", "group"},
		// The close codes of api/asyncapi.yaml, and 1006 for a connection
		// that broke before a close frame could be written.
		[]int{1000, 1001, 1006, 1009, 1011, 4000, 4001, 4003}
}

// Values of tim_rate_limited_total's limit label.
const (
	limitLogin        = "login"        // failed logins per account or address (429)
	limitRegistration = "registration" // registrations per address (429)
	limitHashQueue    = "hash_queue"   // too many password hashes waiting (503)
	limitUploads      = "uploads"      // uploads in flight per account (429)
	limitSockets      = "sockets"      // sockets per account (429 at the handshake)
	limitSendRate     = "send_rate"    // frames per second per socket (429 error frame)
)

// Metrics holds the collectors. A nil *Metrics records nothing.
type Metrics struct {
	reg prometheus.Registerer

	committed      prometheus.Counter
	commitFailures prometheus.Counter
	commitBatch    prometheus.Histogram
	commitDuration prometheus.Histogram
	delivery       prometheus.Histogram
	closes         *prometheus.CounterVec
	catchUps       prometheus.Counter
	loginFailures  prometheus.Counter
	rateLimited    *prometheus.CounterVec
	uploadBytes    *prometheus.CounterVec
	uploadDuration *prometheus.HistogramVec
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg: reg,
		committed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tim_messages_committed_total",
			Help: "Messages stored by this instance's committer (repeated sends of a clientMsgId not counted).",
		}),
		commitFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tim_commit_failures_total",
			Help: "Commit batches that failed (timeout or database error); their senders got an error frame.",
		}),
		commitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tim_commit_batch_sends",
			Help:    "Sends per commit batch (one statement, one transaction).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 to 512, the largest batch
		}),
		commitDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tim_commit_duration_seconds",
			Help:    "Time to commit one batch of sends, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15), // 0.5 ms to 8 s
		}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tim_delivery_latency_seconds",
			Help: "From a message's commit (its time, by PostgreSQL's clock) to the write of its frame to a " +
				"recipient's socket (this instance's clock); live deliveries only, not replays from the database.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms to 8 s
		}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tim_websocket_closes_total",
			Help: "WebSockets closed, by the close code sent or echoed; 1006 when the connection broke first.",
		}, []string{"code"}),
		catchUps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tim_catchup_queries_total",
			Help: "Reads of missed messages from the database for a socket (on open, after a gap or a sync).",
		}),
		loginFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tim_login_failures_total",
			Help: "Logins refused for a wrong account or password (401).",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tim_rate_limited_total",
			Help: "Requests and frames refused by a limit, by limit.",
		}, []string{"limit"}),
		uploadBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tim_upload_bytes_total",
			Help: "Request body bytes of uploads that were stored, by kind.",
		}, []string{"kind"}),
		uploadDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tim_upload_duration_seconds",
			Help:    "Time from an upload's request to its answer, for uploads that were stored, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 9), // 10 ms to 11 min
		}, []string{"kind"}),
	}
	limits, kinds, _, codes := labelValues()
	for _, l := range limits {
		m.rateLimited.WithLabelValues(l)
	}
	for _, k := range kinds {
		m.uploadBytes.WithLabelValues(k)
		m.uploadDuration.WithLabelValues(k)
	}
	for _, c := range codes {
		m.closes.WithLabelValues(strconv.Itoa(c))
	}
	reg.MustRegister(m.committed, m.commitFailures, m.commitBatch, m.commitDuration, m.delivery, m.closes,
		m.catchUps, m.loginFailures, m.rateLimited, m.uploadBytes, m.uploadDuration)
	return m
}

// Committed records one commit batch: sends in it, messages it stored, how
// long it took, and its error (nil, or the failure its senders got).
func (m *Metrics) Committed(sends, stored int, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.committed.Add(float64(stored))
	m.commitBatch.Observe(float64(sends))
	m.commitDuration.Observe(took.Seconds())
	if err != nil {
		m.commitFailures.Inc()
	}
}

// Delivered records a live message frame written to a socket, latency
// after its commit.
func (m *Metrics) Delivered(latency time.Duration) {
	if m == nil {
		return
	}
	m.delivery.Observe(max(latency, 0).Seconds())
}

// SocketClosed records a WebSocket closed with code.
func (m *Metrics) SocketClosed(code int) {
	if m == nil {
		return
	}
	m.closes.WithLabelValues(strconv.Itoa(code)).Inc()
}

// CatchUpQuery records one read of missed messages.
func (m *Metrics) CatchUpQuery() {
	if m == nil {
		return
	}
	m.catchUps.Inc()
}

// SendRateLimited records a frame refused for the socket's send rate.
func (m *Metrics) SendRateLimited() { m.refused(limitSendRate) }

func (m *Metrics) refused(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(limit).Inc()
}

// loginFailed records a login refused for wrong credentials.
func (m *Metrics) loginFailed() {
	if m == nil {
		return
	}
	m.loginFailures.Inc()
}

// uploaded records a stored upload of kind.
func (m *Metrics) uploaded(kind string, bytes int64, took time.Duration) {
	if m == nil {
		return
	}
	m.uploadBytes.WithLabelValues(kind).Add(float64(bytes))
	m.uploadDuration.WithLabelValues(kind).Observe(took.Seconds())
}

// SocketStats is the state of an instance's WebSockets at one moment.
type SocketStats struct {
	// Open counts open sockets by channel (user, direct, group).
	Open map[string]int
	// QueuedBytes is the bytes of frames waiting in all sockets' queues;
	// MaxQueuedBytes those of the fullest queue.
	QueuedBytes, MaxQueuedBytes int64
}

// WatchSockets exports tim_websocket_open_sockets{channel},
// tim_websocket_queued_bytes and tim_websocket_max_queued_bytes, read from
// stats at each scrape.
func (m *Metrics) WatchSockets(stats func() SocketStats) {
	open := prometheus.NewDesc("tim_websocket_open_sockets", "Open WebSockets by channel.", []string{"channel"}, nil)
	queued := prometheus.NewDesc("tim_websocket_queued_bytes", "Bytes of frames queued for all WebSockets and not yet written.", nil, nil)
	fullest := prometheus.NewDesc("tim_websocket_max_queued_bytes", "Bytes queued for the WebSocket with the fullest queue (a slow reader is closed with 4000 at TIM_SOCKET_QUEUE_BYTES).", nil, nil)
	m.reg.MustRegister(collector{
		descs: []*prometheus.Desc{open, queued, fullest},
		collect: func(ch chan<- prometheus.Metric) {
			st := stats()
			_, _, channels, _ := labelValues()
			for _, c := range channels {
				ch <- prometheus.MustNewConstMetric(open, prometheus.GaugeValue, float64(st.Open[c]), c)
			}
			ch <- prometheus.MustNewConstMetric(queued, prometheus.GaugeValue, float64(st.QueuedBytes))
			ch <- prometheus.MustNewConstMetric(fullest, prometheus.GaugeValue, float64(st.MaxQueuedBytes))
		},
	})
}

// Bus is the state of the connection to the other instances.
type Bus interface {
	Connected() bool
	Reconnects() uint64
}

// WatchBus exports tim_bus_connected and tim_bus_reconnects_total.
func (m *Metrics) WatchBus(b Bus) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tim_bus_connected",
			Help: "1 while the connection to NATS (the bus between instances) is up, 0 while it reconnects.",
		}, func() float64 {
			if b.Connected() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tim_bus_reconnects_total",
			Help: "Times the connection to NATS came back after it was lost.",
		}, func() float64 { return float64(b.Reconnects()) }),
	)
}

// WatchPool exports the statistics of a PostgreSQL connection pool, named
// by the pool label, read from stat at each scrape.
func (m *Metrics) WatchPool(name string, stat func() store.PoolStats) {
	labels := prometheus.Labels{"pool": name}
	desc := func(metric, help string, varLabels ...string) *prometheus.Desc {
		return prometheus.NewDesc(metric, help, varLabels, labels)
	}
	conns := desc("tim_db_pool_connections", "Connections of the pool by state: acquired (in use), idle, constructing.", "state")
	maxConns := desc("tim_db_pool_max_connections", "Most connections the pool opens.")
	acquires := desc("tim_db_pool_acquires_total", "Connections acquired from the pool.")
	waits := desc("tim_db_pool_empty_acquires_total", "Acquires that had to wait because no connection was idle.")
	waitSeconds := desc("tim_db_pool_acquire_wait_seconds_total", "Time spent waiting in acquires that found no idle connection.")
	canceled := desc("tim_db_pool_canceled_acquires_total", "Acquires given up by their caller (context ended).")
	created := desc("tim_db_pool_new_connections_total", "Connections opened.")
	m.reg.MustRegister(collector{
		descs: []*prometheus.Desc{conns, maxConns, acquires, waits, waitSeconds, canceled, created},
		collect: func(ch chan<- prometheus.Metric) {
			s := stat()
			ch <- prometheus.MustNewConstMetric(conns, prometheus.GaugeValue, float64(s.Acquired), "acquired")
			ch <- prometheus.MustNewConstMetric(conns, prometheus.GaugeValue, float64(s.Idle), "idle")
			ch <- prometheus.MustNewConstMetric(conns, prometheus.GaugeValue, float64(s.Constructing), "constructing")
			ch <- prometheus.MustNewConstMetric(maxConns, prometheus.GaugeValue, float64(s.Max))
			ch <- prometheus.MustNewConstMetric(acquires, prometheus.CounterValue, float64(s.Acquires))
			ch <- prometheus.MustNewConstMetric(waits, prometheus.CounterValue, float64(s.EmptyAcquires))
			ch <- prometheus.MustNewConstMetric(waitSeconds, prometheus.CounterValue, s.EmptyAcquireWait.Seconds())
			ch <- prometheus.MustNewConstMetric(canceled, prometheus.CounterValue, float64(s.CanceledAcquires))
			ch <- prometheus.MustNewConstMetric(created, prometheus.CounterValue, float64(s.NewConns))
		},
	})
}

// collector emits metrics computed at scrape time.
type collector struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
