package store

import (
	"context"
	"time"

	"tim/gen/db"
)

// Message is a committed message.
type Message struct {
	ID          int64
	Conv        string
	Seq         int64
	Sender      string
	Recipient   string // direct messages only
	GroupID     int64  // group messages only
	Kind        string
	Body        string
	ClientMsgID string
	Time        time.Time
	Media       *MessageMedia // media kinds, unless recalled
	Recalled    bool          // the sender recalled it: Body is empty, Media nil
	Recalls     int64         // kind recall: the recalled message's id
}

// MessageMedia describes the file of a media message, as its media row
// held it when the message was committed.
type MessageMedia struct {
	Type          string // content type, recognised at upload
	Size          int64  // bytes
	Width, Height int32  // pictures only; 0 when unknown
}

// MessageSend is one send of a batch to commit.
type MessageSend struct {
	Conv         string
	UserA, UserB string // a direct conversation's accounts; "" for a group
	Sender       string
	Recipient    string // "" for a group
	GroupID      int64  // 0 for a direct message
	Kind         string
	Body         string
	ClientMsgID  string // "" for none
	// MediaKind is the media table's kind (chatpic, mp3, mp4) of the upload
	// a media send names by its Body; "" for a text send.
	MediaKind string
}

// CommitStatus is how MessageCommitBatch ended one send.
type CommitStatus string

// Ends of a send in MessageCommitBatch.
const (
	CommitNew       CommitStatus = "new"        // stored now
	CommitRepeated  CommitStatus = "repeated"   // an earlier send with the same client id is stored
	CommitForbidden CommitStatus = "forbidden"  // not friends, or not a member of the group
	CommitBlocked   CommitStatus = "blocked"    // the recipient of a direct send blocks the sender
	CommitBlocking  CommitStatus = "blocking"   // the sender of a direct send blocks the recipient
	CommitNoMedia   CommitStatus = "no_media"   // the body names no upload
	CommitWrongKind CommitStatus = "wrong_kind" // the body names an upload of another kind
	CommitNotOwner  CommitStatus = "not_owner"  // the body names another account's upload
	CommitMuted     CommitStatus = "muted"      // the sender is muted in the group, or the group is
)

// MessageCommitted is what MessageCommitBatch answers for one send.
type MessageCommitted struct {
	Index  int // the send's position in the batch
	Status CommitStatus
	// ID, Seq and Time: the stored message's (new or repeated).
	ID   int64
	Seq  int64
	Time time.Time
	// Media: a new media message's description, copied from its upload.
	Media *MessageMedia
	// MutedUntil: a muted send's end of the sender's own mute; zero when
	// the whole group is muted.
	MutedUntil time.Time
}

// ConversationCursor is how far an account has been delivered in a
// conversation it takes part in.
type ConversationCursor struct {
	Conv         string
	LastSeq      int64 // the conversation's newest seq
	DeliveredSeq int64
	GroupID      int64 // 0 for a direct conversation
}

// Cursor is an advance of an account's delivery cursor.
type Cursor struct {
	Account string
	Conv    string
	Seq     int64
}

// ConversationChange is a conversation that took a message.
type ConversationChange struct {
	Key          string
	UserA, UserB string // a direct conversation's accounts; "" for a group
	GroupID      int64  // 0 for a direct conversation
	LastSeq      int64
	ChangedAt    time.Time // trails the last message by up to the committer's mark interval
}

func messageFromRow(r db.Message) Message {
	m := Message{Conv: r.Conv, Seq: r.Seq, Sender: r.Sender, Kind: r.Kind, Body: r.Body, Time: r.CreatedAt.Time}
	if r.ID != nil {
		m.ID = *r.ID
	}
	if r.Recipient != nil {
		m.Recipient = *r.Recipient
	}
	if r.GroupID != nil {
		m.GroupID = *r.GroupID
	}
	if r.ClientMsgID != nil {
		m.ClientMsgID = *r.ClientMsgID
	}
	if r.MediaType != nil && r.MediaSize != nil {
		m.Media = &MessageMedia{Type: *r.MediaType, Size: *r.MediaSize}
		if r.MediaWidth != nil && r.MediaHeight != nil {
			m.Media.Width, m.Media.Height = *r.MediaWidth, *r.MediaHeight
		}
	}
	m.Recalled = r.Recalled
	m.Recalls = deref(r.Recalls)
	return m
}

// deref is *p, or the zero value for nil.
func deref[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

func messagesFromRows(rows []db.Message) []Message {
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = messageFromRow(r)
	}
	return out
}

// MessageCommitBatch commits sends in one statement: it checks each send
// (a direct send needs friendship, a group send membership, a media send
// an upload of its MediaKind named by its body), answers a send whose
// client id is stored with the stored message, creates missing
// conversations, reserves gap-free seqs and inserts the new messages with
// their upload's description. It moves each conversation's changed_at to
// now only once it is markEvery old (see ConversationsChanged). It answers
// each send once, in no particular order, with how it ended.
func (q *Queries) MessageCommitBatch(ctx context.Context, sends []MessageSend, markEvery time.Duration) ([]MessageCommitted, error) {
	n := len(sends)
	arg := db.MessageCommitBatchParams{
		Convs: make([]string, n), UsersA: make([]string, n), UsersB: make([]string, n),
		Senders: make([]string, n), Recipients: make([]string, n), GroupIds: make([]int64, n),
		Kinds: make([]string, n), Bodies: make([]string, n), ClientMsgIds: make([]string, n),
		MediaKinds: make([]string, n), MarkSecs: markEvery.Seconds(),
	}
	for i, s := range sends {
		arg.Convs[i], arg.UsersA[i], arg.UsersB[i] = s.Conv, s.UserA, s.UserB
		arg.Senders[i], arg.Recipients[i], arg.GroupIds[i] = s.Sender, s.Recipient, s.GroupID
		arg.Kinds[i], arg.Bodies[i], arg.ClientMsgIds[i] = s.Kind, s.Body, s.ClientMsgID
		arg.MediaKinds[i] = s.MediaKind
	}
	rows, err := q.q.MessageCommitBatch(ctx, arg)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]MessageCommitted, len(rows))
	for i, r := range rows {
		out[i] = MessageCommitted{
			Index: int(r.I) - 1, Status: CommitStatus(r.Status), ID: r.ID, Seq: r.Seq, Time: r.CreatedAt.Time, MutedUntil: r.MutedUntil.Time,
		}
		if r.MediaType != "" {
			out[i].Media = &MessageMedia{Type: r.MediaType, Size: r.MediaSize, Width: r.MediaWidth, Height: r.MediaHeight}
		}
	}
	return out, nil
}

