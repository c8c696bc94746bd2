package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"tim/internal/messages"
	"tim/internal/store"
)

// Access ends the moment a right ends. Social and accounts tell the service
// of every committed change that takes a right away (or grants one), through
// its verbs (verbs.go); the service applies it to this instance's sockets
// first, whatever the bus does, then broadcasts it to every instance and
// waits until each live instance has applied it (this one again: applied
// twice, a change changes nothing more), so that when the REST call
// returns no instance still serves the old right. Every instance also re-checks the rights of its open
// sockets against the database every recheckEvery and whenever its bus
// reconnects, so a lost event costs at most that long.

// broadcast publishes v on subject to every instance, itself included, and
// waits until each live instance has applied it, or broadcastWait passed.
func (s *Service) broadcast(ctx context.Context, subject string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", subject, err)
	}
	ctx, cancel := context.WithTimeout(ctx, broadcastWait)
	defer cancel()
	live, err := s.q.InstanceCountLive(ctx, s.cfg.PresenceTimeout)
	if err != nil {
		return fmt.Errorf("count instances: %w", err)
	}
	inbox := nats.NewInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return fmt.Errorf("subscribe %s replies: %w", subject, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := s.nc.PublishRequest(subject, inbox, data); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	for n := int64(0); n < max(live, 1); n++ {
		if _, err := sub.NextMsgWithContext(ctx); err != nil {
			return fmt.Errorf("%s: %d of %d instances answered: %w", subject, n, live, err)
		}
	}
	return nil
}

func (s *Service) onClose(data []byte) {
	var w wireClose
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode close", slog.Any("err", err))
		return
	}
	s.applyClose(w)
}

// applyClose closes the sockets w names here with 4001.
func (s *Service) applyClose(w wireClose) {
	s.hub.disconnect(w.Account, func(so *socket) bool { return w.JTI == "" || so.jti == w.JTI }, disconnectLoggedOut)
}

func (s *Service) onMember(data []byte) {
	var w wireMember
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode membership", slog.Any("err", err))
		return
	}
	s.applyMember(s.ctx, w)
}

// applyMember follows a join or leave here: a leaver's user sockets stop
// carrying the group and its group sockets of it close with 4003; a
// joiner's user sockets start carrying it. Applied twice, it changes
// nothing more.
func (s *Service) applyMember(ctx context.Context, w wireMember) {
	s.hub.bumpEpoch(w.Account)
	if !w.Member {
		s.hub.leaveGroup(w.GroupID, w.Account)
		return
	}
	if err := s.joinGroup(ctx, w.GroupID, w.Account); err != nil {
		s.logger.ErrorContext(ctx, "follow group join", slog.Int64("group", w.GroupID), slog.String("account", w.Account), slog.Any("err", err))
	}
}

func (s *Service) onFriend(data []byte) {
	var w wireFriend
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode friendship", slog.Any("err", err))
		return
	}
	s.applyFriend(w)
}

// applyFriend closes the one-to-one sockets between w's two accounts here
// with 4003.
func (s *Service) applyFriend(w wireFriend) {
	s.hub.bumpEpoch(w.A)
	s.hub.bumpEpoch(w.B)
	s.hub.disconnect(w.A, directWith(w.B), disconnectNotFriends)
	s.hub.disconnect(w.B, directWith(w.A), disconnectNotFriends)
}

// directWith matches the one-to-one sockets with peer.
func directWith(peer string) func(*socket) bool {
	return func(so *socket) bool { return so.ch == channelDirect && so.peer == peer }
}

// joinGroup registers account's user sockets on this instance for group g,
// from the account's delivery cursor in it.
func (s *Service) joinGroup(ctx context.Context, g int64, account string) error {
	if !s.hub.hasUserSocket(account) {
		return nil
	}
	conv := messages.GroupKey(g)
	c, err := s.q.DeliveryCursorGet(ctx, account, conv)
	if err != nil {
		return fmt.Errorf("read cursor: %w", err)
	}
	s.hub.joinGroup(g, account, max(c, s.cursors.pending(account, conv)))
	return nil
}

// recheckLoop re-checks every open socket's rights every recheckEvery.
func (s *Service) recheckLoop(ctx context.Context) {
	t := time.NewTicker(recheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.recheck(ctx, s.hub.openSockets()); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "re-check socket rights", slog.Any("err", err))
		}
	}
}

// recheck compares the rights of socks with the database: a socket whose
// token no longer verifies closes with 4001, a group socket of a former
// member and a one-to-one socket of former friends close with 4003, and
// user sockets follow their account's groups.
func (s *Service) recheck(ctx context.Context, socks []*socket) error {
	if len(socks) == 0 {
		return nil
	}
	tokens := make([]store.HeldToken, 0, len(socks))
	accounts := map[string]bool{}
	for _, so := range socks {
		tokens = append(tokens, store.HeldToken{Account: so.account, JTI: so.jti, Generation: so.generation})
		accounts[so.account] = true
	}
	revoked, err := s.q.TokensRevokedAmong(ctx, tokens)
	if err != nil {
		return fmt.Errorf("check tokens: %w", err)
	}
	gone := make(map[string]bool, len(revoked))
	for _, jti := range revoked {
		gone[jti] = true
	}
	list := make([]string, 0, len(accounts))
	for a := range accounts {
		list = append(list, a)
	}
	memberRows, err := s.q.GroupMembershipsOf(ctx, list)
	if err != nil {
		return fmt.Errorf("list memberships: %w", err)
	}
	groups := map[string]map[int64]bool{}
	for _, r := range memberRows {
		if groups[r.Account] == nil {
			groups[r.Account] = map[int64]bool{}
		}
		groups[r.Account][r.GroupID] = true
	}
	friendRows, err := s.q.FriendshipListOf(ctx, list)
	if err != nil {
		return fmt.Errorf("list friendships: %w", err)
	}
	friends := map[[2]string]bool{}
	for _, r := range friendRows {
		friends[[2]string{r.Account, r.Friend}] = true
	}
	synced := map[string]bool{}
	for _, so := range socks {
		switch {
		case gone[so.jti]:
			so.disconnect(disconnectLoggedOut)
		case so.ch == channelGroup && !groups[so.account][so.groupID]:
			so.disconnect(disconnectNotMember)
		case so.ch == channelDirect && !friends[[2]string{so.account, so.peer}]:
			so.disconnect(disconnectNotFriends)
		case so.ch == channelUser && !synced[so.account]:
			synced[so.account] = true
			for _, g := range s.hub.followGroups(so.account, groups[so.account]) {
				if err := s.joinGroup(ctx, g, so.account); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
