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
	"tim/internal/store"
)

// presence is the instance's part in who is online: it counts the
// sockets open here per account and per group, writes the counts to the
// presence tables, beats the instance's heartbeat, reaps the presence of
// instances that died, and tells friends and group members of each change
// on every instance. It reaches sockets only through its port onto the hub.
type presence struct {
	q        presenceStore
	hub      presencePort
	publish  func(subject string, v any) // onto the bus, best effort
	logger   *slog.Logger
	instance string
	timeout  time.Duration // the presence timeout
	book     *presenceBook

	groupMu    sync.Mutex
	groupLocal map[int64]map[string]int // group → account → group sockets open here
}

// presencePort is what presence needs of the hub: to queue frames to
// sockets it does not hold.
type presencePort interface {
	// toUserSockets queues frame to the user sockets of accounts.
	toUserSockets(accounts []string, frame []byte)
	// toGroupSockets queues frames to group g's sockets but the one numbered skip.
	toGroupSockets(g int64, skip uint64, frames ...[]byte)
}

// presenceStore is what presence reads and writes in the database.
type presenceStore interface {
	InstanceHeartbeat(ctx context.Context, id string) error
	InstanceDeleteDead(ctx context.Context, olderThan time.Duration) (int64, error)
	PresenceApply(ctx context.Context, instanceID string, accounts []string, sockets []int32) error
	PresenceOnlineAccounts(ctx context.Context, accounts []string, timeout time.Duration) ([]string, error)
	PresenceTakeStale(ctx context.Context, self string, olderThan time.Duration) ([]string, error)
	GroupPresenceUpsert(ctx context.Context, instanceID string, groupID int64, account string, sockets int32) error
	GroupPresenceDelete(ctx context.Context, instanceID string, groupID int64, account string) error
	GroupPresenceOnline(ctx context.Context, groupID int64, timeout time.Duration) ([]store.AccountName, error)
	FriendshipListOf(ctx context.Context, accounts []string) ([]store.Friendship, error)
	UserProfiles(ctx context.Context, accounts []string, presenceTimeout time.Duration) ([]store.Profile, error)
	UserUsernames(ctx context.Context, accounts []string) ([]store.AccountName, error)
}

func newPresence(q presenceStore, hub presencePort, publish func(string, any), logger *slog.Logger, instance string, timeout time.Duration) *presence {
	return &presence{
		q: q, hub: hub, publish: publish, logger: logger, instance: instance, timeout: timeout,
		book: newPresenceBook(), groupLocal: map[int64]map[string]int{},
	}
}

// opened counts a socket of account and waits, at most presenceWait, until
// the count is written: the account is then online for its friends on
// every instance.
func (p *presence) opened(ctx context.Context, account string) {
	change := p.book.add(account, 1)
	wait, cancel := context.WithTimeout(ctx, presenceWait)
	p.book.waitWritten(wait, change)
	cancel()
}

// closed uncounts a socket of account.
func (p *presence) closed(account string) {
	p.book.add(account, -1)
}

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

// loop writes presence changes as they come and beats the instance's
// heartbeat until ctx ends, then writes the last changes.
func (p *presence) loop(ctx context.Context) {
	beat := time.NewTicker(p.heartbeatEvery())
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := p.flush(context.WithoutCancel(ctx)); err != nil {
				p.logger.ErrorContext(ctx, "write presence", slog.Any("err", err))
			}
			return
		case <-p.book.wake:
			// Not cut short by shutdown, which writes the rest after it.
			if err := p.flush(context.WithoutCancel(ctx)); err != nil {
				p.logger.ErrorContext(ctx, "write presence", slog.Any("err", err))
			}
		case <-beat.C:
			if err := p.q.InstanceHeartbeat(ctx, p.instance); err != nil {
				p.logger.ErrorContext(ctx, "instance heartbeat", slog.Any("err", err))
			}
			if err := p.reapStale(ctx); err != nil {
				p.logger.ErrorContext(ctx, "reap stale presence", slog.Any("err", err))
			}
			if _, err := p.q.InstanceDeleteDead(ctx, 10*p.timeout); err != nil {
				p.logger.ErrorContext(ctx, "forget dead instances", slog.Any("err", err))
			}
		}
	}
}

