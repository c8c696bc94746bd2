package realtime

import "sync"

// hub indexes this instance's sockets for fan-out. Delivery never blocks:
// sockets queue frames and close themselves on overflow.
type hub struct {
	mu        sync.RWMutex
	byAccount map[string]map[*socket]struct{}
	byGroup   map[int64]map[*socket]struct{}  // group sockets and members' user sockets
	slots     map[string]int                  // sockets per account, reserved before the upgrade
	sessions  map[string]map[*socket]struct{} // every open socket from its upgrade, for closing
	// groupSessions are the group-channel sockets of each group from their
	// upgrade on, so that none misses a member's presence during its open;
	// groupWaits hold the frames for those between their handshake and
	// hub.open.
	groupSessions map[int64]map[*socket]struct{}
	groupWaits    map[int64]map[*groupWait]struct{}
	closed        bool // shutting down: sockets opened now are closed at once
	// epochs counts the membership and friendship changes applied per
	// account, so that a socket whose open raced one re-checks its rights.
	epochs map[string]uint64
}

func newHub() *hub {
	return &hub{
		byAccount: map[string]map[*socket]struct{}{}, byGroup: map[int64]map[*socket]struct{}{},
		slots: map[string]int{}, sessions: map[string]map[*socket]struct{}{}, epochs: map[string]uint64{},
		groupSessions: map[int64]map[*socket]struct{}{}, groupWaits: map[int64]map[*groupWait]struct{}{},
	}
}

// groupWait collects the presence frames of one group for a group socket
// that is being opened: its client may see the upgrade, and a member may
// come online, before hub.open records the socket.
type groupWait struct {
	group  int64
	mu     sync.Mutex
	frames [][]byte
}

// awaitGroup starts collecting group g's presence frames for a socket to be
// opened; hub.open hands them to the socket, endWait drops them.
func (h *hub) awaitGroup(g int64) *groupWait {
	w := &groupWait{group: g}
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.groupWaits[g]
	if ws == nil {
		ws = map[*groupWait]struct{}{}
		h.groupWaits[g] = ws
	}
	ws[w] = struct{}{}
	return w
}

// endWait stops collecting for w (nil: none).
func (h *hub) endWait(w *groupWait) {
	if w == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endWaitLocked(w)
}

func (h *hub) endWaitLocked(w *groupWait) {
	if ws := h.groupWaits[w.group]; ws != nil {
		delete(ws, w)
		if len(ws) == 0 {
			delete(h.groupWaits, w.group)
		}
	}
}

// reserve takes one of account's socket slots; false when limit are in use.
func (h *hub) reserve(account string, limit int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.slots[account] >= limit {
		return false
	}
	h.slots[account]++
	return true
}

func (h *hub) release(account string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.slots[account]--; h.slots[account] <= 0 {
		delete(h.slots, account)
	}
}

// open records s from its upgrade on, so that logout and shutdown reach it
// even during its open sequence. A group socket gets the presence frames its
// wait collected first (held, as later ones are, until its own are queued).
func (h *hub) open(s *socket, wait *groupWait) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if wait != nil {
		h.endWaitLocked(wait)
		wait.mu.Lock()
		for _, f := range wait.frames {
			s.sendPresence(f)
		}
		wait.mu.Unlock()
	}
	if h.closed {
		s.disconnect(disconnectShutdown)
	}
	set := h.sessions[s.account]
	if set == nil {
		set = map[*socket]struct{}{}
		h.sessions[s.account] = set
	}
	set[s] = struct{}{}
	if s.ch == channelGroup {
		gs := h.groupSessions[s.groupID]
		if gs == nil {
			gs = map[*socket]struct{}{}
			h.groupSessions[s.groupID] = gs
		}
		gs[s] = struct{}{}
	}
}

func (h *hub) end(s *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.sessions[s.account]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.sessions, s.account)
		}
	}
	if gs := h.groupSessions[s.groupID]; s.ch == channelGroup && gs != nil {
		delete(gs, s)
		if len(gs) == 0 {
			delete(h.groupSessions, s.groupID)
		}
	}
}

// add registers s for the conversations it receives; groups are the groups
// a user socket receives.
func (h *hub) add(s *socket, groups []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.byAccount[s.account]
	if set == nil {
		set = map[*socket]struct{}{}
		h.byAccount[s.account] = set
	}
	set[s] = struct{}{}
	if s.ch == channelGroup {
		groups = []int64{s.groupID}
	}
	for _, g := range groups {
		gs := h.byGroup[g]
		if gs == nil {
			gs = map[*socket]struct{}{}
			h.byGroup[g] = gs
		}
		gs[s] = struct{}{}
	}
}

