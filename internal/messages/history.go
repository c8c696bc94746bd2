package messages

import (
	"context"
	"errors"
	"fmt"
	"math"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/auth"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// History serves GET /Tim/messages and GET /Tim/groupMessages.
type History struct {
	reader *Reader
	q      *store.Store
}

// NewHistory returns the history endpoints over st.
func NewHistory(st *store.Store) *History {
	return &History{reader: NewReader(st), q: st}
}

const (
	historyDefaultLimit = 100
	msgHistoryOK        = "获取消息成功"
)

// GetMessages returns a page of the messages between account and with.
func (h *History) GetMessages(ctx context.Context, req server.GetMessagesRequestObject) (server.GetMessagesResponseObject, error) {
	p := req.Params
	claims, ok := auth.FromContext(ctx)
	if !ok {
		return server.GetMessages401JSONResponse{UnauthorizedJSONResponse: server.UnauthorizedJSONResponse{Code: 401, Message: "身份未认证"}}, nil
	}
	if p.Account != claims.Account {
		return server.GetMessages403JSONResponse{ForbiddenJSONResponse: server.ForbiddenJSONResponse{Code: 403, Message: "无权查看其他账号的消息"}}, nil
	}
	if _, err := h.q.UserGetByAccount(ctx, p.With); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return server.GetMessages404JSONResponse{NotFoundJSONResponse: server.NotFoundJSONResponse{Code: 404, Message: "用户不存在"}}, nil
		}
		return nil, fmt.Errorf("read user: %w", err)
	}
	msgs, err := h.page(ctx, DirectKey(p.Account, p.With), p.BeforeSeq, p.AfterSeq, p.Limit)
	if err != nil {
		return nil, err
	}
	return server.GetMessages200JSONResponse{Code: 200, Message: msgHistoryOK, Data: msgs}, nil
}

// GetGroupMessages returns a page of a group's messages, to members only.
func (h *History) GetGroupMessages(ctx context.Context, req server.GetGroupMessagesRequestObject) (server.GetGroupMessagesResponseObject, error) {
	p := req.Params
	claims, ok := auth.FromContext(ctx)
	if !ok {
		return server.GetGroupMessages401JSONResponse{UnauthorizedJSONResponse: server.UnauthorizedJSONResponse{Code: 401, Message: "身份未认证"}}, nil
	}
	if p.Account != claims.Account {
		return server.GetGroupMessages403JSONResponse{ForbiddenJSONResponse: server.ForbiddenJSONResponse{Code: 403, Message: "无权查看其他账号的消息"}}, nil
	}
	member, err := h.q.GroupMembership(ctx, p.GroupID, p.Account)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return reply.GroupNotFound.Envelope(), nil
	case err != nil:
		return nil, fmt.Errorf("check membership of group %d: %w", p.GroupID, err)
	case !member:
		return reply.NotGroupMember.Envelope(), nil
	}
	msgs, err := h.page(ctx, GroupKey(p.GroupID), p.BeforeSeq, p.AfterSeq, p.Limit)
	if err != nil {
		return nil, err
	}
	return server.GetGroupMessages200JSONResponse{Code: 200, Message: msgHistoryOK, Data: msgs}, nil
}

// page reads one page in ascending seq order: after afterSeq when given,
// else the newest before beforeSeq (or the newest of all). With both, the
// page holds the oldest messages between them.
func (h *History) page(ctx context.Context, conv string, before, after *int64, limit *int32) ([]models.MessageFrame, error) {
	n := historyDefaultLimit
	if limit != nil {
		n = int(min(max(*limit, 1), 500))
	}
	var msgs []Message
	var err error
	if after != nil {
		msgs, err = h.reader.after(ctx, conv, *after, n, false)
		if before != nil {
			for i, m := range msgs {
				if m.Seq >= *before {
					msgs = msgs[:i]
					break
				}
			}
		}
	} else {
		b := int64(math.MaxInt64)
		if before != nil {
			b = *before
		}
		msgs, err = h.reader.Before(ctx, conv, b, n)
	}
	if err != nil {
		return nil, err
	}
	out := make([]models.MessageFrame, len(msgs))
	for i, m := range msgs {
		out[i] = frame.MessageOf(m.Framed())
	}
	return out, nil
}
