package realtime

import (
	"tim/internal/messages"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
)

// Read receipts. A read frame (or POST /Tim/read, which package messages
// serves) moves the account's read cursor, which messages.Reads stores
// before anyone hears of it; a cursor that moved is published, and every
// instance hands a receipt frame to the local sockets concerned: the
// reader's, and for a direct conversation the other party's while the two
// are friends (messages.Receipt.Notices). Receipts are control frames: no
// seq, not stored as messages, not replayed (GET /Tim/conversations has the
// cursors).

// handleRead serves a read frame. The cursor is stored in the reads
// batcher's goroutine; the socket hears of it through its receipt, or gets
// an error frame.
func (s *Service) handleRead(so *socket, f frame.Client) {
	if _, ok := frameConv(so, f); !ok {
		so.refuse(reply.ReadOtherConv, "")
		return
	}
	if f.To == so.account {
		so.refuse(reply.WithSelf, "")
		return
	}
	s.reads.MarkAsync(messages.Read{Reader: so.account, With: f.To, GroupID: f.GroupID, Seq: f.Seq}, func(rc messages.Receipt, err error) {
		if err == nil {
			if rc.Moved {
				rc.Publish(s.ctx, s, s.logger)
			}
			return
		}
		so.refuse(refusal(err, reply.ReadFailed, reply.ReadFailed), "")
	})
}

// toConversation queues a control frame to account's registered sockets
// that carry conversation conv: its user sockets, and its one-to-one or
// group sockets of conv.
func (h *hub) toConversation(account, conv string, frame []byte) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.byAccount[account] {
		if s.ch == channelUser || s.conv == conv {
			s.sendControl(frame)
		}
	}
}

// frameConv is the conversation a read or typing frame names; on a
// one-to-one or group socket it must be the socket's own.
func frameConv(so *socket, f frame.Client) (string, bool) {
	conv := messages.GroupKey(f.GroupID)
	if f.GroupID == 0 {
		conv = messages.DirectKey(so.account, f.To)
	}
	return conv, so.ch == channelUser || conv == so.conv
}