func (p *presence) heartbeatEvery() time.Duration {
	return min(10*time.Second, p.timeout/3)
}

// liveWithin is how recent an instance's heartbeat must be for a change of
// rights to wait for it: two beats and a second, so that one late beat
// does not count it out, nor one that stopped beating keep it in for the
// whole presence timeout.
func (p *presence) liveWithin() time.Duration {
	return min(p.timeout, 2*p.heartbeatEvery()+time.Second)
}

func (p *presence) flush(ctx context.Context) error {
	b := p.book
	b.mu.Lock()
	upTo := b.changes
	defer b.handled(upTo)
	if len(b.dirty) == 0 {
		b.mu.Unlock()
		return nil
	}
	var accounts, online, offline []string
	var counts []int32
	for acc := range b.dirty {
		n := b.local[acc]
		if n == b.written[acc] {
			continue
		}
		accounts = append(accounts, acc)
		counts = append(counts, int32(n))
		switch {
		case n > 0 && b.written[acc] == 0:
			online = append(online, acc)
		case n == 0:
			offline = append(offline, acc)
		}
	}
	clear(b.dirty)
	b.mu.Unlock()
	if len(accounts) == 0 {
		return nil
	}
	if err := p.q.PresenceApply(ctx, p.instance, accounts, counts); err != nil {
		// Try again on the next change.
		b.mu.Lock()
		for _, a := range accounts {
			b.dirty[a] = true
		}
		b.mu.Unlock()
		return fmt.Errorf("apply presence: %w", err)
	}
	b.mu.Lock()
	for i, a := range accounts {
		if counts[i] == 0 {
			delete(b.written, a)
		} else {
			b.written[a] = int(counts[i])
		}
	}
	b.mu.Unlock()

	return p.announce(ctx, online, offline)
}

// announce tells the friends of accounts that came online, and of those
// that went offline unless they still have a socket on a live instance.
func (p *presence) announce(ctx context.Context, online, offline []string) error {
	if len(offline) > 0 {
		still, err := p.q.PresenceOnlineAccounts(ctx, offline, p.timeout)
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
	rows, err := p.q.FriendshipListOf(ctx, changed)
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
		p.publish(subjectPresence, wirePresence{Account: a, Online: i < len(online), Friends: friends[a]})
	}
	return nil
}

// reapStale removes the presence of instances silent for longer than the
// presence timeout (they died without shutting down) and tells their users'
// friends that those users went offline.
func (p *presence) reapStale(ctx context.Context) error {
	accounts, err := p.q.PresenceTakeStale(ctx, p.instance, p.timeout)
	if err != nil {
		return fmt.Errorf("take stale presence: %w", err)
	}
	if len(accounts) == 0 {
		return nil
	}
	slices.Sort(accounts)
	return p.announce(ctx, nil, slices.Compact(accounts))
}

func (p *presence) onPresence(data []byte) {
	var w wirePresence
	if err := json.Unmarshal(data, &w); err != nil {
		p.logger.Error("decode presence", slog.Any("err", err))
		return
	}
	p.hub.toUserSockets(w.Friends, frame.EncodePresence(w.Account, w.Online))
}

// groupCount adds delta to the group sockets account has open on group on
// this instance, and returns the new count (never below zero).
func (p *presence) groupCount(group int64, account string, delta int) int {
	p.groupMu.Lock()
	defer p.groupMu.Unlock()
	members := p.groupLocal[group]
	n := members[account] + delta
	if n <= 0 {
		delete(members, account)
		if len(members) == 0 {
			delete(p.groupLocal, group)
		}
		return 0
	}
	if members == nil {
		members = map[string]int{}
		p.groupLocal[group] = members
	}
	members[account] = n
	return n
}