// remove unregisters s from every conversation it receives.
func (h *hub) remove(s *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.byAccount[s.account]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.byAccount, s.account)
		}
	}
	groups := []int64{s.groupID}
	if s.ch != channelGroup {
		s.dmu.Lock()
		groups = groups[:0]
		for g := range s.groups {
			groups = append(groups, g)
		}
		s.dmu.Unlock()
	}
	for _, g := range groups {
		if gs := h.byGroup[g]; gs != nil {
			delete(gs, s)
			if len(gs) == 0 {
				delete(h.byGroup, g)
			}
		}
	}
}

// deliverMessage hands a committed message's frame to every local socket
// that receives its conversation; instance is this instance's id, which
// tells whether w's origin socket is one of its own. The origin socket
// gets w.Ack in the message's place (nil: an empty entry that only marks
// the seq as delivered), and w.AckQueued says whether it was queued.
// wakes, if set, takes the writers' wake-ups.
func (h *hub) deliverMessage(instance string, w *wireMessage, wakes *wakeSet) {
	var origin uint64
	if w.Origin != 0 && string(w.Instance) == instance {
		origin = w.Origin
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if w.GroupID != 0 {
		for s := range h.byGroup[w.GroupID] {
			if s.id == origin {
				w.AckQueued = s.deliver(w.Conv, w.Seq, w.Ack, w.Committed, wakes)
			} else {
				s.deliver(w.Conv, w.Seq, w.Frame, w.Committed, wakes)
			}
		}
		return
	}
	for i, acc := range [2]string{w.Sender, w.Recipient} {
		if i == 1 && acc == w.Sender {
			break
		}
		for s := range h.byAccount[acc] {
			switch {
			case s.ch != channelUser && s.conv != w.Conv:
			case s.id == origin:
				w.AckQueued = s.deliver(w.Conv, w.Seq, w.Ack, w.Committed, wakes)
			default:
				s.deliver(w.Conv, w.Seq, w.Frame, w.Committed, wakes)
			}
		}
	}
}

// toUserSockets queues a presence frame to the user-channel sockets of accounts.
func (h *hub) toUserSockets(accounts []string, frame []byte) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	// sessions, not byAccount: a socket hears of presence changes from its
	// upgrade on, so that none falls between its users list and its
	// registration for messages; it holds them until the list is sent.
	for _, acc := range accounts {
		for s := range h.sessions[acc] {
			if s.ch == channelUser {
				s.sendPresence(frame)
			}
		}
	}
}

// toGroupSockets queues frames to the group-channel sockets of group g,
// except the socket with id skip.
func (h *hub) toGroupSockets(g int64, skip uint64, frames ...[]byte) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	// From the upgrade on; a socket holds them until its own open frames
	// are queued.
	for s := range h.groupSessions[g] {
		if s.id != skip {
			for _, f := range frames {
				s.sendPresence(f)
			}
		}
	}
	for w := range h.groupWaits[g] {
		w.mu.Lock()
		w.frames = append(w.frames, frames...)
		w.mu.Unlock()
	}
}

// disconnect closes with d account's sockets, from their upgrade on, that
// match (all of them when match is nil).
func (h *hub) disconnect(account string, match func(*socket) bool, d disconnect) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.sessions[account] {
		if match == nil || match(s) {
			s.disconnect(d)
		}
	}
}

// shutdown closes every socket, and those opened later, with
// disconnectShutdown.
func (h *hub) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, set := range h.sessions {
		for s := range set {
			s.disconnect(disconnectShutdown)
		}
	}
}

// bumpEpoch records a change of account's memberships or friendships.
func (h *hub) bumpEpoch(account string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.epochs[account]++
}

// epoch is account's count of changes applied.
func (h *hub) epoch(account string) uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.epochs[account]
}

// hasUserSocket reports whether account has a registered user socket here.
func (h *hub) hasUserSocket(account string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.byAccount[account] {
		if s.ch == channelUser {
			return true
		}
	}
	return false
}

// openSockets returns every socket from its upgrade on.
func (h *hub) openSockets() []*socket {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []*socket
	for _, set := range h.sessions {
		for s := range set {
			out = append(out, s)
		}
	}
	return out
}
