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
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"golang.org/x/time/rate"

	"tim/gen/api"
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
	history   *History
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
	writeTimeout  = 10 * time.Second
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
	s.history = &History{store: s.store, q: s.q}
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

// History serves the message history endpoints.
func (s *Service) History() *History { return s.history }

// Register mounts the three WebSocket channels on e.
func (s *Service) Register(e *echo.Echo) {
	e.GET("/websocket/OneToOne/:useraccount/:friendaccount", s.handleDirect)
	e.GET("/websocket/:GroupID/:UserAccount", s.handleGroup)
	e.GET("/websocket/:useraccount", s.handleUser)
}

// CloseSessions closes, on every instance, the sockets of account opened
// with token jti, or all of the account's sockets when jti is "".
func (s *Service) CloseSessions(ctx context.Context, account, jti string) error {
	data, err := json.Marshal(wireClose{Account: account, JTI: jti})
	if err != nil {
		return fmt.Errorf("encode close: %w", err)
	}
	if err := s.nc.Publish(subjectClose, data); err != nil {
		return fmt.Errorf("publish close: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, closeDeadline)
		defer cancel()
	}
	if err := s.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("flush close: %w", err)
	}
	return nil
}

func (s *Service) onClose(data []byte) {
	var w wireClose
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode close", slog.String("error", err.Error()))
		return
	}
	s.hub.closeMatching(w.Account, w.JTI, CloseLoggedOut, "logged out")
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

func (s *Service) cursorLoop(ctx context.Context) {
	t := time.NewTicker(cursorFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.cursors.flush(context.WithoutCancel(ctx), s.q); err != nil {
				s.logger.Error("flush cursors", slog.String("error", err.Error()))
			}
			return
		case <-t.C:
			if err := s.cursors.flush(ctx, s.q); err != nil {
				s.logger.ErrorContext(ctx, "flush cursors", slog.String("error", err.Error()))
			}
		}
	}
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

// publishMessages runs in the committer goroutine after each commit: it
// encodes every frame once and publishes the batch in commit order.
func (s *Service) publishMessages(msgs []chat.Message) {
	buf := make([]byte, 0, 4096)
	for _, m := range msgs {
		w := wireMessage{Conv: m.Conv, Seq: m.Seq, Sender: m.Sender, Recipient: m.Recipient, GroupID: m.GroupID, Frame: encodeMessage(m)}
		buf = appendWireMessage(buf, &w)
		if len(buf) >= maxNATSBatch {
			s.publishRaw(subjectMessages, buf)
			buf = make([]byte, 0, 4096)
		}
	}
	if len(buf) > 0 {
		s.publishRaw(subjectMessages, buf)
	}
}

// publishRaw sends data on subject; delivery is best effort, as publish's.
func (s *Service) publishRaw(subject string, data []byte) {
	if err := s.nc.Publish(subject, data); err != nil {
		s.logger.Error("publish", slog.String("subject", subject), slog.String("error", err.Error()))
	}
}

func (s *Service) onMessages(data []byte) {
	var groups []int64
	err := decodeWireMessages(data, func(w *wireMessage) {
		if w.GroupID != 0 && !slices.Contains(groups, w.GroupID) {
			groups = append(groups, w.GroupID)
		}
		s.hub.deliverMessage(w)
	})
	if err != nil {
		s.logger.Error("decode messages", slog.String("error", err.Error()))
	}
	if len(groups) > 0 {
		s.watchMu.Lock()
		for _, g := range groups {
			s.watched[g] = struct{}{}
		}
		s.watchMu.Unlock()
	}
}

// Handshake.

type handshake struct {
	ch      channel
	claims  auth.Claims
	peer    string
	groupID int64
}

func (s *Service) handleUser(c echo.Context) error {
	return s.open(c, channelUser, c.Param("useraccount"), "", "")
}

func (s *Service) handleDirect(c echo.Context) error {
	return s.open(c, channelDirect, c.Param("useraccount"), c.Param("friendaccount"), "")
}

func (s *Service) handleGroup(c echo.Context) error {
	return s.open(c, channelGroup, c.Param("UserAccount"), "", c.Param("GroupID"))
}

func refuse(c echo.Context, code int, msg string) error {
	return c.JSON(code, api.Envelope{Code: int32(code), Message: msg})
}

