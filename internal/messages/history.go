package messages

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"

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
	if err := actsFor(ctx, p.Account); err != nil {
		return reply.Refuse(err)
	}
	if _, err := h.q.UserGetByAccount(ctx, p.With); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return reply.UserNotFound.Envelope(), nil
		}
		return nil, fmt.Errorf("read user: %w", err)
	}
	msgs, err := h.page(ctx, DirectKey(p.Account, p.With), p.BeforeSeq, p.AfterSeq, p.Limit)
	if err != nil {
		return nil, err
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgHistoryOK, Data: msgs}, nil
}

// GetGroupMessages returns a page of a group's messages, to members only.
func (h *History) GetGroupMessages(ctx context.Context, req server.GetGroupMessagesRequestObject) (server.GetGroupMessagesResponseObject, error) {
	p := req.Params
	if err := actsFor(ctx, p.Account); err != nil {
		return reply.Refuse(err)
	}
	member, floor, err := h.q.GroupReadFloor(ctx, p.GroupID, p.Account)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return reply.GroupNotFound.Envelope(), nil
	case err != nil:
		return nil, fmt.Errorf("check membership of group %d: %w", p.GroupID, err)
	case !member:
		return reply.NotGroupMember.Envelope(), nil
	}
	// A member of a group whose history is visible from the join only
	// reads nothing at or below the seq at which they joined (floor; 0
	// otherwise): a page forward starts above it, a page backward is cut
	// at it.
	after := p.AfterSeq
	if after != nil && *after < floor {
		after = &floor
	}
	msgs, err := h.page(ctx, GroupKey(p.GroupID), p.BeforeSeq, after, p.Limit)
	if err != nil {
		return nil, err
	}
	for len(msgs) > 0 && msgs[0].Seq <= floor {
		msgs = msgs[1:]
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgHistoryOK, Data: msgs}, nil
}

// actsFor refuses a request that names another account than the token's.
// The validator has checked the token before any handler runs, so a
// request without one is a wiring bug.
func actsFor(ctx context.Context, account string) error {
	claims, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return errors.New("messages: no verified token in context")
	case account != claims.Account:
		return reply.OtherAccount
	}
	return nil
}

// caller is the account of the request's verified token.
func caller(ctx context.Context) (string, error) {
	claims, ok := auth.FromContext(ctx)
	if !ok {
		return "", errors.New("messages: no verified token in context")
	}
	return claims.Account, nil
}

// page reads one page in ascending seq order: after afterSeq when given,
// else the newest before beforeSeq (or the newest of all). With both, the
// page holds the oldest messages between them. The validator holds limit
// to the contract's 1 to 500.
func (h *History) page(ctx context.Context, conv string, before, after *int64, limit *int32) ([]models.MessageFrame, error) {
	n := historyDefaultLimit
	if limit != nil {
		n = int(*limit)
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
