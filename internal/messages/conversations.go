package messages

import (
	"context"
	"encoding/base64"
	"fmt"
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

// ReadMarker moves read cursors and tells the sockets concerned; the
// realtime service is one.
type ReadMarker interface {
	MarkRead(ctx context.Context, r Read) (Receipt, error)
}

// Conversations serves GET /Tim/conversations, POST /Tim/read and
// GET /Tim/groupReaders.
type Conversations struct {
	store  convStore
	marker ReadMarker
}

// NewConversations returns the endpoints over st; reads go through marker.
func NewConversations(st *store.Store, marker ReadMarker) *Conversations {
	return &Conversations{store: convStore{q: st}, marker: marker}
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
	rc, err := c.marker.MarkRead(ctx, rd)
	if err != nil {
		return reply.Refuse(err)
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgReadOK, Data: frame.ReceiptOf(rc.Framed(), rc.Reader)}, nil
}

// Framed is the receipt as the codec reads it for its frames.
func (rc Receipt) Framed() frame.Receipt {
	return frame.Receipt{Reader: rc.Reader, With: rc.With, GroupID: rc.GroupID, Seq: rc.Cursor, Time: rc.Time}
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
