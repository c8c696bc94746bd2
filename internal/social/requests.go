package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"

	"tim/gen/models"
	"tim/gen/server"
	"tim/internal/reply"
	"tim/internal/store"
)

// defaultRequestPage is the page size of friendRequests without a limit.
const defaultRequestPage = 50

// toAPIRequest is r as responses show it.
func toAPIRequest(r store.FriendRequest) models.FriendRequest {
	return models.FriendRequest{
		Id: r.ID, From: r.From, To: r.To, Message: r.Message, Time: r.Time.UTC(), Status: models.FriendRequestStatus(r.Status),
	}
}

// GetFriendRequests lists the account's pending requests, to it (box in)
// or from it (box out), newest first.
func (a *API) GetFriendRequests(ctx context.Context, req server.GetFriendRequestsRequestObject) (server.GetFriendRequestsResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.Account)
	if err != nil {
		return reply.Refuse(err)
	}
	limit, before := int32(defaultRequestPage), int64(math.MaxInt64)
	if p.Limit != nil {
		limit = *p.Limit
	}
	if p.BeforeId != nil {
		before = *p.BeforeId
	}
	list := a.q.FriendRequestListTo
	if p.Box != nil && *p.Box == models.GetFriendRequestsParamsBoxOut {
		list = a.q.FriendRequestListFrom
	}
	rows, err := list(ctx, caller, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list friend requests: %w", err)
	}
	out := make([]models.FriendRequest, len(rows))
	for i, r := range rows {
		out[i] = toAPIRequest(r)
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgRequestList, Data: out}, nil
}

// AnswerFriendRequest accepts or rejects a pending request to the caller.
// Accepting makes the two friends in the transaction that closes the
// request; of an answer and a cancel at once, one wins and the other is
// refused with reply.RequestClosed.
func (a *API) AnswerFriendRequest(ctx context.Context, req server.AnswerFriendRequestRequestObject) (server.AnswerFriendRequestResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	status, message := store.RequestRejected, msgRequestRejected
	if p.Accept {
		status, message = store.RequestAccepted, msgRequestAccepted
	}
	r, err := a.closeRequest(ctx, p.Id, status, func(r store.FriendRequest) bool { return r.To == caller })
	if err != nil {
		return reply.Refuse(fmt.Errorf("answer friend request %d: %w", p.Id, err))
	}
	if p.Accept {
		a.friendshipStarted(ctx, r.To, r.From)
	}
	a.logger.InfoContext(ctx, "friend request answered", slog.Int64("request", r.ID), slog.String("status", r.Status))
	return reply.Envelope{Code: http.StatusOK, Message: message, Data: toAPIRequest(r)}, nil
}

// CancelFriendRequest withdraws a pending request of the caller's.
func (a *API) CancelFriendRequest(ctx context.Context, req server.CancelFriendRequestRequestObject) (server.CancelFriendRequestResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	r, err := a.closeRequest(ctx, p.Id, store.RequestCancelled, func(r store.FriendRequest) bool { return r.From == caller })
	if err != nil {
		return reply.Refuse(fmt.Errorf("cancel friend request %d: %w", p.Id, err))
	}
	a.logger.InfoContext(ctx, "friend request cancelled", slog.Int64("request", r.ID))
	return reply.Envelope{Code: http.StatusOK, Message: msgRequestCancelled, Data: toAPIRequest(r)}, nil
}

// closeRequest moves request id from pending to status in one transaction
// under its pair's lock, when mine says the request is the caller's to
// close (else reply.NoFriendRequest); an accepted request makes its two
// accounts friends in the same transaction, unless a block stands between
// them. A request no longer pending is refused with reply.RequestClosed.
func (a *API) closeRequest(ctx context.Context, id int64, status string, mine func(store.FriendRequest) bool) (store.FriendRequest, error) {
	var closed store.FriendRequest
	err := a.q.Tx(ctx, func(q *store.Queries) error {
		r, err := q.FriendRequestGet(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return reply.NoFriendRequest
		case err != nil:
			return fmt.Errorf("read request: %w", err)
		case !mine(r):
			return reply.NoFriendRequest
		}
		lo, hi := orderedPair(r.From, r.To)
		if err := q.FriendPairLock(ctx, lo, hi); err != nil {
			return fmt.Errorf("lock pair: %w", err)
		}
		closed, err = q.FriendRequestClose(ctx, id, status)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return reply.RequestClosed
		case err != nil:
			return fmt.Errorf("close request: %w", err)
		case status != store.RequestAccepted:
			return nil
		}
		// A block cancels the pair's requests under the same lock, so none
		// is pending across one; this is the recipient's own word for it.
		if err := refuseBlocked(ctx, q, r.To, r.From); err != nil {
			return err // rolls the close back
		}
		return befriend(ctx, q, r.From, r.To)
	})
	return closed, err
}
