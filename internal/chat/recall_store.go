package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"tim/gen/db"
	"tim/internal/store"
)

// Recall recalls a message: in one transaction it checks that the
// account may see the message and sent it within the window, stores the
// recall event at the conversation's next seq, and empties the message's
// body and media. It returns the event, to be published like a committed
// message; the errors of recall.go leave everything as it was.
func (s *Store) Recall(ctx context.Context, r RecallRequest) (Message, error) {
	var ev Message
	err := store.InTx(ctx, s.pool, func(q *db.Queries) error {
		id := r.ID
		row, err := q.MessageGetForRecall(ctx, db.MessageGetForRecallParams{ID: &id, WindowSecs: r.Window.Seconds()})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoMessage
		}
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		if row.Kind == KindRecall || (r.Conv != "" && row.Conv != r.Conv) {
			return ErrNoMessage
		}
		if row.GroupID != 0 {
			member, err := q.GroupMemberExists(ctx, db.GroupMemberExistsParams{GroupID: row.GroupID, Account: r.Account})
			if err != nil {
				return fmt.Errorf("check membership: %w", err)
			}
			if !member {
				return ErrNoMessage
			}
		} else if r.Account != row.Sender && r.Account != row.Recipient {
			return ErrNoMessage
		}
		switch {
		case row.Sender != r.Account:
			return ErrNotSender
		case row.Recalled:
			return ErrRecalled
		case row.Expired:
			return ErrRecallExpired
		}
		seq, err := q.ConversationTakeSeq(ctx, row.Conv)
		if err != nil {
			return fmt.Errorf("reserve seq: %w", err)
		}
		ins, err := q.MessageInsertRecall(ctx, db.MessageInsertRecallParams{
			Conv: row.Conv, Seq: seq, Sender: row.Sender, Recipient: row.Recipient, GroupID: row.GroupID, Recalls: &id,
		})
		if err != nil {
			return fmt.Errorf("insert recall: %w", err)
		}
		if err := q.MessageMarkRecalled(ctx, &id); err != nil {
			return fmt.Errorf("mark recalled: %w", err)
		}
		ev = Message{
			Conv: row.Conv, Seq: seq, Sender: row.Sender, Recipient: row.Recipient, GroupID: row.GroupID,
			Kind: KindRecall, Time: ins.CreatedAt.Time, Recalls: id,
		}
		if ins.ID != nil {
			ev.ID = *ins.ID
		}
		return nil
	})
	if err != nil {
		return Message{}, fmt.Errorf("recall message %d: %w", r.ID, err)
	}
	return ev, nil
}
