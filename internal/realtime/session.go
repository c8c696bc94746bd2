package realtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"tim/internal/messages"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// start creates the socket, starts its writer and runs the open sequence.
func (s *Service) start(conn *websocket.Conn, raw *coalescingConn, h handshake, ackMode bool) *socket {
	so := newSocket(wsTransport{c: conn, raw: raw}, s, socketOptions{
		queueBytes: s.cfg.SocketQueueBytes, writeTimeout: s.cfg.WriteTimeout, closeTimeout: closeWriteTimeout,
		pingInterval: s.cfg.PingInterval, confirmDelay: confirmDelay, observer: s.obs, pinged: &s.confirmPinged,
	})
	so.id = s.nextID.Add(1)
	so.account, so.jti, so.generation, so.ch, so.ackMode = h.claims.Account, h.claims.JTI, h.claims.Generation, h.ch, ackMode
	so.openEpoch = h.epoch
	switch h.ch {
	case channelDirect:
		so.peer, so.conv = h.peer, messages.DirectKey(h.claims.Account, h.peer)
	case channelGroup:
		so.groupID, so.conv = h.groupID, messages.GroupKey(h.groupID)
	}
	go so.writeLoop()
	// A socket lives no longer than its token.
	so.expiry = time.AfterFunc(time.Until(h.claims.ExpiresAt), func() { so.disconnect(disconnectExpired) })
	s.hub.open(so, h.wait)
	if err := s.openSequence(so); err != nil {
		s.logger.ErrorContext(s.ctx, "open socket", slog.String("account", so.account), slog.Any("err", err))
		so.disconnect(disconnectInternal)
	}
	return so
}

