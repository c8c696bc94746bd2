// Package bus connects a Tim instance to NATS, the channel through which
// instances exchange committed messages, presence and socket-closing. With no
// URL it embeds a NATS server in-process, so one process needs nothing else
// and runs the same code path as a cluster.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Bus is a connection to NATS, and the embedded server when there is one.
type Bus struct {
	conn      *nats.Conn
	embedded  *server.Server
	clientURL string
	logger    *slog.Logger
	closed    chan struct{}
}

// Start connects to the NATS server at url, or, when url is empty, starts an
// embedded server on a random loopback port and connects to it.
func Start(ctx context.Context, url string, logger *slog.Logger) (*Bus, error) {
	b := &Bus{logger: logger, clientURL: url, closed: make(chan struct{})}
	if url == "" {
		srv, err := server.NewServer(&server.Options{
			Host:                  "127.0.0.1",
			Port:                  server.RANDOM_PORT,
			NoLog:                 true,
			NoSigs:                true,
			MaxPayload:            8 << 20,
			MaxPending:            256 << 20,
			WriteDeadline:         10 * time.Second,
			DisableShortFirstPing: true,
		})
		if err != nil {
			return nil, fmt.Errorf("create embedded nats server: %w", err)
		}
		go srv.Start()
		if !srv.ReadyForConnections(10 * time.Second) {
			srv.Shutdown()
			return nil, errors.New("embedded nats server did not start")
		}
		b.embedded = srv
		b.clientURL = srv.ClientURL()
	}
	conn, err := nats.Connect(b.clientURL,
		nats.Name("tim"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(64<<20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.WarnContext(ctx, "nats disconnected", slog.String("error", err.Error()))
			}
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.ReconnectHandler(func(*nats.Conn) { logger.InfoContext(ctx, "nats reconnected") }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			logger.ErrorContext(ctx, "nats error", slog.String("subject", subject), slog.String("error", err.Error()))
		}),
	)
	if err != nil {
		if b.embedded != nil {
			b.embedded.Shutdown()
		}
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	b.conn = conn
	logger.InfoContext(ctx, "connected to nats", slog.Bool("embedded", b.embedded != nil))
	return b, nil
}

// Conn returns the NATS connection.
func (b *Bus) Conn() *nats.Conn { return b.conn }

// ClientURL is where other instances connect to reach the same NATS.
func (b *Bus) ClientURL() string { return b.clientURL }

// Close drains the connection and stops the embedded server, if any.
func (b *Bus) Close() {
	if err := b.conn.Drain(); err != nil {
		b.conn.Close()
	}
	// Drain returns at once; wait until the connection is really closed.
	select {
	case <-b.closed:
	case <-time.After(5 * time.Second):
		b.conn.Close()
	}
	if b.embedded != nil {
		b.embedded.Shutdown()
		b.embedded.WaitForShutdown()
	}
}
