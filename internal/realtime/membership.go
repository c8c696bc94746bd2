package realtime

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"tim/gen/db"
	"tim/internal/chat"
)

// A user socket learns its groups when it opens. Groups joined or left
// later are found by checking, every watchEvery, the members of each group
// that had messages meanwhile: a new member's open user sockets start
// receiving the group from their cursor (set to the group's end on join),
// catching up from the database on what they missed while not yet
// registered, and a former member's sockets stop.
func (s *Service) membershipLoop(ctx context.Context) {
	t := time.NewTicker(s.watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.watchMu.Lock()
		groups := make([]int64, 0, len(s.watched))
		for g := range s.watched {
			groups = append(groups, g)
		}
		clear(s.watched)
		s.watchMu.Unlock()
		for _, g := range groups {
			if err := s.refreshGroup(ctx, g); err != nil && ctx.Err() == nil {
				s.logger.ErrorContext(ctx, "check group members", slog.Int64("group", g), slog.String("error", err.Error()))
			}
		}
	}
}

// refreshGroup brings the user sockets receiving group g in line with its
// members.
func (s *Service) refreshGroup(ctx context.Context, g int64) error {
	accounts, err := s.q.GroupMemberAccounts(ctx, g)
	if err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	members := make(map[string]bool, len(accounts))
	for _, a := range accounts {
		members[a] = true
	}
	conv := chat.GroupKey(g)
	cursors := map[string]int64{}
	if joiners := s.hub.groupJoiners(g, accounts); len(joiners) > 0 {
		rows, err := s.q.DeliveryCursorListForConv(ctx, db.DeliveryCursorListForConvParams{Conv: conv, Accounts: joiners})
		if err != nil {
			return fmt.Errorf("read cursors: %w", err)
		}
		for _, r := range rows {
			cursors[r.Account] = r.DeliveredSeq
		}
	}
	s.hub.syncGroup(g, members, func(account string) int64 {
		return max(cursors[account], s.cursors.pending(account, conv))
	})
	return nil
}

// groupJoiners returns the accounts among members with a user socket that
// does not receive group g yet.
func (h *hub) groupJoiners(g int64, members []string) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []string
	for _, acc := range members {
		for s := range h.byAccount[acc] {
			if _, in := h.byGroup[g][s]; !in && s.ch == channelUser {
				out = append(out, acc)
				break
			}
		}
	}
	return out
}

// syncGroup registers the user sockets of members for group g, starting
// each from cursor(account), and unregisters those of accounts that are no
// longer members.
func (h *hub) syncGroup(g int64, members map[string]bool, cursor func(account string) int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	gs := h.byGroup[g]
	for acc := range members {
		for s := range h.byAccount[acc] {
			if _, in := gs[s]; in || s.ch != channelUser {
				continue
			}
			if gs == nil {
				gs = map[*socket]struct{}{}
				h.byGroup[g] = gs
			}
			gs[s] = struct{}{}
			s.joinGroup(g, cursor(acc))
		}
	}
	for s := range gs {
		if s.ch == channelUser && !members[s.account] {
			delete(gs, s)
			s.leaveGroup(g)
		}
	}
	if len(gs) == 0 {
		delete(h.byGroup, g)
	}
}

// joinGroup starts receiving group g after seq from.
func (s *socket) joinGroup(g, from int64) {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if s.groups == nil {
		s.groups = map[int64]bool{}
	}
	s.groups[g] = true
	conv := chat.GroupKey(g)
	st := s.convs[conv]
	if st == nil {
		st = &convState{}
		s.setConv(conv, st)
	}
	st.last = max(st.last, from)
	st.maxSeen = max(st.maxSeen, st.last)
	st.catching = true
	s.startCatchUpLocked()
}

// leaveGroup stops receiving group g.
func (s *socket) leaveGroup(g int64) {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	delete(s.groups, g)
}