// group records that account's group socket numbered socketID joined
// (online) or left group g, and returns the group.presence and group.online
// frames, which it also publishes to the group's other sockets on every
// instance.
func (p *presence) group(ctx context.Context, g int64, account string, socketID uint64, online bool) ([][]byte, error) {
	delta := -1
	if online {
		delta = 1
	}
	n := p.groupCount(g, account, delta)
	// The lock covers memory only. Writes of one member's count may then
	// finish out of order: a writer that finds the count changed meanwhile
	// writes again, so the last one to finish leaves the current count.
	for {
		var err error
		if n > 0 {
			err = p.q.GroupPresenceUpsert(ctx, p.instance, g, account, int32(n))
		} else {
			err = p.q.GroupPresenceDelete(ctx, p.instance, g, account)
		}
		if err != nil {
			return nil, fmt.Errorf("write group presence: %w", err)
		}
		now := p.groupCount(g, account, 0)
		if now == n {
			break
		}
		n = now
	}
	users, err := p.groupOnline(ctx, g)
	if err != nil {
		return nil, err
	}
	name, err := p.username(ctx, account)
	if err != nil {
		return nil, err
	}
	frames := [][]byte{
		frame.EncodeGroupPresence(g, account, name, online),
		frame.EncodeGroupOnline(g, users),
	}
	w := wireGroup{GroupID: g, Instance: p.instance, Origin: socketID}
	for _, f := range frames {
		w.Frames = append(w.Frames, f)
	}
	p.publish(subjectGroup, w)
	return frames, nil
}

// groupOnline lists the members of group connected to it, by account: those
// in the presence table on every live instance, and this instance's own,
// whose rows may still be on their way (a member that opened a group socket
// here a moment ago is online although its row is not written yet).
func (p *presence) groupOnline(ctx context.Context, group int64) ([]models.OnlineUser, error) {
	rows, err := p.q.GroupPresenceOnline(ctx, group, p.timeout)
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
	p.groupMu.Lock()
	for account := range p.groupLocal[group] {
		if !listed[account] {
			missing = append(missing, account)
		}
	}
	p.groupMu.Unlock()
	if len(missing) == 0 {
		return users, nil
	}
	named, err := p.q.UserUsernames(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("read usernames: %w", err)
	}
	for _, r := range named {
		users = append(users, models.OnlineUser{Account: r.Account, Username: r.Username})
	}
	slices.SortFunc(users, func(a, b models.OnlineUser) int { return strings.Compare(a.Account, b.Account) })
	return users, nil
}

func (p *presence) onGroup(data []byte) {
	var w wireGroup
	if err := json.Unmarshal(data, &w); err != nil {
		p.logger.Error("decode group presence", slog.Any("err", err))
		return
	}
	var skip uint64
	if w.Instance == p.instance {
		skip = w.Origin
	}
	frames := make([][]byte, len(w.Frames))
	for i, f := range w.Frames {
		frames[i] = f
	}
	p.hub.toGroupSockets(w.GroupID, skip, frames...)
}

func (p *presence) username(ctx context.Context, account string) (string, error) {
	rows, err := p.q.UserUsernames(ctx, []string{account})
	if err != nil {
		return "", fmt.Errorf("read username: %w", err)
	}
	if len(rows) == 0 {
		return account, nil
	}
	return rows[0].Username, nil
}

// friendsOnline is the users list of a user socket: account first, then its
// friends online on any live instance, but those a block stands between
// account and, either way.
func (p *presence) friendsOnline(ctx context.Context, account string) ([]models.OnlineUser, error) {
	pairs, err := p.q.FriendshipListOf(ctx, []string{account}) // leaves out blocked pairs
	if err != nil {
		return nil, fmt.Errorf("list friends: %w", err)
	}
	friends := make([]string, len(pairs))
	for i, f := range pairs {
		friends[i] = f.Friend
	}
	rows, err := p.q.UserProfiles(ctx, append(friends, account), p.timeout)
	if err != nil {
		return nil, fmt.Errorf("read profiles: %w", err)
	}
	users := []models.OnlineUser{}
	for _, r := range rows {
		if r.Account == account {
			users = append([]models.OnlineUser{{Account: r.Account, Username: r.Username}}, users...)
		} else if r.Online {
			users = append(users, models.OnlineUser{Account: r.Account, Username: r.Username})
		}
	}
	return users, nil
}