func (s *Service) open(c echo.Context, ch channel, account, peer, group string) error {
	s.stateMu.Lock()
	if s.closing {
		s.stateMu.Unlock()
		return refuse(c, http.StatusServiceUnavailable, "服务器正在关闭")
	}
	s.sockets.Add(1)
	s.stateMu.Unlock()
	handedOff := false // the socket's reader took over the reservations
	defer func() {
		if !handedOff {
			s.sockets.Done()
		}
	}()

	ctx := c.Request().Context()
	h := handshake{ch: ch, peer: peer}
	if ch == channelGroup {
		id, err := strconv.ParseInt(group, 10, 64)
		if err != nil || id < 1 {
			return refuse(c, http.StatusBadRequest, "群ID必须是正整数")
		}
		h.groupID = id
	}
	// Behind the HTTP stack's authenticator the token is already verified;
	// verify it here only when that did not succeed.
	claims, ok := auth.FromContext(ctx)
	var err error
	if !ok {
		tok, _ := auth.TokenFromRequest(c.Request())
		claims, err = s.verifier.Verify(ctx, tok)
	}
	switch {
	case errors.Is(err, auth.ErrNoToken), errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrExpiredToken), errors.Is(err, auth.ErrRevokedToken):
		return refuse(c, http.StatusUnauthorized, "身份未认证")
	case err != nil:
		return fmt.Errorf("verify token: %w", err)
	}
	h.claims = claims
	if account != claims.Account {
		return refuse(c, http.StatusForbidden, "无权使用其他账号的连接")
	}
	switch ch {
	case channelDirect:
		ok, err := s.q.FriendshipExists(ctx, db.FriendshipExistsParams{Account: account, Friend: peer})
		if err != nil {
			return fmt.Errorf("check friendship: %w", err)
		}
		if !ok {
			return refuse(c, http.StatusForbidden, "对方不是你的好友")
		}
	case channelGroup:
		if _, err := s.q.GroupGet(ctx, h.groupID); err != nil {
			if errors.Is(store.Translate(err), store.ErrNotFound) {
				return refuse(c, http.StatusNotFound, "群不存在")
			}
			return fmt.Errorf("read group: %w", err)
		}
		ok, err := s.q.GroupMemberExists(ctx, db.GroupMemberExistsParams{GroupID: h.groupID, Account: account})
		if err != nil {
			return fmt.Errorf("check membership: %w", err)
		}
		if !ok {
			return refuse(c, http.StatusForbidden, "你不是该群成员")
		}
	}
	if !s.hub.reserve(account, s.cfg.SocketsPerUser) {
		return refuse(c, http.StatusTooManyRequests, "连接数已达上限")
	}
	hw := &hijackWrapper{ResponseWriter: c.Response()}
	conn, err := s.upgrader.Upgrade(hw, c.Request(), nil)
	if err != nil {
		s.hub.release(account)
		return nil // the upgrader answered the client
	}
	// The socket's reader and writer live on in their own goroutines with
	// small stacks; this handler's goroutine, with the HTTP server's buffers
	// and its deep stack, ends after the open sequence.
	so := s.start(conn, hw.conn, h, c.QueryParam("ack") == "1")
	handedOff = true
	go func() {
		defer s.sockets.Done()
		defer s.hub.release(account)
		s.serve(conn, so)
	}()
	return nil
}

func (s *Service) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// Socket life.

// start creates the socket, starts its writer and runs the open sequence.
func (s *Service) start(conn *websocket.Conn, raw *coalescingConn, h handshake, ackMode bool) *socket {
	so := newSocket(wsTransport{c: conn, raw: raw}, s, s.cfg.SocketQueue, writeTimeout, s.cfg.PingInterval)
	so.id = s.nextID.Add(1)
	so.account, so.jti, so.ch, so.ackMode = h.claims.Account, h.claims.JTI, h.ch, ackMode
	switch h.ch {
	case channelDirect:
		so.peer, so.conv = h.peer, chat.DirectKey(h.claims.Account, h.peer)
	case channelGroup:
		so.groupID, so.conv = h.groupID, chat.GroupKey(h.groupID)
	}
	go so.writeLoop()
	s.hub.open(so)
	if err := s.openSequence(so); err != nil {
		s.logger.Error("open socket", slog.String("account", so.account), slog.String("error", err.Error()))
		so.close(CloseInternal, "internal error")
	}
	return so
}

// serve is the socket's reader: it runs the read loop while the writer
// goroutine owns every write, then unregisters the socket.
func (s *Service) serve(conn *websocket.Conn, so *socket) {
	defer s.hub.end(so)
	s.readLoop(conn, so)
	close(so.readerDone)
	<-so.writerDone

	if so.counted {
		s.presence.add(so.account, -1)
	}
	if so.registered {
		s.hub.remove(so)
		if so.ch == channelGroup {
			if _, err := s.groupPresence(s.ctx, so, false); err != nil {
				s.logger.Error("group presence", slog.String("error", err.Error()))
			}
		}
	}
}

