package realtime

import (
	"context"
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

// typingRelay relays typing indicators as described above. It answers the
// sending socket and reaches every other socket only through its port onto
// the hub.
type typingRelay struct {
	q       typingStore
	hub     typingPort
	publish func(subject string, v any) // onto the bus, best effort
	logger  *slog.Logger
	// sent limits the typing frames this instance's sockets send, relayed
	// those it delivers.
	sent, relayed typingGate
}

// typingPort is what the typing relay needs of the hub.
type typingPort interface {
	// toGroupMembers queues frame to the sockets that carry group g but
	// those of account except.
	toGroupMembers(g int64, except string, frame []byte)
	// toConversation queues frame to account's sockets that carry conv.
	toConversation(account, conv string, frame []byte)
}

func newTypingRelay(q typingStore, hub typingPort, publish func(string, any), logger *slog.Logger) *typingRelay {
	return &typingRelay{q: q, hub: hub, publish: publish, logger: logger}
}

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

// handle serves a typing frame of so: over the limit it is dropped
// silently; without the right (friendship, membership, read from the
// database now) it gets an error frame.
func (t *typingRelay) handle(ctx context.Context, so *socket, f frame.Client) {
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
	if !t.sent.allow(typingKey{so.account, conv}, now) {
		return
	}
	allowed, err := t.mayType(ctx, so.account, f.To, f.GroupID)
	if r, refused := reply.As(err); refused {
		so.refuse(r, "")
		return
	}
	switch {
	case err != nil:
		t.logger.Error("check typing rights", slog.String("account", so.account), slog.Any("err", err))
		so.refuse(reply.TypingFailed, "")
		return
	case !allowed && f.GroupID != 0:
		so.refuse(reply.NotGroupMember, "")
		return
	case !allowed:
		so.refuse(reply.NotFriends, "")
		return
	}
	t.publish(subjectTyping, wireTyping{From: so.account, To: f.To, GroupID: f.GroupID, Time: now})
}

func (t *typingRelay) onTyping(data []byte) {
	var w wireTyping
	if err := json.Unmarshal(data, &w); err != nil {
		t.logger.Error("decode typing", slog.Any("err", err))
		return
	}
	if w.GroupID != 0 {
		if !t.relayed.allow(typingKey{w.From, messages.GroupKey(w.GroupID)}, w.Time) {
			return
		}
		t.hub.toGroupMembers(w.GroupID, w.From, frame.EncodeTyping(w.From, w.GroupID))
		return
	}
	conv := messages.DirectKey(w.From, w.To)
	if !t.relayed.allow(typingKey{w.From, conv}, w.Time) {
		return
	}
	t.hub.toConversation(w.To, conv, frame.EncodeTyping(w.From, 0))
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
