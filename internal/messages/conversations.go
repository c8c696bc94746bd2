package messages

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// Publisher hands an encoded server frame to the open sockets of an account
// that carry a conversation, on every instance; the realtime service is one.
type Publisher interface {
	Publish(ctx context.Context, account, conv string, data []byte) error
}

// Conversations serves GET /Tim/conversations, POST /Tim/read and
// GET /Tim/groupReaders.
type Conversations struct {
	store  convStore
	reads  *Reads
	pub    Publisher
	logger *slog.Logger
}

// NewConversations returns the endpoints over st; reads stores read
// cursors, and pub tells the sockets concerned of those that moved.
func NewConversations(st *store.Store, reads *Reads, pub Publisher, logger *slog.Logger) *Conversations {
	return &Conversations{store: convStore{q: st}, reads: reads, pub: pub, logger: logger}
}

const (
	conversationsDefaultLimit = 50

	msgConversationsOK = "获取会话列表成功"
	msgReadOK          = "已读成功"
	msgGroupReadersOK  = "获取已读成员成功"
)

// GetConversations returns a page of the account's conversations, most
// recent activity first, with unread counts.
func (c *Conversations) GetConversations(ctx context.Context, req server.GetConversationsRequestObject) (server.GetConversationsResponseObject, error) {
	p := req.Params
	if err := actsFor(ctx, p.Account); err != nil {
		return reply.Refuse(err)
	}
	limit := conversationsDefaultLimit
	if p.Limit != nil {
		limit = int(*p.Limit) // the validator holds it to 1 to 200
	}
	var after *pageCursor
	if p.Cursor != nil {
		cur, err := decodePageCursor(*p.Cursor)
		if err != nil {
			return reply.BadPageCursor.Envelope(), nil
		}
		after = &cur
	}
	// One row more than the page tells whether another page follows.
	rows, err := c.store.listConversations(ctx, p.Account, after, limit+1)
	if err != nil {
		return nil, err
	}
	page := models.ConversationPage{Conversations: make([]models.Conversation, 0, min(len(rows), limit))}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next := encodePageCursor(pageCursor{at: last.activity, conv: last.conv})
		page.Next = &next
	}
	for _, r := range rows {
		page.Conversations = append(page.Conversations, toAPIConversation(r))
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgConversationsOK, Data: page}, nil
}

func toAPIConversation(r conversationRow) models.Conversation {
	out := models.Conversation{Name: r.name, LastSeq: r.lastSeq, ReadSeq: r.readSeq, Unread: max(r.unread, 0)}
	if r.groupID != 0 {
		out.Type = models.ConversationTypeGroup
		gid := r.groupID
		out.GroupId = &gid
	} else {
		out.Type = models.ConversationTypeDirect
		with, peerRead := r.peer, r.peerReadSeq
		out.With, out.PeerReadSeq = &with, &peerRead
	}
	if r.last != nil {
		f := frame.MessageOf(r.last.Framed())
		out.LastMessage = &f
	}
	return out
}

// A page cursor is the activity time, in microseconds since the epoch (as
// PostgreSQL stores it), and the conversation key, base64url encoded.
func encodePageCursor(c pageCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.at.UnixMicro(), 10) + ":" + c.conv))
}

func decodePageCursor(s string) (pageCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return pageCursor{}, fmt.Errorf("decode cursor: %w", err)
	}
	micros, conv, ok := strings.Cut(string(raw), ":")
	if !ok {
		return pageCursor{}, fmt.Errorf("cursor %q: no separator", raw)
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return pageCursor{}, fmt.Errorf("cursor time: %w", err)
	}
	if _, _, _, ok := ParseKey(conv); !ok {
		return pageCursor{}, fmt.Errorf("cursor %q: not a conversation", conv)
	}
	return pageCursor{at: time.UnixMicro(us), conv: conv}, nil
}

