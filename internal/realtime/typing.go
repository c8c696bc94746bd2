package realtime

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"tim/internal/messages"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
)

// Typing indicators. A typing frame is relayed to the friend, or to the
// group's other members that are online, on every instance: not stored, not
// replayed, never acknowledged. At most one per sender and conversation is
// relayed every typingInterval: the sender's instance lets one through
// (typingSent) before it checks the right in the database and publishes
// on subjectTyping, and every instance lets one through per sending time
// (typingRelayed) before it delivers, which holds the limit also for a
// sender with sockets on several instances.

// subjectTyping carries typing indicators to every instance.
const subjectTyping = "tim.typing"

// typingInterval is the least time between two typing frames relayed for
// one sender and conversation.
const typingInterval = 2 * time.Second

type wireTyping struct {
	From    string    `json:"f"`
	To      string    `json:"t,omitempty"` // direct
	GroupID int64     `json:"g,omitempty"` // group
	Time    time.Time `json:"at"`          // when the sender's instance let it through
}

type typingKey struct{ account, conv string }

// typingGate lets one typing frame per sender and conversation through
// every typingInterval. Entries older than that are swept now and then, so
// it holds only the senders of the last few seconds.
type typingGate struct {
	mu    sync.Mutex
	last  map[typingKey]time.Time
	swept time.Time
}

// allow reports whether a frame of k at time at may pass, and records it
// when it does. A frame earlier than the last one let through never passes.
func (g *typingGate) allow(k typingKey, at time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.last[k]; ok && at.Sub(t) < typingInterval {
		return false
	}
	if g.last == nil {
		g.last = map[typingKey]time.Time{}
	}
	if at.Sub(g.swept) >= typingInterval {
		for key, t := range g.last {
			if at.Sub(t) >= typingInterval {
				delete(g.last, key)
			}
		}
		g.swept = at
	}
	g.last[k] = at
	return true
}

// handleTyping serves a typing frame: over the limit it is dropped
// silently; without the right (friendship, membership, read from the
// database now) it gets an error frame.
func (s *Service) handleTyping(so *socket, f frame.Client) {
	conv, ok := frameConv(so, f)
	if !ok {
		so.refuse(reply.TypingOtherConv, "")
		return
	}
	if f.To == so.account {
		so.refuse(reply.WithSelf, "")
		return
	}
	now := time.Now()
	if !s.typingSent.allow(typingKey{so.account, conv}, now) {
		return
	}
	allowed, err := s.mayType(s.ctx, so.account, f.To, f.GroupID)
	switch {
	case err != nil:
		s.logger.Error("check typing rights", slog.String("account", so.account), slog.Any("err", err))
		so.refuse(reply.TypingFailed, "")
		return
	case !allowed && f.GroupID != 0:
		so.refuse(reply.NotGroupMember, "")
		return
	case !allowed:
		so.refuse(reply.NotFriends, "")
		return
	}
	s.publish(subjectTyping, wireTyping{From: so.account, To: f.To, GroupID: f.GroupID, Time: now})
}

func (s *Service) onTyping(data []byte) {
	var w wireTyping
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode typing", slog.Any("err", err))
		return
	}
	if w.GroupID != 0 {
		if !s.typingRelayed.allow(typingKey{w.From, messages.GroupKey(w.GroupID)}, w.Time) {
			return
		}
		s.hub.toGroupMembers(w.GroupID, w.From, frame.EncodeTyping(w.From, w.GroupID))
		return
	}
	conv := messages.DirectKey(w.From, w.To)
	if !s.typingRelayed.allow(typingKey{w.From, conv}, w.Time) {
		return
	}
	s.hub.toConversation(w.To, conv, frame.EncodeTyping(w.From, 0))
}

// toGroupMembers queues a control frame to the registered sockets that
// carry group g (group sockets of g and members' user sockets), except
// those of account.
func (h *hub) toGroupMembers(g int64, except string, frame []byte) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.byGroup[g] {
		if s.account != except {
			s.sendControl(frame)
		}
	}
}
