package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"tim/gen/db"
)

// ReadAdvance is one read of a batch for ReadCursorAdvanceBatch: Reader
// has read conversation Conv up to Seq. Peer names the other party of a
// direct conversation, GroupID the group of a group one.
type ReadAdvance struct {
	Reader  string
	Peer    string
	GroupID int64
	Conv    string
	Seq     int64
}

// ReadAdvanced is what ReadCursorAdvanceBatch made of one read.
type ReadAdvanced struct {
	Index        int  // the read's position in the batch
	TargetExists bool // the peer's account, or the group, exists
	Allowed      bool // a direct conversation, or the reader is a member of the group
	Friends      bool // a direct read whose parties are friends
	LastSeq      int64
	HasConv      bool // the conversation has a row (LastSeq is -1 without)
	Moved        bool
	ReadSeq      int64     // the cursor after the statement
	ReadAt       time.Time // when the cursor reached ReadSeq
}

// ReadCursorAdvanceBatch moves a batch of read cursors in one statement
// (see queries/receipts.sql) and returns one outcome per read, in order.
func (q *Queries) ReadCursorAdvanceBatch(ctx context.Context, reads []ReadAdvance) ([]ReadAdvanced, error) {
	n := len(reads)
	arg := db.ReadCursorAdvanceBatchParams{
		Readers: make([]string, n), Peers: make([]string, n), GroupIds: make([]int64, n),
		Convs: make([]string, n), Seqs: make([]int64, n),
	}
	for i, r := range reads {
		arg.Readers[i], arg.Peers[i], arg.GroupIds[i], arg.Convs[i], arg.Seqs[i] = r.Reader, r.Peer, r.GroupID, r.Conv, r.Seq
	}
	rows, err := q.q.ReadCursorAdvanceBatch(ctx, arg)
	if err != nil {
		return nil, interpretError(err)
	}
	if len(rows) != n {
		return nil, fmt.Errorf("%d rows for %d reads", len(rows), n)
	}
	out := make([]ReadAdvanced, n)
	for _, r := range rows {
		i := int(r.I) - 1
		if i < 0 || i >= n {
			return nil, fmt.Errorf("unexpected row for read %d", r.I)
		}
		out[i] = ReadAdvanced{
			Index: i, TargetExists: r.TargetExists, Allowed: r.Allowed, Friends: r.Friends,
			LastSeq: r.LastSeq, HasConv: r.LastSeq >= 0, Moved: r.Moved, ReadSeq: r.ReadSeq, ReadAt: r.ReadAt.Time,
		}
	}
	return out, nil
}

// ReadCursorSetToGroupEnd starts account's read cursor of group groupID at
// the group's newest message (never moving it back).
func (q *Queries) ReadCursorSetToGroupEnd(ctx context.Context, account string, groupID int64) error {
	return interpretError(q.q.ReadCursorSetToGroupEnd(ctx, db.ReadCursorSetToGroupEndParams{Account: account, GroupID: groupID}))
}

// ConversationEntry is one entry of an account's conversation list.
type ConversationEntry struct {
	Conv        string
	Activity    time.Time
	Peer        string // direct
	GroupID     int64  // group
	Name        string // the peer's username or the group's name
	LastSeq     int64
	ReadSeq     int64
	PeerReadSeq int64 // direct
	// Unread counts the messages past ReadSeq that others sent; recall
	// events are not counted.
	Unread int64
	// Last is the newest message (recall events aside); nil when there is
	// none.
	Last *Message
}

// ConversationListForAccount reads up to limit of account's
// conversations, most recent activity first; when paged, those after the
// conversation afterConv whose activity was at afterActivity.
func (q *Queries) ConversationListForAccount(ctx context.Context, account string, paged bool, afterActivity time.Time, afterConv string, limit int32) ([]ConversationEntry, error) {
	arg := db.ConversationListForAccountParams{Account: account, MaxRows: limit}
	if paged {
		arg.Paged = true
		arg.AfterActivity = pgtype.Timestamptz{Time: afterActivity, Valid: true}
		arg.AfterKey = afterConv
	}
	rows, err := q.q.ConversationListForAccount(ctx, arg)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]ConversationEntry, len(rows))
	for i, r := range rows {
		c := ConversationEntry{
			Conv: r.Conv, Activity: r.Activity.Time, Peer: r.Peer, GroupID: r.GroupID, Name: r.Name,
			LastSeq: r.LastSeq, ReadSeq: r.ReadSeq, PeerReadSeq: r.PeerReadSeq, Unread: r.Unread,
		}
		if r.HasMessage {
			m := &Message{
				ID: r.MsgID, Conv: r.Conv, Seq: r.MsgSeq, Sender: r.MsgSender, Recipient: r.MsgRecipient,
				GroupID: r.GroupID, Kind: r.MsgKind, Body: r.MsgBody, ClientMsgID: r.MsgClientMsgID,
				Time: r.MsgTime.Time, Recalled: r.MsgRecalled,
			}
			if r.MsgMediaType != nil && r.MsgMediaSize != nil {
				m.Media = &MessageMedia{Type: *r.MsgMediaType, Size: *r.MsgMediaSize}
				if r.MsgMediaWidth != nil && r.MsgMediaHeight != nil {
					m.Media.Width, m.Media.Height = *r.MsgMediaWidth, *r.MsgMediaHeight
				}
			}
			c.Last = m
		}
		out[i] = c
	}
	return out, nil
}

// GroupReader is a member whose read cursor reached a seq.
type GroupReader struct {
	Account  string
	Username string
	ReadSeq  int64
}

// GroupReaderList returns the current members of groupID whose read cursor
// in its conversation conv is at least seq, by account.
func (q *Queries) GroupReaderList(ctx context.Context, groupID int64, conv string, seq int64) ([]GroupReader, error) {
	rows, err := q.q.GroupReaderList(ctx, db.GroupReaderListParams{GroupID: groupID, Conv: conv, Seq: seq})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]GroupReader, len(rows))
	for i, r := range rows {
		out[i] = GroupReader{Account: r.Account, Username: r.Username, ReadSeq: r.ReadSeq}
	}
	return out, nil
}
