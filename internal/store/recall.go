package store

import (
	"context"
	"time"

	"tim/gen/db"
)

// RecallTarget is a message about to be recalled, as
// MessageGetForRecall reads it.
type RecallTarget struct {
	ID        int64
	Conv      string
	Sender    string
	Recipient string // direct messages only
	GroupID   int64  // group messages only
	Kind      string
	Recalled  bool
	Expired   bool // stored longer ago than the window
}

// MessageGetForRecall returns message id, locked until the transaction
// ends, and whether it was stored more than window ago; ErrNotFound when
// there is none.
func (q *Queries) MessageGetForRecall(ctx context.Context, id int64, window time.Duration) (RecallTarget, error) {
	r, err := q.q.MessageGetForRecall(ctx, db.MessageGetForRecallParams{ID: &id, WindowSecs: window.Seconds()})
	if err != nil {
		return RecallTarget{}, interpretError(err)
	}
	return RecallTarget{
		ID: id, Conv: r.Conv, Sender: r.Sender, Recipient: r.Recipient, GroupID: r.GroupID,
		Kind: r.Kind, Recalled: r.Recalled, Expired: r.Expired,
	}, nil
}

// ConversationTakeSeq reserves the next seq of conv, under its row lock
// until the transaction ends; ErrNotFound when conv does not exist.
func (q *Queries) ConversationTakeSeq(ctx context.Context, conv string) (int64, error) {
	seq, err := q.q.ConversationTakeSeq(ctx, conv)
	return seq, interpretError(err)
}

// MessageInsertRecall stores the event recalling message m.ID at seq of
// m's conversation, sent by m's sender, and returns its id and time.
func (q *Queries) MessageInsertRecall(ctx context.Context, m RecallTarget, seq int64) (id int64, at time.Time, err error) {
	recalls := m.ID
	r, err := q.q.MessageInsertRecall(ctx, db.MessageInsertRecallParams{
		Conv: m.Conv, Seq: seq, Sender: m.Sender, Recipient: m.Recipient, GroupID: m.GroupID, Recalls: &recalls,
	})
	if err != nil {
		return 0, time.Time{}, interpretError(err)
	}
	return deref(r.ID), r.CreatedAt.Time, nil
}

// MessageMarkRecalled empties message id's body and media and marks it
// recalled; it keeps its seq. The file of a media message is marked
// recalled too: see MediaGetForDownload.
func (q *Queries) MessageMarkRecalled(ctx context.Context, id int64) error {
	return interpretError(q.q.MessageMarkRecalled(ctx, &id))
}
