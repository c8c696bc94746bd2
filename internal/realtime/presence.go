package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"tim/gen/models"
	"tim/internal/realtime/frame"
)

// presenceBook counts this instance's sockets per account. A worker writes
// the counts to the presence table in batches and tells friends when an
// account comes online or goes offline.
type presenceBook struct {
	mu      sync.Mutex
	local   map[string]int  // sockets per account now
	written map[string]int  // what the presence table holds
	dirty   map[string]bool // accounts whose count changed since the last write
	wake    chan struct{}
	changes uint64        // count of add calls
	flushed uint64        // changes that a write has handled
	flush   chan struct{} // closed and replaced when flushed grows
}

func newPresenceBook() *presenceBook {
	return &presenceBook{local: map[string]int{}, written: map[string]int{}, dirty: map[string]bool{}, wake: make(chan struct{}, 1), flush: make(chan struct{})}
}

// add changes account's socket count and returns the change's number, for
// waitWritten.
func (p *presenceBook) add(account string, delta int) uint64 {
	p.mu.Lock()
	if p.local[account] += delta; p.local[account] <= 0 {
		delete(p.local, account)
	}
	p.dirty[account] = true
	p.changes++
	n := p.changes
	p.mu.Unlock()
	signal(p.wake)
	return n
}

// waitWritten waits until change n was written (or its write failed and
// will be retried), or ctx ends.
func (p *presenceBook) waitWritten(ctx context.Context, n uint64) {
	for {
		p.mu.Lock()
		done, ch := p.flushed >= n, p.flush
		p.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// handled records that a write covered the changes up to n.
func (p *presenceBook) handled(n uint64) {
	p.mu.Lock()
	if n > p.flushed {
		p.flushed = n
		close(p.flush)
		p.flush = make(chan struct{})
	}
	p.mu.Unlock()
}

// presenceLoop writes presence changes as they come and beats the
// instance's heartbeat until ctx ends, then writes the last changes.
func (s *Service) presenceLoop(ctx context.Context) {
	beat := time.NewTicker(s.heartbeatEvery())
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.flushPresence(context.WithoutCancel(ctx)); err != nil {
				s.logger.ErrorContext(ctx, "write presence", slog.Any("err", err))
			}
			return
		case <-s.presence.wake:
			// Not cut short by shutdown, which writes the rest after it.
			if err := s.flushPresence(context.WithoutCancel(ctx)); err != nil {
				s.logger.ErrorContext(ctx, "write presence", slog.Any("err", err))
			}
		case <-beat.C:
			if err := s.q.InstanceHeartbeat(ctx, s.instanceID); err != nil {
				s.logger.ErrorContext(ctx, "instance heartbeat", slog.Any("err", err))
			}
			if err := s.reapStale(ctx); err != nil {
				s.logger.ErrorContext(ctx, "reap stale presence", slog.Any("err", err))
			}
			if _, err := s.q.InstanceDeleteDead(ctx, 10*s.cfg.PresenceTimeout); err != nil {
				s.logger.ErrorContext(ctx, "forget dead instances", slog.Any("err", err))
			}
		}
	}
}

func (s *Service) heartbeatEvery() time.Duration {
	return min(10*time.Second, s.cfg.PresenceTimeout/3)
}

func (s *Service) flushPresence(ctx context.Context) error {
	p := s.presence
	p.mu.Lock()
	upTo := p.changes
	defer p.handled(upTo)
	if len(p.dirty) == 0 {
		p.mu.Unlock()
		return nil
	}
	var accounts, online, offline []string
	var counts []int32
	for acc := range p.dirty {
		n := p.local[acc]
		if n == p.written[acc] {
			continue
		}
		accounts = append(accounts, acc)
		counts = append(counts, int32(n))
		switch {
		case n > 0 && p.written[acc] == 0:
			online = append(online, acc)
		case n == 0:
			offline = append(offline, acc)
		}
	}
	clear(p.dirty)
	p.mu.Unlock()
	if len(accounts) == 0 {
		return nil
	}
	if err := s.q.PresenceApply(ctx, s.instanceID, accounts, counts); err != nil {
		// Try again on the next change.
		p.mu.Lock()
		for _, a := range accounts {
			p.dirty[a] = true
		}
		p.mu.Unlock()
		return fmt.Errorf("apply presence: %w", err)
	}
	p.mu.Lock()
	for i, a := range accounts {
		if counts[i] == 0 {
			delete(p.written, a)
		} else {
			p.written[a] = int(counts[i])
		}
	}
	p.mu.Unlock()

	return s.announce(ctx, online, offline)
}

// announce tells the friends of accounts that came online, and of those
// that went offline unless they still have a socket on a live instance.
func (s *Service) announce(ctx context.Context, online, offline []string) error {
	if len(offline) > 0 {
		still, err := s.q.PresenceOnlineAccounts(ctx, offline, s.cfg.PresenceTimeout)
		if err != nil {
			return fmt.Errorf("check presence: %w", err)
		}
		keep := map[string]bool{}
		for _, a := range still {
			keep[a] = true
		}
		n := 0
		for _, a := range offline {
			if !keep[a] {
				offline[n] = a
				n++
			}
		}
		offline = offline[:n]
	}
	changed := append(online, offline...)
	if len(changed) == 0 {
		return nil
	}
	rows, err := s.q.FriendshipListOf(ctx, changed)
	if err != nil {
		return fmt.Errorf("list friends: %w", err)
	}
	friends := map[string][]string{}
	for _, r := range rows {
		friends[r.Account] = append(friends[r.Account], r.Friend)
	}
	for i, a := range changed {
		if len(friends[a]) == 0 {
			continue
		}
		s.publish(subjectPresence, wirePresence{Account: a, Online: i < len(online), Friends: friends[a]})
	}
	return nil
}