// openSequence sends the opening frames, registers the socket for live
// traffic and then starts the replay from its cursors, so that nothing falls
// between the two.
func (s *Service) openSequence(so *socket) error {
	ctx := s.ctx
	// The account is online, for its friends and every instance, before
	// the client sees its socket open.
	change := s.presence.add(so.account, 1)
	so.counted = true
	wait, cancel := context.WithTimeout(ctx, closeDeadline)
	s.presence.waitWritten(wait, change)
	cancel()
	so.sendControl(mustJSON(api.ConnectedFrame{Code: 200, Message: api.Empty}))
	var groups []int64
	switch so.ch {
	case channelUser:
		users, err := s.onlineFriends(ctx, so.account)
		if err != nil {
			return err
		}
		so.sendControl(mustJSON(api.UsersFrame{Users: users}))
		so.presenceReady()
		if groups, err = s.q.GroupMemberGroupIDs(ctx, so.account); err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
	case channelGroup:
		frames, err := s.groupPresence(ctx, so, true)
		if err != nil {
			return err
		}
		for _, f := range frames {
			so.sendControl(f)
		}
	}
	so.dmu.Lock()
	if len(groups) > 0 {
		so.groups = make(map[int64]bool, len(groups))
	}
	for _, g := range groups {
		so.groups[g] = true
	}
	so.dmu.Unlock()
	s.hub.add(so, groups)
	so.registered = true // serve undoes this, even if the rest fails

	cursors := map[string]int64{}
	if so.ch == channelUser {
		rows, err := s.q.DeliveryCursorListForAccount(ctx, so.account)
		if err != nil {
			return fmt.Errorf("list cursors: %w", err)
		}
		for _, r := range rows {
			cursors[r.Conv] = r.DeliveredSeq
		}
	} else {
		c, err := s.q.DeliveryCursorGet(ctx, db.DeliveryCursorGetParams{Account: so.account, Conv: so.conv})
		if err != nil {
			return fmt.Errorf("read cursor: %w", err)
		}
		cursors[so.conv] = c
	}
	so.dmu.Lock()
	for conv, c := range cursors {
		st := so.convs[conv]
		if st == nil {
			st = &convState{}
			so.setConv(conv, st)
		}
		st.last = max(c, s.cursors.pending(so.account, conv))
	}
	// Every conversation, including those that appeared during the open,
	// is read from the database first.
	for conv, st := range so.convs {
		if _, known := cursors[conv]; !known {
			st.last = s.cursors.pending(so.account, conv)
		}
		st.catching = true
	}
	so.replaying = false
	so.startCatchUpLocked()
	so.dmu.Unlock()
	return nil
}

func (s *Service) onlineFriends(ctx context.Context, account string) ([]api.OnlineUser, error) {
	friends, err := s.q.FriendAccounts(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("list friends: %w", err)
	}
	rows, err := s.q.UserProfiles(ctx, db.UserProfilesParams{Accounts: append(friends, account), PresenceTimeoutSecs: s.cfg.PresenceTimeout.Seconds()})
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	users := []api.OnlineUser{}
	for _, r := range rows {
		if r.Account == account {
			users = append([]api.OnlineUser{{Account: r.Account, Username: r.Username}}, users...)
		} else if r.Online {
			users = append(users, api.OnlineUser{Account: r.Account, Username: r.Username})
		}
	}
	return users, nil
}

func (s *Service) readLoop(conn *websocket.Conn, so *socket) {
	alive := func() { _ = conn.SetReadDeadline(time.Now().Add(s.cfg.PongTimeout)) }
	conn.SetReadLimit(s.cfg.MaxFrameBytes)
	alive()
	conn.SetPongHandler(func(string) error { alive(); return nil })
	conn.SetPingHandler(func(data string) error { alive(); so.pong([]byte(data)); return nil })
	conn.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			code = CloseNormal
		}
		so.close(code, "")
		return nil
	})
	limiter := rate.NewLimiter(rate.Limit(s.cfg.SendRate), s.cfg.SendBurst)
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				so.closedByLibrary(CloseTooBig)
			} else {
				so.close(CloseNormal, "")
			}
			return
		}
		alive()
		if so.closing() {
			continue
		}
		if !limiter.Allow() {
			so.sendControl(encodeError(http.StatusTooManyRequests, "发送过于频繁", ""))
			continue
		}
		if mt != websocket.TextMessage {
			so.sendControl(encodeError(http.StatusBadRequest, "只接受文本帧", ""))
			continue
		}
		s.handleFrame(so, data)
	}
}

