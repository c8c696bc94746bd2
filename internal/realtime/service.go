// Package realtime serves Tim's WebSocket channels: it authenticates the
// handshake, commits sends through the chat committer, fans committed
// messages out to every instance over NATS, replays what each socket has not
// received, and tracks presence across instances.
package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"

	"tim/gen/db"
	"tim/internal/auth"
	"tim/internal/bus"
	"tim/internal/chat"
	"tim/internal/config"
	"tim/internal/store"
)

// Deps are what the service needs.
type Deps struct {
	Config   config.Config
	Pool     *pgxpool.Pool
	Verifier *auth.Verifier
	Bus      *bus.Bus
	Logger   *slog.Logger
}

// Service is the realtime side of one Tim instance.
type Service struct {
	cfg        config.Config
	pool       *pgxpool.Pool
	q          *db.Queries
	verifier   *auth.Verifier
	nc         *nats.Conn
	logger     *slog.Logger
	instanceID string

	store     *chat.Store
	committer *chat.Committer
	hub       *hub
	cursors   *cursorBook
	presence  *presenceBook
	upgrader  websocket.Upgrader
	subs      []*nats.Subscription
	nextID    atomic.Uint64

	groupMu    sync.Mutex
	groupLocal map[groupMember]int

	watchMu    sync.Mutex
	watched    map[int64]struct{} // groups with messages since the last membership check
	watchEvery time.Duration

	ctx      context.Context // ends at Shutdown, after the sockets closed
	cancel   context.CancelFunc
	bg       sync.WaitGroup // cursor flusher, presence worker and membership checker
	sockets  sync.WaitGroup // handlers and catch-up goroutines
	stateMu  sync.Mutex     // guards closing against sockets.Add
	closing  bool
	shutdown sync.Once
}

const (
	// closeWriteTimeout bounds writing the close frame.
	closeWriteTimeout = 2 * time.Second
	// confirmDelay is how long after writing message frames to a socket
	// without ack mode the server pings it to confirm them: the delivery
	// cursor trails what the client read by about this much.
	confirmDelay  = time.Second
	cursorFlush   = 200 * time.Millisecond
	catchUpPage   = 256
	maxNATSBatch  = 512 << 10
	closeDeadline = 5 * time.Second
	// membershipCheck is how often the members of groups with traffic are
	// compared with the user sockets receiving them.
	membershipCheck = time.Second
)

// New starts the service: the committer, the presence worker with the
// instance heartbeat, the cursor flusher and the NATS subscriptions.
func New(ctx context.Context, d Deps) (*Service, error) {
	id := d.Config.InstanceID
	if id == "" {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("make instance id: %w", err)
		}
		id = hex.EncodeToString(b[:])
	}
	s := &Service{
		cfg: d.Config, pool: d.Pool, q: db.New(d.Pool), verifier: d.Verifier, nc: d.Bus.Conn(),
		logger: d.Logger.With(slog.String("instance", id)), instanceID: id,
		store: chat.NewStore(d.Pool), hub: newHub(), cursors: newCursorBook(), presence: newPresenceBook(),
		groupLocal: map[groupMember]int{}, watched: map[int64]struct{}{}, watchEvery: membershipCheck,
	}
	s.upgrader = websocket.Upgrader{
		// A small read buffer of the socket's own (the HTTP server's 4 KiB
		// one is dropped with the handler); write buffers are pooled.
		ReadBufferSize: 512, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{},
		HandshakeTimeout: 10 * time.Second, CheckOrigin: s.checkOrigin,
	}
	// Rows left by an earlier run under the same id are stale.
	if err := store.InTx(ctx, d.Pool, func(q *db.Queries) error {
		if err := q.InstanceHeartbeat(ctx, id); err != nil {
			return err
		}
		if err := q.PresenceDeleteInstance(ctx, id); err != nil {
			return err
		}
		return q.GroupPresenceDeleteInstance(ctx, id)
	}); err != nil {
		return nil, fmt.Errorf("register instance: %w", err)
	}
	for subject, fn := range map[string]func([]byte){
		subjectMessages: s.onMessages, subjectPresence: s.onPresence, subjectGroup: s.onGroup, subjectClose: s.onClose,
	} {
		sub, err := s.nc.Subscribe(subject, func(m *nats.Msg) { fn(m.Data) })
		if err != nil {
			s.unsubscribe()
			return nil, fmt.Errorf("subscribe %s: %w", subject, err)
		}
		if err := sub.SetPendingLimits(-1, 512<<20); err != nil {
			s.unsubscribe()
			return nil, fmt.Errorf("set pending limits: %w", err)
		}
		s.subs = append(s.subs, sub)
	}
	if err := s.nc.FlushTimeout(5 * time.Second); err != nil {
		s.unsubscribe()
		return nil, fmt.Errorf("flush nats subscriptions: %w", err)
	}
	s.committer = chat.NewCommitter(d.Pool, s.logger, s.publishMessages)
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.bg.Add(3)
	go func() { defer s.bg.Done(); s.presenceLoop(s.ctx) }()
	go func() { defer s.bg.Done(); s.membershipLoop(s.ctx) }()
	go func() { defer s.bg.Done(); s.cursorLoop(s.ctx) }()
	s.logger.InfoContext(ctx, "realtime started")
	return s, nil
}

// Register mounts the three WebSocket channels on e.
func (s *Service) Register(e *echo.Echo) {
	e.GET("/websocket/OneToOne/:useraccount/:friendaccount", s.handleDirect)
	e.GET("/websocket/:GroupID/:UserAccount", s.handleGroup)
	e.GET("/websocket/:useraccount", s.handleUser)
}

// Shutdown stops accepting sockets, closes the open ones with 1001 once
// their queued frames are written, commits the sends in flight, writes the
// cursors and removes this instance's presence.
func (s *Service) Shutdown(ctx context.Context) error {
	var err error
	s.shutdown.Do(func() { err = s.doShutdown(ctx) })
	return err
}

func (s *Service) doShutdown(ctx context.Context) error {
	s.stateMu.Lock()
	s.closing = true
	s.stateMu.Unlock()
	s.hub.closeAll(CloseGoingAway, "server shutting down")
	done := make(chan struct{})
	go func() { s.sockets.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("wait for sockets: %w", ctx.Err()))
	}
	s.committer.Close()
	s.cancel()
	s.bg.Wait()
	s.unsubscribe()
	if err := s.q.InstanceDelete(context.WithoutCancel(ctx), s.instanceID); err != nil {
		errs = append(errs, fmt.Errorf("remove instance: %w", err))
	}
	s.logger.InfoContext(ctx, "realtime stopped")
	return errors.Join(errs...)
}

func (s *Service) unsubscribe() {
	for _, sub := range s.subs {
		_ = sub.Unsubscribe() // fails only when the connection is closed
	}
	s.subs = nil
}

// publish sends v on subject; delivery is best effort, since every message
// is durable and sockets catch up from the database.
func (s *Service) publish(subject string, v any) {
	data, err := json.Marshal(v)
	if err == nil {
		err = s.nc.Publish(subject, data)
	}
	if err != nil {
		s.logger.Error("publish", slog.String("subject", subject), slog.String("error", err.Error()))
	}
}
