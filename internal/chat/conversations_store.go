package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"tim/gen/db"
	"tim/internal/store"
)

// convStore is the database side of the conversation list, read cursors
// and group readers: every use of the generated queries for them is in
// this file.
type convStore struct{ q *db.Queries }

func newConvStore(pool *pgxpool.Pool) convStore { return convStore{q: db.New(pool)} }

// advanceReads stores reads in one statement, retrying it when a concurrent
// batch deadlocked it, and returns one outcome per read, in order.
func (st convStore) advanceReads(ctx context.Context, reads []Read) ([]readOutcome, error) {
	n := len(reads)
	arg := db.ReadCursorAdvanceBatchParams{
		Readers: make([]string, n), Peers: make([]string, n), GroupIds: make([]int64, n),
		Convs: make([]string, n), Seqs: make([]int64, n),
	}
	for i, r := range reads {
		arg.Readers[i], arg.Peers[i], arg.GroupIds[i], arg.Convs[i], arg.Seqs[i] = r.Reader, r.With, r.GroupID, r.Conv(), r.Seq
	}
	var rows []db.ReadCursorAdvanceBatchRow
	var err error
	for attempt := 0; ; attempt++ {
		rows, err = st.q.ReadCursorAdvanceBatch(ctx, arg)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 3 || !errors.As(err, &pgErr) || (pgErr.Code != "40P01" && pgErr.Code != "40001") {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("advance read cursors: %w", err)
	}
	if len(rows) != n {
		return nil, fmt.Errorf("advance read cursors: %d rows for %d reads", len(rows), n)
	}
	out := make([]readOutcome, n)
	for _, row := range rows {
		i := int(row.I) - 1
		if i < 0 || i >= n {
			return nil, fmt.Errorf("advance read cursors: unexpected row for read %d", row.I)
		}
		r := reads[i]
		o := readOutcome{receipt: Receipt{Read: r, Cursor: row.ReadSeq, Time: row.ReadAt.Time, Moved: row.Moved, Friends: row.Friends}}
		switch {
		case !row.TargetExists && r.GroupID != 0:
			o.err = ErrUnknownGroup
		case !row.TargetExists:
			o.err = ErrUnknownAccount
		case !row.Allowed:
			o.err = ErrNotMember
		case row.LastSeq < 0 && r.GroupID == 0:
			o.err = ErrNoConversation
		case r.Seq > row.LastSeq:
			o.err = ErrBeyondEnd
		}
		out[i] = o
	}
	return out, nil
}

// conversationRow is one entry of the conversation list.
type conversationRow struct {
	conv        string
	activity    time.Time
	peer        string // direct
	groupID     int64  // group
	name        string
	lastSeq     int64
	readSeq     int64
	peerReadSeq int64
	unread      int64
	last        *Message // nil when the conversation has no message
}

// pageCursor is where a page of the conversation list starts: after the
// conversation conv, whose activity was at.
type pageCursor struct {
	at   time.Time
	conv string
}

// listConversations reads up to limit conversations of account after
// cursor (nil: from the most recent).
func (st convStore) listConversations(ctx context.Context, account string, after *pageCursor, limit int) ([]conversationRow, error) {
	arg := db.ConversationListForAccountParams{Account: account, MaxRows: int32(limit)}
	if after != nil {
		arg.Paged = true
		arg.AfterActivity = pgtype.Timestamptz{Time: after.at, Valid: true}
		arg.AfterKey = after.conv
	}
	rows, err := st.q.ConversationListForAccount(ctx, arg)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out := make([]conversationRow, len(rows))
	for i, r := range rows {
		c := conversationRow{
			conv: r.Conv, activity: r.Activity.Time, peer: r.Peer, groupID: r.GroupID, name: r.Name,
			lastSeq: r.LastSeq, readSeq: r.ReadSeq, peerReadSeq: r.PeerReadSeq, unread: r.Unread,
		}
		if r.HasMessage {
			c.last = &Message{
				ID: r.MsgID, Conv: r.Conv, Seq: r.LastSeq, Sender: r.MsgSender, Recipient: r.MsgRecipient,
				GroupID: r.GroupID, Kind: r.MsgKind, Body: r.MsgBody, ClientMsgID: r.MsgClientMsgID, Time: r.MsgTime.Time,
			}
		}
		out[i] = c
	}
	return out, nil
}

// groupReader is a member whose read cursor reached a seq.
type groupReader struct {
	account, username string
	readSeq           int64
}

// groupAccess reports whether group g exists and account is a member.
func (st convStore) groupAccess(ctx context.Context, g int64, account string) (exists, member bool, err error) {
	if _, err := st.q.GroupGet(ctx, g); err != nil {
		if errors.Is(store.Translate(err), store.ErrNotFound) {
			return false, false, nil
		}
		return false, false, fmt.Errorf("read group: %w", err)
	}
	member, err = st.q.GroupMemberExists(ctx, db.GroupMemberExistsParams{GroupID: g, Account: account})
	if err != nil {
		return true, false, fmt.Errorf("check membership: %w", err)
	}
	return true, member, nil
}

// listGroupReaders reads the current members of g whose read cursor is at
// least seq.
func (st convStore) listGroupReaders(ctx context.Context, g, seq int64) ([]groupReader, error) {
	rows, err := st.q.GroupReaderList(ctx, db.GroupReaderListParams{GroupID: g, Conv: GroupKey(g), Seq: seq})
	if err != nil {
		return nil, fmt.Errorf("list group readers: %w", err)
	}
	out := make([]groupReader, len(rows))
	for i, r := range rows {
		out[i] = groupReader{account: r.Account, username: r.Username, readSeq: r.ReadSeq}
	}
	return out, nil
}