func (s *Service) handleFrame(so *socket, data []byte) {
	f, err := decodeClientFrame(so.ch, data)
	if err != nil {
		var fe *frameError
		if errors.As(err, &fe) {
			so.sendControl(encodeError(fe.code, fe.message, ""))
		}
		return
	}
	switch f.kind {
	case frameSend:
		send := chat.Send{Sender: so.account, To: f.to, GroupID: f.groupID, Kind: f.msgKind, Body: f.text, ClientMsgID: f.clientMsgID}
		if f.to == "" && f.groupID == 0 {
			send.To, send.GroupID = so.peer, so.groupID
		}
		s.committer.SendAsync(send, func(m chat.Message, err error) {
			switch {
			case err == nil:
				so.sendControl(encodeAck(m))
			case errors.Is(err, chat.ErrForbidden) && send.GroupID != 0:
				so.sendControl(encodeError(http.StatusForbidden, "你不是该群成员", send.ClientMsgID))
			case errors.Is(err, chat.ErrForbidden):
				so.sendControl(encodeError(http.StatusForbidden, "对方不是你的好友", send.ClientMsgID))
			case errors.Is(err, chat.ErrClosed):
				so.sendControl(encodeError(http.StatusServiceUnavailable, "服务器正在关闭", send.ClientMsgID))
			default:
				so.sendControl(encodeError(http.StatusInternalServerError, "发送失败", send.ClientMsgID))
			}
		})
	case frameAck:
		if !so.ackMode {
			so.sendControl(encodeError(http.StatusBadRequest, "连接时未声明ack=1", ""))
			return
		}
		conv, ok := s.socketConv(so, f)
		if !ok {
			so.sendControl(encodeError(http.StatusForbidden, "无权确认该会话", ""))
			return
		}
		so.dmu.Lock()
		var last int64
		if st := so.convs[conv]; st != nil {
			last = st.last
		}
		so.dmu.Unlock()
		if seq := min(f.seq, last); seq > 0 {
			s.cursors.advance(so.account, conv, seq)
		}
	case frameSync:
		conv, ok := s.socketConv(so, f)
		if !ok {
			so.sendControl(encodeError(http.StatusForbidden, "无权同步该会话", ""))
			return
		}
		so.rewind(conv, f.seq)
	}
}

// socketConv is the conversation an ack or sync frame names, if the socket
// receives it.
func (s *Service) socketConv(so *socket, f clientFrame) (string, bool) {
	var conv string
	if f.groupID != 0 {
		conv = chat.GroupKey(f.groupID)
	} else {
		conv = chat.DirectKey(so.account, f.to)
	}
	if so.ch != channelUser {
		return conv, conv == so.conv
	}
	if f.groupID != 0 {
		so.dmu.Lock()
		defer so.dmu.Unlock()
		return conv, so.groups[f.groupID]
	}
	return conv, f.to != so.account
}

// socketHooks.

func (s *Service) written(so *socket, frames []outFrame) {
	if !so.ackMode {
		s.cursors.advanceWritten(so.account, frames)
	}
}

func (s *Service) startCatchUp(so *socket) {
	s.sockets.Add(1)
	go func() {
		defer s.sockets.Done()
		s.catchUp(so)
	}()
}

// catchUp reads from the database what so has not received in the
// conversations it is catching up on, queues it in seq order, and hands each
// conversation back to live delivery once it reached the newest seq seen.
func (s *Service) catchUp(so *socket) {
	stop := func() {
		so.dmu.Lock()
		so.catching = false
		so.dmu.Unlock()
	}
	for {
		so.dmu.Lock()
		var conv string
		var st *convState
		for k, v := range so.convs {
			if v.catching {
				conv, st = k, v
				break
			}
		}
		if st == nil {
			so.catching = false
			so.dmu.Unlock()
			return
		}
		from, gen := st.last, st.gen
		so.dmu.Unlock()

		msgs, err := s.store.After(s.ctx, conv, from, catchUpPage)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				s.logger.Error("catch up", slog.String("conv", conv), slog.String("error", err.Error()))
			}
			so.close(CloseInternal, "internal error")
			stop()
			return
		}
		for _, m := range msgs {
			if !so.enqueueWait(outFrame{data: encodeMessage(m), conv: conv, seq: m.Seq}) {
				stop()
				return
			}
			so.dmu.Lock()
			rewound := st.gen != gen
			if !rewound {
				st.last = m.Seq
			}
			so.dmu.Unlock()
			if rewound {
				break
			}
		}
		so.dmu.Lock()
		if st.gen == gen && len(msgs) < catchUpPage {
			// Everything committed up to the read is queued; a live seq seen
			// meanwhile is committed too, so it was in the read.
			if st.last < st.maxSeen {
				s.logger.Error("catch up missed a live message", slog.String("conv", conv), slog.Int64("last", st.last), slog.Int64("seen", st.maxSeen))
			}
			st.catching = false
		}
		so.dmu.Unlock()
	}
}
