package messages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tim/internal/reply"
	"tim/internal/store"
)

// A recall is refused, and nothing changed, with reply.NoMessage (no
// message has the id, or it belongs to a conversation the account cannot
// see: not a party, not a member, another conversation than the socket's),
// reply.NotSender (the message is someone else's), reply.RecallExpired
// (older than the recall window) or reply.Recalled (recalled already).
// Other errors are failures.

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

// Recaller recalls messages.
type Recaller struct {
	st *store.Store
}

// NewRecaller returns a Recaller over st.
func NewRecaller(st *store.Store) *Recaller { return &Recaller{st: st} }

// Recall recalls a message: in one transaction it checks that the
// account may see the message and sent it within the window, stores the
// recall event at the conversation's next seq, and empties the message's
// body and media. It returns the event, to be published like a committed
// message; the errors above leave everything as it was.
func (rc *Recaller) Recall(ctx context.Context, r RecallRequest) (Message, error) {
	var ev Message
	err := rc.st.Tx(ctx, func(q *store.Queries) error {
		m, err := q.MessageGetForRecall(ctx, r.ID, r.Window)
		if errors.Is(err, store.ErrNotFound) {
			return reply.NoMessage
		}
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		if m.Kind == KindRecall || (r.Conv != "" && m.Conv != r.Conv) {
			return reply.NoMessage
		}
		if m.GroupID != 0 {
			member, err := q.GroupMemberExists(ctx, m.GroupID, r.Account)
			if err != nil {
				return fmt.Errorf("check membership: %w", err)
			}
			if !member {
				return reply.NoMessage
			}
		} else if r.Account != m.Sender && r.Account != m.Recipient {
			return reply.NoMessage
		}
		switch {
		case m.Sender != r.Account:
			return reply.NotSender
		case m.Recalled:
			return reply.Recalled
		case m.Expired:
			return reply.RecallExpired
		}
		seq, err := q.ConversationTakeSeq(ctx, m.Conv)
		if err != nil {
			return fmt.Errorf("reserve seq: %w", err)
		}
		id, at, err := q.MessageInsertRecall(ctx, m, seq)
		if err != nil {
			return fmt.Errorf("insert recall: %w", err)
		}
		if err := q.MessageMarkRecalled(ctx, m.ID); err != nil {
			return fmt.Errorf("mark recalled: %w", err)
		}
		ev = Message{
			ID: id, Conv: m.Conv, Seq: seq, Sender: m.Sender, Recipient: m.Recipient, GroupID: m.GroupID,
			Kind: KindRecall, Time: at, Recalls: m.ID,
		}
		return nil
	})
	if err != nil {
		return Message{}, fmt.Errorf("recall message %d: %w", r.ID, err)
	}
	return ev, nil
}