// reapStale removes the presence of instances silent for longer than the
// presence timeout (they died without shutting down) and tells their users'
// friends that those users went offline.
func (s *Service) reapStale(ctx context.Context) error {
	accounts, err := s.q.PresenceTakeStale(ctx, s.instanceID, s.cfg.PresenceTimeout)
	if err != nil {
		return fmt.Errorf("take stale presence: %w", err)
	}
	if len(accounts) == 0 {
		return nil
	}
	slices.Sort(accounts)
	return s.announce(ctx, nil, slices.Compact(accounts))
}

func (s *Service) onPresence(data []byte) {
	var w wirePresence
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode presence", slog.Any("err", err))
		return
	}
	s.hub.toUserSockets(w.Friends, frame.EncodePresence(w.Account, w.Online))
}

// groupCount adds delta to the group sockets account has open on group on
// this instance, and returns the new count (never below zero).
func (s *Service) groupCount(group int64, account string, delta int) int {
	s.groupMu.Lock()
	defer s.groupMu.Unlock()
	members := s.groupLocal[group]
	n := members[account] + delta
	if n <= 0 {
		delete(members, account)
		if len(members) == 0 {
			delete(s.groupLocal, group)
		}
		return 0
	}
	if members == nil {
		members = map[string]int{}
		s.groupLocal[group] = members
	}
	members[account] = n
	return n
}

// groupPresence records that so joined (online) or left its group, and
// returns the group.presence and group.online frames, which it also
// publishes to the group's other sockets on every instance.
func (s *Service) groupPresence(ctx context.Context, so *socket, online bool) ([][]byte, error) {
	delta := -1
	if online {
		delta = 1
	}
	n := s.groupCount(so.groupID, so.account, delta)
	// The lock covers memory only. Writes of one member's count may then
	// finish out of order: a writer that finds the count changed meanwhile
	// writes again, so the last one to finish leaves the current count.
	for {
		var err error
		if n > 0 {
			err = s.q.GroupPresenceUpsert(ctx, s.instanceID, so.groupID, so.account, int32(n))
		} else {
			err = s.q.GroupPresenceDelete(ctx, s.instanceID, so.groupID, so.account)
		}
		if err != nil {
			return nil, fmt.Errorf("write group presence: %w", err)
		}
		now := s.groupCount(so.groupID, so.account, 0)
		if now == n {
			break
		}
		n = now
	}
	users, err := s.groupOnline(ctx, so.groupID)
	if err != nil {
		return nil, err
	}
	name, err := s.username(ctx, so.account)
	if err != nil {
		return nil, err
	}
	frames := [][]byte{
		frame.EncodeGroupPresence(so.groupID, so.account, name, online),
		frame.EncodeGroupOnline(so.groupID, users),
	}
	w := wireGroup{GroupID: so.groupID, Instance: s.instanceID, Origin: so.id}
	for _, f := range frames {
		w.Frames = append(w.Frames, f)
	}
	s.publish(subjectGroup, w)
	return frames, nil
}

// groupOnline lists the members of group connected to it, by account: those
// in the presence table on every live instance, and this instance's own,
// whose rows may still be on their way (a member that opened a group socket
// here a moment ago is online although its row is not written yet).
func (s *Service) groupOnline(ctx context.Context, group int64) ([]models.OnlineUser, error) {
	rows, err := s.q.GroupPresenceOnline(ctx, group, s.cfg.PresenceTimeout)
	if err != nil {
		return nil, fmt.Errorf("list group presence: %w", err)
	}
	users := make([]models.OnlineUser, len(rows))
	listed := make(map[string]bool, len(rows))
	for i, r := range rows {
		users[i] = models.OnlineUser{Account: r.Account, Username: r.Username}
		listed[r.Account] = true
	}
	var missing []string
	s.groupMu.Lock()
	for account := range s.groupLocal[group] {
		if !listed[account] {
			missing = append(missing, account)
		}
	}
	s.groupMu.Unlock()
	if len(missing) == 0 {
		return users, nil
	}
	named, err := s.q.UserUsernames(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("read usernames: %w", err)
	}
	for _, r := range named {
		users = append(users, models.OnlineUser{Account: r.Account, Username: r.Username})
	}
	slices.SortFunc(users, func(a, b models.OnlineUser) int { return strings.Compare(a.Account, b.Account) })
	return users, nil
}

func (s *Service) onGroup(data []byte) {
	var w wireGroup
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode group presence", slog.Any("err", err))
		return
	}
	var skip uint64
	if w.Instance == s.instanceID {
		skip = w.Origin
	}
	frames := make([][]byte, len(w.Frames))
	for i, f := range w.Frames {
		frames[i] = f
	}
	s.hub.toGroupSockets(w.GroupID, skip, frames...)
}

func (s *Service) username(ctx context.Context, account string) (string, error) {
	rows, err := s.q.UserUsernames(ctx, []string{account})
	if err != nil {
		return "", fmt.Errorf("read username: %w", err)
	}
	if len(rows) == 0 {
		return account, nil
	}
	return rows[0].Username, nil
}
