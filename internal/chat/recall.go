package chat

import (
	"errors"
	"time"

	"tim/gen/api"
)

// Errors a recall can end with, besides database errors. Nothing changed.
var (
	// ErrNoMessage: no message has the id, or it belongs to a conversation
	// the account cannot see (not a party, not a member, another
	// conversation than the socket's).
	ErrNoMessage = errors.New("no such message")
	// ErrNotSender: the message is someone else's.
	ErrNotSender = errors.New("not the sender")
	// ErrRecallExpired: the message is older than the recall window.
	ErrRecallExpired = errors.New("recall window passed")
	// ErrRecalled: the message was recalled already.
	ErrRecalled = errors.New("already recalled")
)

// RecallRequest asks to recall message ID for Account.
type RecallRequest struct {
	Account string
	ID      int64
	// Conv, when set, is the only conversation the message may belong to
	// (a one-to-one or group socket's).
	Conv string
	// Window is how long after it was stored a message may be recalled.
	Window time.Duration
}

// RecallFrame is m, a KindRecall event, as the recall frame clients
// receive.
func (m Message) RecallFrame() api.RecallFrame {
	f := api.RecallFrame{Type: api.RecallFrameTypeRecall, Id: m.Recalls, Seq: m.Seq, By: m.Sender, Time: m.Time}
	if m.GroupID != 0 {
		gid := m.GroupID
		f.GroupId = &gid
	} else {
		with := m.Recipient
		f.With = &with
	}
	return f
}
