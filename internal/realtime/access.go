package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"tim/internal/messages"
	"tim/internal/store"
)

// Access ends the moment a right ends. Social and accounts tell the service
// of every committed change that takes a right away (or grants one), through
// its verbs (verbs.go). A verb applies the change to this instance's sockets
// first, whatever the bus does, then asks every other live instance to apply
// it and waits until each has, so that when the REST call returns no
// instance still serves the old right. An instance whose heartbeat lapsed,
// or that is gone from the bus, is not waited for, nor one that let a
// wait run out until it answers again; while the bus is down nothing is
// waited for. Every instance also re-checks the rights of its open sockets
// against the database every recheckEvery, every RightsRecheckDegraded
// while its bus is down, and whenever its bus reconnects, so a lost event
// costs at most that long.

// broadcastTrace is what one broadcast did, for tests: the instances it
// asked, those that answered, those gone from the bus (no subscriber
// answered the request), those silent since an earlier wait ran out, which
// it asked without waiting, and whether it only published because the bus
// was down.
type broadcastTrace struct {
	subject  string
	asked    []string
	answered []string
	gone     []string
	unwaited []string
	down     bool
}

// broadcast asks every other instance whose heartbeat is recent to apply v,
// sent on subject followed by the instance's id, and waits until each has
// answered, is found gone from the bus, or Settings.BroadcastWait passed;
// an instance that let the wait run out is asked by the next broadcasts
// without waiting, until it answers one. The caller has applied v here.
// While the bus is down it does not wait: the requests are buffered until
// the bus is back, and the other instances re-check their sockets
// meanwhile (recheckLoop).
func (s *Service) broadcast(ctx context.Context, subject string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", subject, err)
	}
	ids, err := s.q.InstanceListLive(ctx, s.presence.liveWithin())
	if err != nil {
		return fmt.Errorf("list instances: %w", err)
	}
	tr := broadcastTrace{subject: subject, asked: slices.DeleteFunc(ids, func(id string) bool { return id == s.instanceID })}
	defer func() { s.broadcasted.Signal(tr) }()
	if !s.nc.IsConnected() {
		tr.down = true
		for _, id := range tr.asked {
			if err := s.nc.Publish(subject+"."+id, data); err != nil {
				return fmt.Errorf("publish %s: %w", subject, err)
			}
		}
		return nil
	}
	s.forgetLapsed(tr.asked)
	var waited []string
	for _, id := range tr.asked {
		if s.isSilent(id) {
			tr.unwaited = append(tr.unwaited, id)
			if err := s.nc.PublishRequest(subject+"."+id, s.heard, data); err != nil {
				return fmt.Errorf("publish %s: %w", subject, err)
			}
			continue
		}
		waited = append(waited, id)
	}
	return s.await(ctx, subject, data, waited, &tr)
}

// await asks each of ids to apply data and waits for their answers, at
// most Settings.BroadcastWait; those that let it run out are silent from
// then on.
func (s *Service) await(ctx context.Context, subject string, data []byte, ids []string, tr *broadcastTrace) error {
	wait, cancel := context.WithTimeout(ctx, s.cfg.BroadcastWait)
	defer cancel()
	type answer struct {
		id  string
		err error
	}
	answers := make(chan answer, len(ids))
	for _, id := range ids {
		go func() {
			_, err := s.nc.RequestWithContext(wait, subject+"."+id, data)
			answers <- answer{id, err}
		}()
	}
	var silent []string
	var errs []error
	for range ids {
		a := <-answers
		switch {
		case a.err == nil:
			tr.answered = append(tr.answered, a.id)
		case errors.Is(a.err, nats.ErrNoResponders):
			tr.gone = append(tr.gone, a.id) // it died or shut down: nothing to wait for
		default:
			silent = append(silent, a.id)
			errs = append(errs, a.err)
		}
	}
	if len(tr.gone) > 0 {
		// A live instance that does not listen on its own subject may be
		// of an earlier version, which listens on the bare one: tell it
		// there too, without waiting (instances of this version apply the
		// change again, which changes nothing).
		if err := s.nc.Publish(subject, data); err != nil {
			s.logger.WarnContext(ctx, "publish to earlier versions", slog.String("subject", subject), slog.Any("err", err))
		}
	}
	if len(silent) == 0 {
		return nil
	}
	if ctx.Err() == nil { // the wait ran out, not the caller's patience
		s.silentMu.Lock()
		for _, id := range silent {
			s.silent[id] = true
		}
		s.silentMu.Unlock()
	}
	return fmt.Errorf("%s: %d of %d instances did not answer (%s): %w", subject, len(silent), len(ids), strings.Join(silent, ", "), errors.Join(errs...))
}

// forgetLapsed forgets the silent instances not among live: their
// heartbeat lapsed.
func (s *Service) forgetLapsed(live []string) {
	s.silentMu.Lock()
	defer s.silentMu.Unlock()
	for id := range s.silent {
		if !slices.Contains(live, id) {
			delete(s.silent, id)
		}
	}
}

func (s *Service) isSilent(id string) bool {
	s.silentMu.Lock()
	defer s.silentMu.Unlock()
	return s.silent[id]
}

// answered hears instance id answer a broadcast that did not wait for it:
// the next ones wait for it again.
func (s *Service) answered(id string) {
	s.silentMu.Lock()
	delete(s.silent, id)
	s.silentMu.Unlock()
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

// recheckLoop re-checks every open socket's rights every recheckEvery, and
// every degraded while the bus is disconnected: no other instance's change
// reaches this one then but through the database.
func (s *Service) recheckLoop(ctx context.Context, degraded time.Duration) {
	t := time.NewTicker(min(degraded, recheckEvery))
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.nc.IsConnected() && time.Since(last) < recheckEvery {
			continue
		}
		last = time.Now()
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