// MessageGetByClientID returns the message sender stored under
// clientMsgID in conv; ErrNotFound when there is none.
func (q *Queries) MessageGetByClientID(ctx context.Context, sender, conv, clientMsgID string) (Message, error) {
	r, err := q.q.MessageGetByClientID(ctx, db.MessageGetByClientIDParams{Sender: sender, Conv: conv, ClientMsgID: &clientMsgID})
	if err != nil {
		return Message{}, interpretError(err)
	}
	return messageFromRow(r), nil
}

// MessageListAfterSeq returns up to limit of the oldest rows of conv with
// seq above after, in seq order: messages, and recall events too when
// events is set (catch-up delivers them; history does not).
func (q *Queries) MessageListAfterSeq(ctx context.Context, conv string, after int64, events bool, limit int32) ([]Message, error) {
	rows, err := q.q.MessageListAfterSeq(ctx, db.MessageListAfterSeqParams{Conv: conv, AfterSeq: after, Events: events, MaxRows: limit})
	if err != nil {
		return nil, interpretError(err)
	}
	return messagesFromRows(rows), nil
}

// MessageListBeforeSeq returns up to limit of the newest messages of conv
// with seq below before, newest first; messages only, no recall events.
func (q *Queries) MessageListBeforeSeq(ctx context.Context, conv string, before int64, limit int32) ([]Message, error) {
	rows, err := q.q.MessageListBeforeSeq(ctx, db.MessageListBeforeSeqParams{Conv: conv, BeforeSeq: before, MaxRows: limit})
	if err != nil {
		return nil, interpretError(err)
	}
	return messagesFromRows(rows), nil
}

// DeliveryCursorListForAccount returns every conversation account takes
// part in, with its newest seq and how far account has been delivered; a
// group without messages yet has LastSeq 0.
func (q *Queries) DeliveryCursorListForAccount(ctx context.Context, account string) ([]ConversationCursor, error) {
	rows, err := q.q.DeliveryCursorListForAccount(ctx, account)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]ConversationCursor, len(rows))
	for i, r := range rows {
		out[i] = ConversationCursor{Conv: r.Conv, LastSeq: r.LastSeq, DeliveredSeq: r.DeliveredSeq, GroupID: r.GroupID}
	}
	return out, nil
}

// DeliveryCursorGet returns how far account has been delivered in conv; 0
// when never.
func (q *Queries) DeliveryCursorGet(ctx context.Context, account, conv string) (int64, error) {
	seq, err := q.q.DeliveryCursorGet(ctx, db.DeliveryCursorGetParams{Account: account, Conv: conv})
	return seq, interpretError(err)
}

// DeliveryCursorUpsertBatch advances cursors in one statement; a cursor
// never moves back, and conversations that do not exist are skipped.
func (q *Queries) DeliveryCursorUpsertBatch(ctx context.Context, cursors []Cursor) error {
	arg := db.DeliveryCursorUpsertBatchParams{
		Accounts: make([]string, len(cursors)), Convs: make([]string, len(cursors)), Seqs: make([]int64, len(cursors)),
	}
	for i, c := range cursors {
		arg.Accounts[i], arg.Convs[i], arg.Seqs[i] = c.Account, c.Conv, c.Seq
	}
	return interpretError(q.q.DeliveryCursorUpsertBatch(ctx, arg))
}

// DeliveryCursorSetToGroupEnd starts account at group groupID's newest
// message, so that a member who joins is not pushed the history before.
func (q *Queries) DeliveryCursorSetToGroupEnd(ctx context.Context, account string, groupID int64) error {
	return interpretError(q.q.DeliveryCursorSetToGroupEnd(ctx, db.DeliveryCursorSetToGroupEndParams{Account: account, GroupID: &groupID}))
}

// DatabaseNow returns the database's clock.
func (q *Queries) DatabaseNow(ctx context.Context) (time.Time, error) {
	t, err := q.q.DatabaseNow(ctx)
	return t.Time, interpretError(err)
}

// ConversationsChanged returns up to limit conversations whose changed_at
// is after since and at least settle ago, oldest change first. A message
// can leave changed_at as it was when that was less than the committer's
// mark interval old, so settle should include that interval.
func (q *Queries) ConversationsChanged(ctx context.Context, since time.Time, settle time.Duration, limit int32) ([]ConversationChange, error) {
	rows, err := q.q.ConversationsChanged(ctx, db.ConversationsChangedParams{Since: timestamptz(since), SettleSecs: settle.Seconds(), MaxRows: limit})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]ConversationChange, len(rows))
	for i, r := range rows {
		out[i] = ConversationChange{Key: r.Key, UserA: r.UserA, UserB: r.UserB, GroupID: r.GroupID, LastSeq: r.LastSeq, ChangedAt: r.ChangedAt.Time}
	}
	return out, nil
}
