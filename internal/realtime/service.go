// Package realtime serves Tim's WebSocket channels: it authenticates the
// handshake, commits sends through the message committer, fans committed
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
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"

	"tim/internal/auth"
	"tim/internal/bus"
	"tim/internal/config"
	"tim/internal/messages"
	"tim/internal/store"
	"tim/internal/testsignal"
)

// Settings are the service's settings: the configuration's realtime
// section, where each has its TIM_* variable and default, and two more.
type Settings struct {
	config.Realtime
	// AllowedOrigins are the browser origins allowed to open WebSockets
	// besides same-origin and clients that send no Origin; "*" allows any.
	// They are the HTTP section's, which CORS follows too.
	AllowedOrigins []string
	// HealEvery is how often the instance reads the conversations that
	// took a message at least HealEvery ago (half as much again, for the
	// committer's change marks) and catches up the local sockets the bus
	// left behind in them. Zero: 2 s.
	HealEvery time.Duration
	// BroadcastWait bounds the wait for every other live instance to apply
	// a change of rights. Zero: 5 s.
	BroadcastWait time.Duration
}

// Deps are what the service needs.
type Deps struct {
	Settings Settings
	Store    *store.Store
	Verifier *auth.Verifier
	Bus      *bus.Bus
	Logger   *slog.Logger
	// Metrics, if set, receives the service's measurements.
	Metrics Observer
	// Reads stores the read cursors that read frames move; its owner
	// closes it after Shutdown.
	Reads *messages.Reads
}

// Service is the realtime side of one Tim instance.
type Service struct {
	cfg        Settings
	q          *store.Store
	verifier   *auth.Verifier
	nc         *nats.Conn
	logger     *slog.Logger
	instanceID string
	obs        Observer
	// upgraded, for tests, is called between a socket's upgrade (its
	// client sees it open) and its open sequence.
	upgraded atomic.Pointer[func(handshake)]

	reader    *messages.Reader
	recaller  *messages.Recaller
	committer *messages.Committer
	reads     *messages.Reads // read cursors (receipts.go)
	hub       *hub
	// commit is the committer goroutine's batch state.
	commit   commitBatch
	cursors  *cursorBook
	presence *presence    // presence.go
	typing   *typingRelay // typing.go
	upgrader websocket.Upgrader
	subs     []*nats.Subscription
	// heard is the inbox where the instances that let a broadcast's wait
	// run out answer later ones; silent holds them until one answers
	// (access.go).
	heard    string
	silentMu sync.Mutex
	silent   map[string]bool
	rewind   chan time.Duration // to the changes loop: look back over an outage
	unhook   []func()           // unregisters the bus callbacks
	nextID   atomic.Uint64

	// confirmPinged tells a test of the confirming pings (socket.go).
	confirmPinged testsignal.Signal[confirmPing]
	// broadcasted tells a test what each broadcast of a change of rights
	// asked and heard (access.go).
	broadcasted testsignal.Signal[broadcastTrace]

	ctx      context.Context // ends at Shutdown, after the sockets closed
	cancel   context.CancelFunc
	bg       sync.WaitGroup // cursor flusher, presence worker and rights checker
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
	confirmDelay = time.Second
	cursorFlush  = 200 * time.Millisecond
	catchUpPage  = 256
	maxNATSBatch = 512 << 10
	// defaultBroadcastWait is Settings.BroadcastWait's when zero.
	defaultBroadcastWait = 5 * time.Second
	// presenceWait bounds how long an opening socket waits for its
	// account's presence to be written.
	presenceWait = 5 * time.Second
	// recheckEvery is how often the rights of open sockets are re-read from
	// the database, in case a change event was lost; while the bus is down,
	// Settings.RightsRecheckDegraded.
	recheckEvery = time.Minute
	// defaultRecheckDegraded is Settings.RightsRecheckDegraded's when zero.
	defaultRecheckDegraded = 2 * time.Second
)

