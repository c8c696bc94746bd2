package realtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"tim/gen/models"
	"tim/internal/auth"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// handshake is what an accepted upgrade request established.
type handshake struct {
	ch      channel
	claims  auth.Claims
	peer    string
	groupID int64
	// epoch is the account's count of applied membership and friendship
	// changes before the handshake checked its rights.
	epoch uint64
	// wait, for a group socket, collects the group's presence frames from
	// before its upgrade until hub.open records the socket.
	wait *groupWait
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

// refuse answers a handshake with refusal r in the envelope, before any
// upgrade: the one way a handshake is refused.
func refuse(c echo.Context, r reply.Refusal) error {
	return c.JSON(int(r.Code), models.Envelope{Code: r.Code, Message: r.Message})
}

func (s *Service) open(c echo.Context, ch channel, account, peer, group string) error {
	// Checked here, not only by the upgrader, which would refuse in plain text.
	if !s.checkOrigin(c.Request()) {
		return refuse(c, reply.OriginRefused)
	}
	s.stateMu.Lock()
	if s.closing {
		s.stateMu.Unlock()
		return refuse(c, reply.ShuttingDown)
	}
	s.sockets.Add(1)
	s.stateMu.Unlock()
	handedOff := false // the socket's reader took over the reservations
	defer func() {
		if !handedOff {
			s.sockets.Done()
		}
	}()

	h, err := s.admit(c, ch, account, peer, group)
	if r, refused := reply.As(err); refused {
		return refuse(c, r)
	} else if err != nil {
		return err
	}
	if !s.hub.reserve(account, s.cfg.SocketsPerUser) {
		return refuse(c, reply.TooManySockets)
	}
	if ch == channelGroup {
		// The client may see the socket open and a member come online
		// before hub.open records the socket: the member's presence is kept
		// for it from here on.
		h.wait = s.hub.awaitGroup(h.groupID)
	}
	hw := &hijackWrapper{ResponseWriter: c.Response()}
	conn, err := s.upgrader.Upgrade(hw, c.Request(), nil)
	if err != nil {
		s.hub.endWait(h.wait)
		s.hub.release(account)
		return nil // the upgrader answered the client
	}
	if f := s.upgraded.Load(); f != nil {
		(*f)(h)
	}
	// The upgrader wrote 101 on the hijacked connection, past Echo's
	// response: record it there for the access log and the metrics.
	c.Response().Status = http.StatusSwitchingProtocols
	c.Response().Committed = true
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

// admit checks a handshake's group id, token and right to the channel. It
// returns a refusal as the error, or an unexpected error for the central
// handler.
func (s *Service) admit(c echo.Context, ch channel, account, peer, group string) (handshake, error) {
	ctx := c.Request().Context()
	h := handshake{ch: ch, peer: peer, epoch: s.hub.epoch(account)}
	if ch == channelGroup {
		id, err := strconv.ParseInt(group, 10, 64)
		if err != nil || id < 1 || id > frame.MaxGroupID {
			return h, reply.BadGroupID
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
	if r, refused := auth.Refusal(err); refused {
		return h, r
	} else if err != nil {
		return h, fmt.Errorf("verify token: %w", err)
	}
	h.claims = claims
	if account != claims.Account {
		return h, reply.OtherAccount
	}
	return h, s.mayOpen(ctx, h, account)
}

// mayOpen checks account's right to h's channel: friendship with the peer
// of a one-to-one socket and no block between them, membership of a group
// socket's group.
func (s *Service) mayOpen(ctx context.Context, h handshake, account string) error {
	switch h.ch {
	case channelDirect:
		ok, err := s.q.FriendshipExists(ctx, account, h.peer)
		if err != nil {
			return fmt.Errorf("check friendship: %w", err)
		}
		if !ok {
			return reply.NotFriends
		}
		b, err := s.q.BlockBetween(ctx, account, h.peer)
		switch {
		case err != nil:
			return fmt.Errorf("check blocks: %w", err)
		case b.BBlocksA:
			return reply.NoPermission
		case b.ABlocksB:
			return reply.YouBlock
		}
	case channelGroup:
		member, err := s.q.GroupMembership(ctx, h.groupID, account)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return reply.GroupNotFound
		case err != nil:
			return fmt.Errorf("check membership: %w", err)
		case !member:
			return reply.NotGroupMember
		}
	}
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