// MarkRead moves the account's read cursor of one conversation, for
// clients without a socket. The validator has checked the body against
// ReadRequest (present, seq at least 1); exactly one of with and groupId is
// checked here.
func (c *Conversations) MarkRead(ctx context.Context, req server.MarkReadRequestObject) (server.MarkReadResponseObject, error) {
	reader, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	rd := Read{Reader: reader, Seq: b.Seq}
	switch {
	case (b.With == nil) == (b.GroupId == nil):
		return reply.WithOrGroup.Envelope(), nil
	case b.With != nil && *b.With == reader:
		return reply.WithSelf.Envelope(), nil
	case b.With != nil:
		rd.With = *b.With
	default:
		rd.GroupID = *b.GroupId
	}
	rc, err := c.markRead(ctx, rd)
	if err != nil {
		return reply.Refuse(err)
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgReadOK, Data: frame.ReceiptOf(rc.Framed(), rc.Reader)}, nil
}

// Framed is the receipt as the codec reads it for its frames.
func (rc Receipt) Framed() frame.Receipt {
	return frame.Receipt{Reader: rc.Reader, With: rc.With, GroupID: rc.GroupID, Seq: rc.Cursor, Time: rc.Time}
}

// markRead stores rd and, when the cursor moved, publishes the receipt to
// the sockets concerned. The cursor is stored when it returns without
// error; a receipt that fails to go out is only logged, as sockets learn
// of cursors again from GET /Tim/conversations.
func (c *Conversations) markRead(ctx context.Context, rd Read) (Receipt, error) {
	rc, err := c.reads.Mark(ctx, rd)
	if err != nil || !rc.Moved {
		return rc, err
	}
	rc.Publish(ctx, c.pub, c.logger)
	return rc, nil
}

// Publish hands the frames of a moved cursor (Notices) to pub. A receipt
// that fails to go out is only logged: sockets learn of cursors again
// from GET /Tim/conversations.
func (rc Receipt) Publish(ctx context.Context, pub Publisher, logger *slog.Logger) {
	for _, n := range rc.Notices() {
		if err := pub.Publish(ctx, n.Account, n.Conv, n.Frame); err != nil {
			logger.WarnContext(ctx, "publish receipt", slog.String("account", n.Account), slog.String("conv", n.Conv), slog.Any("err", err))
		}
	}
}

// Notice is an encoded frame for the open sockets of Account that carry
// conversation Conv.
type Notice struct {
	Account string
	Conv    string
	Frame   []byte
}

// Notices are the frames a moved cursor sends: to the reader's sockets,
// and in a one-to-one conversation between friends to the other party's.
func (rc Receipt) Notices() []Notice {
	conv, r := rc.Conv(), rc.Framed()
	out := []Notice{{Account: rc.Reader, Conv: conv, Frame: frame.EncodeReceipt(r, rc.Reader)}}
	if rc.GroupID == 0 && rc.Friends {
		out = append(out, Notice{Account: rc.With, Conv: conv, Frame: frame.EncodeReceipt(r, rc.With)})
	}
	return out
}

// GetGroupReaders lists the group's members whose read cursor reached seq.
func (c *Conversations) GetGroupReaders(ctx context.Context, req server.GetGroupReadersRequestObject) (server.GetGroupReadersResponseObject, error) {
	p := req.Params
	account, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	exists, member, err := c.store.groupAccess(ctx, p.GroupID, account)
	switch {
	case err != nil:
		return nil, err
	case !exists:
		return reply.GroupNotFound.Envelope(), nil
	case !member:
		return reply.NotGroupMember.Envelope(), nil
	}
	readers, err := c.store.listGroupReaders(ctx, p.GroupID, p.Seq)
	if err != nil {
		return nil, err
	}
	data := make([]models.GroupReader, len(readers))
	for i, r := range readers {
		data[i] = models.GroupReader{Account: r.account, Username: r.username, ReadSeq: r.readSeq}
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgGroupReadersOK, Data: data}, nil
}