// serve is the socket's reader: it runs the read loop while the writer
// goroutine owns every write, then unregisters the socket.
func (s *Service) serve(conn *websocket.Conn, so *socket) {
	defer s.hub.end(so)
	s.readLoop(conn, so)
	so.expiry.Stop()
	close(so.readerDone)
	<-so.writerDone

	if so.counted {
		s.presence.closed(so.account)
	}
	if so.registered {
		s.hub.remove(so)
		if so.ch == channelGroup {
			if _, err := s.presence.group(s.ctx, so.groupID, so.account, so.id, false); err != nil {
				s.logger.ErrorContext(s.ctx, "group presence", slog.Any("err", err))
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
	s.presence.opened(ctx, so.account)
	so.counted = true
	var groups []int64
	if so.ch == channelUser {
		var err error
		if groups, err = s.q.GroupMemberGroupIDs(ctx, so.account); err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
	}
	if so.ch != channelGroup {
		// Registered before the client sees the socket open, so that a
		// message sent after the connected frame reaches this socket (live,
		// or held for its replay), whatever the account's other sockets do
		// to the shared cursor meanwhile.
		s.register(so, groups)
	}
	so.sendControl(frame.EncodeConnected())
	if err := s.sendOpeningPresence(ctx, so); err != nil {
		return err
	}
	if so.ch == channelGroup {
		s.register(so, nil)
	}
	if s.hub.epoch(so.account) != so.openEpoch {
		// A change of rights was applied while the socket opened: it may
		// have missed the socket, so check the rights again.
		if err := s.recheck(ctx, []*socket{so}); err != nil {
			return err
		}
	}
	cursors, lastSeqs, err := s.openCursors(ctx, so)
	if err != nil {
		return err
	}
	s.startReplay(so, cursors, lastSeqs)
	return nil
}

// register records so, with the groups its account is a member of for a
// user socket, in the hub for live traffic.
func (s *Service) register(so *socket, groups []int64) {
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
}

// sendOpeningPresence queues the opening presence frames: a user socket's users
// list, a group socket's group.presence and group.online; then the
// presence frames held meanwhile.
func (s *Service) sendOpeningPresence(ctx context.Context, so *socket) error {
	switch so.ch {
	case channelUser:
		users, err := s.presence.friendsOnline(ctx, so.account)
		if err != nil {
			return err
		}
		so.sendControl(frame.EncodeUsers(users))
		so.presenceReady()
	case channelGroup:
		frames, err := s.presence.group(ctx, so.groupID, so.account, so.id, true)
		if err != nil {
			return err
		}
		for _, f := range frames {
			so.sendControl(f)
		}
		so.presenceReady()
	}
	return nil
}

// openCursors reads the delivery cursors of what so carries, by
// conversation, and for a user socket the newest seq of each at the time of
// the read (a conversation missing there is read from the database).
func (s *Service) openCursors(ctx context.Context, so *socket) (cursors, lastSeqs map[string]int64, err error) {
	cursors = map[string]int64{}
	lastSeqs = map[string]int64{}
	if so.ch != channelUser {
		c, err := s.q.DeliveryCursorGet(ctx, so.account, so.conv)
		if err != nil {
			return nil, nil, fmt.Errorf("read cursor: %w", err)
		}
		cursors[so.conv] = c
		return cursors, lastSeqs, nil
	}
	rows, err := s.q.DeliveryCursorListForAccount(ctx, so.account)
	if err != nil {
		return nil, nil, fmt.Errorf("list cursors: %w", err)
	}
	for _, r := range rows {
		cursors[r.Conv] = r.DeliveredSeq
		lastSeqs[r.Conv] = r.LastSeq
	}
	return cursors, lastSeqs, nil
}

// startReplay sets where so's replay of each conversation starts and starts
// it; from then on live messages reach the socket directly.
func (s *Service) startReplay(so *socket, cursors, lastSeqs map[string]int64) {
	so.dmu.Lock()
	defer so.dmu.Unlock()
	for conv, c := range cursors {
		so.convState(conv).last = max(c, s.cursors.pending(so.account, conv))
	}
	// A conversation is read from the database when it has messages past
	// the cursor: at the time of the read, or seen live since the socket
	// registered. One that appeared during the open is read in any case.
	for conv, st := range so.convs {
		last, known := lastSeqs[conv]
		if _, has := cursors[conv]; !has {
			st.last = s.cursors.pending(so.account, conv)
		}
		if st.firstLive > 0 {
			// Seen live after registering: this socket gets it, even if
			// another socket of the account had the cursor move past it.
			st.last = min(st.last, st.firstLive-1)
		}
		st.catching = !known || last > st.last || st.maxSeen > st.last
	}
	so.replaying = false
	so.startCatchUpLocked()
}

func (s *Service) readLoop(conn *websocket.Conn, so *socket) {
	alive := func() { _ = conn.SetReadDeadline(time.Now().Add(s.cfg.PongTimeout)) }
	conn.SetReadLimit(s.cfg.MaxFrameBytes)
	alive()
	conn.SetPongHandler(func(data string) error { alive(); so.ponged([]byte(data)); return nil })
	conn.SetPingHandler(func(data string) error { alive(); so.pong([]byte(data)); return nil })
	conn.SetCloseHandler(func(code int, _ string) error { so.disconnect(disconnectEcho(code)); return nil })
	limiter := rate.NewLimiter(rate.Limit(s.cfg.SendRate), s.cfg.SendBurst)
	// One buffer for every frame the socket reads: nothing keeps a frame's
	// bytes once it is handled (decoding copies what it keeps).
	var buf bytes.Buffer
	for {
		mt, data, err := readFrame(conn, &buf)
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				so.disconnect(disconnectTooBig)
			} else {
				so.disconnect(disconnectNormal)
			}
			return
		}
		alive()
		if so.closing() {
			continue
		}
		if !limiter.Allow() {
			s.obs.SendRateLimited()
			// A refused send names its clientMsgId, so that the client
			// knows which one to send again.
			var id string
			if f, err := frame.Decode(so.ch.decoding(), data); err == nil && f.Kind == frame.Send {
				id = f.ClientMsgID
			}
			so.refuse(reply.SendRateLimited, id)
			continue
		}
		if mt != websocket.TextMessage {
			so.refuse(reply.TextFramesOnly, "")
			continue
		}
		s.handleFrame(so, data)
	}
}

// readFrame reads the next frame into buf and returns its bytes, valid until
// the next call. A buffer grown past a large frame is let go.
func readFrame(conn *websocket.Conn, buf *bytes.Buffer) (int, []byte, error) {
	if buf.Cap() > maxKeptReadBuffer {
		*buf = bytes.Buffer{}
	}
	buf.Reset()
	mt, r, err := conn.NextReader()
	if err != nil {
		return 0, nil, err
	}
	if _, err := buf.ReadFrom(r); err != nil {
		return 0, nil, err
	}
	return mt, buf.Bytes(), nil
}

// maxKeptReadBuffer is the largest read buffer a socket keeps between frames.
const maxKeptReadBuffer = 8 << 10

// handleFrame decodes a frame the client sent and serves it by its kind.
func (s *Service) handleFrame(so *socket, data []byte) {
	f, err := frame.Decode(so.ch.decoding(), data)
	if err != nil {
		var fe *frame.Error
		if errors.As(err, &fe) {
			so.sendControl(frame.EncodeError(fe.Code, fe.Message, ""))
		}
		return
	}
	switch f.Kind {
	case frame.Send:
		s.handleSend(so, f)
	case frame.Ack:
		s.handleAck(so, f)
	case frame.Sync:
		s.handleSync(so, f)
	case frame.Read:
		s.handleRead(so, f)
	case frame.Typing:
		s.typing.handle(s.ctx, so, f)
	case frame.Recall:
		s.recall(so, f.ID)
	}
}

// handleSend hands a send frame to the committer; the socket gets the ack,
// or the refusal, when the send is committed or refused.
func (s *Service) handleSend(so *socket, f frame.Client) {
	send := messages.Send{Sender: so.account, To: f.To, GroupID: f.GroupID, Kind: f.MsgKind, Body: f.Text, ClientMsgID: f.ClientMsgID}
	if f.To == "" && f.GroupID == 0 {
		send.To, send.GroupID = so.peer, so.groupID
	}
	if f.Typed && so.ch != channelGroup {
		// The ack answers a typed send; the frame is not sent back.
		send.Origin = so.id
	}
	s.committer.SendAsync(send, func(m messages.Message, err error) {
		if err != nil {
			// Refused, not committed in time, or failed: nothing was
			// stored.
			so.refuseSend(err, send.ClientMsgID)
			return
		}
		// In the committer goroutine: the writer is woken at the batch's
		// end, with the batch's messages.
		if send.Origin != 0 {
			if s.commit.takeAck(ackKey{so.id, m.Conv, m.Seq}) {
				return // queued in the message's place
			}
			so.ownCommitted(m.Conv, m.Seq)
		}
		if so.push(outFrame{data: frame.EncodeAck(m.Framed())}) {
			s.commit.wakes.add(so)
		}
	})
}

// handleAck moves the delivery cursor of the conversation an ack frame
// names up to its seq, or to what the socket was sent of it if less.
func (s *Service) handleAck(so *socket, f frame.Client) {
	if !so.ackMode {
		so.refuse(reply.AckNotDeclared, "")
		return
	}
	conv, ok := s.socketConv(so, f)
	if !ok {
		so.refuse(reply.AckForbidden, "")
		return
	}
	so.dmu.Lock()
	var last int64
	if st := so.convs[conv]; st != nil {
		last = st.last
	}
	so.dmu.Unlock()
	if seq := min(f.Seq, last); seq > 0 {
		s.cursors.advance(so.account, conv, seq)
	}
}

// handleSync replays the conversation a sync frame names from its seq, if
// the socket carries it and its account may read it now.
func (s *Service) handleSync(so *socket, f frame.Client) {
	conv, ok := s.socketConv(so, f)
	var floor int64
	if ok {
		// A replay reads history: the right to it is checked now.
		var err error
		if ok, floor, err = s.mayRead(so, f); err != nil {
			s.logger.ErrorContext(s.ctx, "check sync rights", slog.String("account", so.account), slog.Any("err", err))
			so.refuse(reply.SyncFailed, "")
			return
		}
	}
	if !ok {
		so.refuse(reply.SyncForbidden, "")
		return
	}
	so.rewind(conv, max(f.Seq, floor))
}

// mayRead reports whether so's account may read the conversation of a sync
// frame now: a group's members, and on a one-to-one socket friends. The
// direct history of a user socket stays its account's own. floor is the
// seq at or below which the account reads nothing: in a group whose
// history is visible from the join only, the seq at which it joined; else
// 0.
func (s *Service) mayRead(so *socket, f frame.Client) (ok bool, floor int64, err error) {
	ctx := s.ctx
	g := f.GroupID
	if so.ch == channelGroup {
		g = so.groupID
	}
	switch {
	case g != 0:
		member, floor, err := s.q.GroupReadFloor(ctx, g, so.account)
		if errors.Is(err, store.ErrNotFound) {
			return false, 0, nil
		}
		return member, floor, err
	case so.ch == channelDirect:
		ok, err := s.q.FriendshipExists(ctx, so.account, so.peer)
		return ok, 0, err
	}
	return true, 0, nil
}

// socketConv is the conversation an ack or sync frame names, if the socket
// receives it.
func (s *Service) socketConv(so *socket, f frame.Client) (string, bool) {
	var conv string
	if f.GroupID != 0 {
		conv = messages.GroupKey(f.GroupID)
	} else {
		conv = messages.DirectKey(so.account, f.To)
	}
	if so.ch != channelUser {
		return conv, conv == so.conv
	}
	if f.GroupID != 0 {
		so.dmu.Lock()
		defer so.dmu.Unlock()
		return conv, so.groups[f.GroupID]
	}
	return conv, f.To != so.account
}