// New starts the service: the committer, the presence worker with the
// instance heartbeat, the cursor flusher and the NATS subscriptions.
func New(ctx context.Context, d Deps) (*Service, error) {
	// Every run is its own incarnation, even under a configured id, so
	// that the presence of a crashed run is reaped and announced offline.
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("make instance id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	if d.Settings.InstanceID != "" {
		id = d.Settings.InstanceID + "-" + id
	}
	s := &Service{
		cfg: d.Settings, q: d.Store, verifier: d.Verifier, nc: d.Bus.Conn(),
		logger: d.Logger.With(slog.String("instance", id)), instanceID: id,
		reader: messages.NewReader(d.Store), recaller: messages.NewRecaller(d.Store), hub: newHub(), cursors: newCursorBook(),
		rewind: make(chan time.Duration, 1), obs: observerOr(d.Metrics),
		heard: nats.NewInbox(), silent: map[string]bool{},
	}
	if s.cfg.BroadcastWait <= 0 {
		s.cfg.BroadcastWait = defaultBroadcastWait
	}
	s.presence = newPresence(d.Store, s.hub, s.publish, s.logger, id, d.Settings.PresenceTimeout)
	s.typing = newTypingRelay(d.Store, s.hub, s.publish, s.logger)
	s.upgrader = websocket.Upgrader{
		// A small read buffer of the socket's own (the HTTP server's 4 KiB
		// one is dropped with the handler); write buffers are pooled.
		ReadBufferSize: 512, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{},
		HandshakeTimeout: 10 * time.Second, CheckOrigin: s.checkOrigin,
	}
	if err := s.q.InstanceHeartbeat(ctx, id); err != nil {
		return nil, fmt.Errorf("register instance: %w", err)
	}
	// Changes of rights are asked of each instance by its id (access.go):
	// a request to an instance gone from the bus fails at once.
	for subject, fn := range map[string]func([]byte){
		subjectMessages: s.onMessages, subjectPresence: s.presence.onPresence, subjectGroup: s.presence.onGroup,
		subjectClose + "." + id: s.onClose, subjectMember + "." + id: s.onMember, subjectFriend + "." + id: s.onFriend,
		// Instances of earlier versions broadcast on, and listen to, the
		// bare subjects; during a rolling upgrade both kinds hear each
		// other (see await).
		subjectClose: s.onClose, subjectMember: s.onMember, subjectFriend: s.onFriend,
		subjectPublish: s.onPublish, subjectTyping: s.typing.onTyping,
	} {
		sub, err := s.nc.Subscribe(subject, func(m *nats.Msg) {
			fn(m.Data)
			if m.Reply != "" {
				_ = m.Respond([]byte(id)) // applied; a lost answer only delays the broadcaster
			}
		})
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
	heard, err := s.nc.Subscribe(s.heard, func(m *nats.Msg) { s.answered(string(m.Data)) })
	if err != nil {
		s.unsubscribe()
		return nil, fmt.Errorf("subscribe %s: %w", s.heard, err)
	}
	s.subs = append(s.subs, heard)
	if err := s.nc.FlushTimeout(5 * time.Second); err != nil {
		s.unsubscribe()
		return nil, fmt.Errorf("flush nats subscriptions: %w", err)
	}
	heal := d.Settings.HealEvery
	if heal <= 0 {
		heal = defaultHealEvery
	}
	committer, err := messages.NewCommitter(ctx, d.Store, s.logger, s.publishCommitted, d.Settings.CommitTimeout,
		messages.WithObserver(s.obs.Committed), messages.WithBatchEnd(s.commit.end), messages.WithChangeMarks(heal/2))
	if err != nil {
		s.unsubscribe()
		return nil, err
	}
	s.committer = committer
	s.reads = d.Reads
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var down time.Time // when the bus went down; the bus runs its callbacks one at a time
	s.unhook = append(s.unhook,
		d.Bus.OnDisconnect(func() { down = time.Now() }),
		d.Bus.OnReconnect(func() {
			outage := time.Duration(0)
			if !down.IsZero() {
				outage = time.Since(down)
			}
			s.logger.WarnContext(s.ctx, "bus reconnected: catching up", slog.Duration("outage", outage))
			s.busReconnected(outage)
		}),
	)
	s.bg.Add(4)
	go func() { defer s.bg.Done(); s.changesLoop(s.ctx, s.rewind, heal) }()
	go func() { defer s.bg.Done(); s.presence.loop(s.ctx) }()
	degraded := d.Settings.RightsRecheckDegraded
	if degraded <= 0 {
		degraded = defaultRecheckDegraded
	}
	go func() { defer s.bg.Done(); s.recheckLoop(s.ctx, degraded) }()
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
	s.hub.shutdown()
	done := make(chan struct{})
	go func() { s.sockets.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("wait for sockets: %w", ctx.Err()))
	}
	for _, f := range s.unhook {
		f()
	}
	committed := make(chan struct{})
	go func() { s.committer.Close(); close(committed) }()
	select {
	case <-committed:
	case <-ctx.Done():
		// The database stalls: fail what is left rather than outlive the
		// shutdown timeout. Those senders got no ack and resend.
		s.committer.Abort()
		<-committed
		errs = append(errs, fmt.Errorf("commit in-flight sends: %w", ctx.Err()))
	}
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
		s.logger.Error("publish", slog.String("subject", subject), slog.Any("err", err))
	}
}
