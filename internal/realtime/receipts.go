package realtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"tim/internal/messages"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
)

// Read receipts. A read frame (or POST /Tim/read, through MarkRead) moves
// the account's read cursor, which messages.Reads stores before anyone hears
// of it; a cursor that moved is published on subjectReceipt, and every
// instance hands a receipt frame to the local sockets concerned: the
// reader's, and for a direct conversation the other party's while the two
// are friends. Receipts are control frames: no seq, not stored as
// messages, not replayed (GET /Tim/conversations has the cursors).

// subjectReceipt carries moved read cursors to every instance.
const subjectReceipt = "tim.receipt"

type wireReceipt struct {
	Reader  string    `json:"r"`
	With    string    `json:"w,omitempty"` // direct
	GroupID int64     `json:"g,omitempty"` // group
	Seq     int64     `json:"s"`
	Time    time.Time `json:"t"`
	ToPeer  bool      `json:"p,omitempty"` // With hears of it too
}

// MarkRead moves r's read cursor and, when it moved, sends receipts to the
// sockets concerned on every instance. The cursor is stored when MarkRead
// returns without error.
func (s *Service) MarkRead(ctx context.Context, r messages.Read) (messages.Receipt, error) {
	rc, err := s.reads.Mark(ctx, r)
	if err == nil && rc.Moved {
		s.publishReceipt(rc)
	}
	return rc, err
}

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
				s.publishReceipt(rc)
			}
			return
		}
		so.refuse(refusal(err, reply.ReadFailed, reply.ReadFailed), "")
	})
}

func (s *Service) publishReceipt(rc messages.Receipt) {
	s.publish(subjectReceipt, wireReceipt{
		Reader: rc.Reader, With: rc.With, GroupID: rc.GroupID, Seq: rc.Cursor, Time: rc.Time,
		ToPeer: rc.GroupID == 0 && rc.Friends,
	})
}

func (s *Service) onReceipt(data []byte) {
	var w wireReceipt
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode receipt", slog.Any("err", err))
		return
	}
	rc := messages.Receipt{Read: messages.Read{Reader: w.Reader, With: w.With, GroupID: w.GroupID}, Cursor: w.Seq, Time: w.Time}
	conv := rc.Conv()
	s.hub.toConversation(w.Reader, conv, frame.EncodeReceipt(rc.Framed(), w.Reader))
	if w.ToPeer && w.With != "" {
		s.hub.toConversation(w.With, conv, frame.EncodeReceipt(rc.Framed(), w.With))
	}
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
