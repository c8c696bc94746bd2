package realtime

import (
	"slices"

	"tim/internal/messages"
)

// Membership of user sockets in groups: the hub registers a user socket for
// the groups its account belongs to, and follows joins and leaves (access.go).

// joinGroup registers the user sockets of account on this instance for
// group g, each starting after seq from and catching up from the database
// on what it missed.
func (h *hub) joinGroup(g int64, account string, from int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.byAccount[account] {
		if s.ch != channelUser {
			continue
		}
		gs := h.byGroup[g]
		if _, in := gs[s]; in {
			continue
		}
		if gs == nil {
			gs = map[*socket]struct{}{}
			h.byGroup[g] = gs
		}
		gs[s] = struct{}{}
		s.joinGroup(g, from)
	}
}

// leaveGroup ends account's access to group g on this instance: its user
// sockets stop receiving the group and its group sockets of g, registered
// or still opening, close with 4003.
func (h *hub) leaveGroup(g int64, account string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	gs := h.byGroup[g]
	for s := range gs {
		if s.account == account && s.ch == channelUser {
			delete(gs, s)
			s.leaveGroup(g)
		}
	}
	if len(gs) == 0 {
		delete(h.byGroup, g)
	}
	for s := range h.sessions[account] {
		if s.ch == channelGroup && s.groupID == g {
			s.disconnect(disconnectNotMember)
		}
	}
}

// followGroups brings the groups account's registered user sockets receive
// in line with groups, its memberships: it stops those it left and returns
// those it joined, for the caller to register from their cursors.
func (h *hub) followGroups(account string, groups map[int64]bool) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var joined []int64
	for s := range h.byAccount[account] {
		if s.ch != channelUser {
			continue
		}
		s.dmu.Lock()
		var left []int64
		for g := range s.groups {
			if !groups[g] {
				left = append(left, g)
			}
		}
		for g := range groups {
			if !s.groups[g] && !slices.Contains(joined, g) {
				joined = append(joined, g)
			}
		}
		s.dmu.Unlock()
		for _, g := range left {
			if gs := h.byGroup[g]; gs != nil {
				delete(gs, s)
				if len(gs) == 0 {
					delete(h.byGroup, g)
				}
			}
			s.leaveGroup(g)
		}
	}
	return joined
}

// joinGroup starts receiving group g after seq from.
func (s *socket) joinGroup(g, from int64) {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if s.groups == nil {
		s.groups = map[int64]bool{}
	}
	s.groups[g] = true
	conv := messages.GroupKey(g)
	st := s.convState(conv)
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
