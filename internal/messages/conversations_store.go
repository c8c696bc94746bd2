package messages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tim/internal/reply"
	"tim/internal/store"
)

// convStore is the database side of the conversation list, read cursors
// and group readers.
type convStore struct{ q *store.Store }

// advanceReads stores reads in one statement, retrying it when a concurrent
// batch deadlocked it, and returns one outcome per read, in order.
func (st convStore) advanceReads(ctx context.Context, reads []Read) ([]readOutcome, error) {
	in := make([]store.ReadAdvance, len(reads))
	for i, r := range reads {
		in[i] = store.ReadAdvance{Reader: r.Reader, Peer: r.With, GroupID: r.GroupID, Conv: r.Conv(), Seq: r.Seq}
	}
	var rows []store.ReadAdvanced
	var err error
	for attempt := 0; ; attempt++ {
		rows, err = st.q.ReadCursorAdvanceBatch(ctx, in)
		if err == nil || attempt == 3 || !errors.Is(err, store.ErrSerialization) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("advance read cursors: %w", err)
	}
	out := make([]readOutcome, len(reads))
	for i, row := range rows {
		r := reads[i]
		o := readOutcome{receipt: Receipt{Read: r, Cursor: row.ReadSeq, Time: row.ReadAt, Moved: row.Moved, Friends: row.Friends}}
		switch {
		case !row.TargetExists && r.GroupID != 0:
			o.err = reply.GroupNotFound
		case !row.TargetExists:
			o.err = reply.UserNotFound
		case !row.Allowed:
			o.err = reply.NotGroupMember
		case !row.HasConv && r.GroupID == 0:
			o.err = reply.NoConversation
		case r.Seq > row.LastSeq:
			o.err = reply.BeyondEnd
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
	var at time.Time
	var afterConv string
	if after != nil {
		at, afterConv = after.at, after.conv
	}
	rows, err := st.q.ConversationListForAccount(ctx, account, after != nil, at, afterConv, int32(limit))
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out := make([]conversationRow, len(rows))
	for i, r := range rows {
		c := conversationRow{
			conv: r.Conv, activity: r.Activity, peer: r.Peer, groupID: r.GroupID, name: r.Name,
			lastSeq: r.LastSeq, readSeq: r.ReadSeq, peerReadSeq: r.PeerReadSeq, unread: r.Unread,
		}
		if r.Last != nil {
			m := Message(*r.Last)
			c.last = &m
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

// groupAccess reports whether group g exists and account is a member, in
// one query (store.GroupMembership).
func (st convStore) groupAccess(ctx context.Context, g int64, account string) (exists, member bool, err error) {
	member, err = st.q.GroupMembership(ctx, g, account)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, false, nil
	case err != nil:
		return false, false, fmt.Errorf("check membership: %w", err)
	}
	return true, member, nil
}

// listGroupReaders reads the current members of g whose read cursor is at
// least seq.
func (st convStore) listGroupReaders(ctx context.Context, g, seq int64) ([]groupReader, error) {
	rows, err := st.q.GroupReaderList(ctx, g, GroupKey(g), seq)
	if err != nil {
		return nil, fmt.Errorf("list group readers: %w", err)
	}
	out := make([]groupReader, len(rows))
	for i, r := range rows {
		out[i] = groupReader{account: r.Account, username: r.Username, readSeq: r.ReadSeq}
	}
	return out, nil
}
