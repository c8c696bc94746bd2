package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"tim/gen/api"
	"tim/internal/store"
)

// outcome is an expected answer of a friend change, before it becomes the
// typed response of the GET or the POST form.
type outcome struct {
	code    int32
	message string
}

func (o outcome) envelope() api.Envelope {
	return api.Envelope{Code: o.code, Message: o.message}
}

func unexpected(o outcome) error {
	return fmt.Errorf("social: no response type for outcome %d %q", o.code, o.message)
}

// orderedPair returns a and b with the smaller first, so that every
// statement on a friendship takes its rows in the same order.
func orderedPair(a, b string) (lo, hi string) {
	if a < b {
		return a, b
	}
	return b, a
}

func (a *API) addFriend(ctx context.Context, user, friend string) (outcome, error) {
	caller, err := callerAccount(ctx)
	if err != nil {
		return outcome{}, err
	}
	if user != caller {
		return outcome{http.StatusForbidden, msgForbidden}, nil
	}
	if friend == user {
		return outcome{http.StatusBadRequest, msgSelfFriend}, nil
	}
	lo, hi := orderedPair(user, friend)
	inserted, err := a.q.FriendshipInsertPair(ctx, lo, hi)
	switch {
	case errors.Is(err, store.ErrForeignKey):
		return outcome{http.StatusNotFound, msgUserNotFound}, nil
	case err != nil:
		return outcome{}, fmt.Errorf("insert friendship: %w", err)
	case !inserted:
		return outcome{http.StatusConflict, msgAlreadyFriends}, nil
	}
	a.logger.InfoContext(ctx, "friend added", slog.String("account", user), slog.String("friend", friend))
	return outcome{http.StatusOK, msgFriendAdded}, nil
}

func (a *API) deleteFriend(ctx context.Context, user, friend string) (outcome, error) {
	caller, err := callerAccount(ctx)
	if err != nil {
		return outcome{}, err
	}
	if user != caller {
		return outcome{http.StatusForbidden, msgForbidden}, nil
	}
	lo, hi := orderedPair(user, friend)
	deleted, err := a.q.FriendshipDeletePair(ctx, lo, hi)
	if err != nil {
		return outcome{}, fmt.Errorf("delete friendship: %w", err)
	}
	if !deleted {
		return outcome{http.StatusNotFound, msgNotFriends}, nil
	}
	if err := a.events.FriendshipEnded(ctx, user, friend); err != nil {
		// The friendship is gone; sockets the event misses close at their
		// next re-check.
		a.logger.WarnContext(ctx, "publish friendship end", slog.String("account", user), slog.String("friend", friend), slog.Any("err", err))
	}
	a.logger.InfoContext(ctx, "friend deleted", slog.String("account", user), slog.String("friend", friend))
	return outcome{http.StatusOK, msgFriendDeleted}, nil
}

// AddFriend makes the two accounts each other's friends (GET form).
func (a *API) AddFriend(ctx context.Context, req api.AddFriendRequestObject) (api.AddFriendResponseObject, error) {
	o, err := a.addFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
	if err != nil {
		return nil, err
	}
	switch o.code {
	case http.StatusOK:
		return api.AddFriend200JSONResponse{OKJSONResponse: api.OKJSONResponse(o.envelope())}, nil
	case http.StatusBadRequest:
		return api.AddFriend400JSONResponse{BadRequestJSONResponse: api.BadRequestJSONResponse(o.envelope())}, nil
	case http.StatusForbidden:
		return api.AddFriend403JSONResponse{ForbiddenJSONResponse: api.ForbiddenJSONResponse(o.envelope())}, nil
	case http.StatusNotFound:
		return api.AddFriend404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse(o.envelope())}, nil
	case http.StatusConflict:
		return api.AddFriend409JSONResponse{ConflictJSONResponse: api.ConflictJSONResponse(o.envelope())}, nil
	}
	return nil, unexpected(o)
}

// AddFriendPost is AddFriend's POST form.
func (a *API) AddFriendPost(ctx context.Context, req api.AddFriendPostRequestObject) (api.AddFriendPostResponseObject, error) {
	o, err := a.addFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
	if err != nil {
		return nil, err
	}
	switch o.code {
	case http.StatusOK:
		return api.AddFriendPost200JSONResponse{OKJSONResponse: api.OKJSONResponse(o.envelope())}, nil
	case http.StatusBadRequest:
		return api.AddFriendPost400JSONResponse{BadRequestJSONResponse: api.BadRequestJSONResponse(o.envelope())}, nil
	case http.StatusForbidden:
		return api.AddFriendPost403JSONResponse{ForbiddenJSONResponse: api.ForbiddenJSONResponse(o.envelope())}, nil
	case http.StatusNotFound:
		return api.AddFriendPost404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse(o.envelope())}, nil
	case http.StatusConflict:
		return api.AddFriendPost409JSONResponse{ConflictJSONResponse: api.ConflictJSONResponse(o.envelope())}, nil
	}
	return nil, unexpected(o)
}

// DeleteFriend ends a friendship in both directions (GET form).
func (a *API) DeleteFriend(ctx context.Context, req api.DeleteFriendRequestObject) (api.DeleteFriendResponseObject, error) {
	o, err := a.deleteFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
	if err != nil {
		return nil, err
	}
	switch o.code {
	case http.StatusOK:
		return api.DeleteFriend200JSONResponse{OKJSONResponse: api.OKJSONResponse(o.envelope())}, nil
	case http.StatusForbidden:
		return api.DeleteFriend403JSONResponse{ForbiddenJSONResponse: api.ForbiddenJSONResponse(o.envelope())}, nil
	case http.StatusNotFound:
		return api.DeleteFriend404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse(o.envelope())}, nil
	}
	return nil, unexpected(o)
}

// DeleteFriendPost is DeleteFriend's POST form.
func (a *API) DeleteFriendPost(ctx context.Context, req api.DeleteFriendPostRequestObject) (api.DeleteFriendPostResponseObject, error) {
	o, err := a.deleteFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
	if err != nil {
		return nil, err
	}
	switch o.code {
	case http.StatusOK:
		return api.DeleteFriendPost200JSONResponse{OKJSONResponse: api.OKJSONResponse(o.envelope())}, nil
	case http.StatusForbidden:
		return api.DeleteFriendPost403JSONResponse{ForbiddenJSONResponse: api.ForbiddenJSONResponse(o.envelope())}, nil
	case http.StatusNotFound:
		return api.DeleteFriendPost404JSONResponse{NotFoundJSONResponse: api.NotFoundJSONResponse(o.envelope())}, nil
	}
	return nil, unexpected(o)
}

// GetFriends lists the account's friends, ordered by account.
func (a *API) GetFriends(ctx context.Context, req api.GetFriendsRequestObject) (api.GetFriendsResponseObject, error) {
	caller, err := callerAccount(ctx)
	if err != nil {
		return nil, err
	}
	if req.Params.Account != caller {
		return api.GetFriends403JSONResponse{ForbiddenJSONResponse: api.ForbiddenJSONResponse{Code: http.StatusForbidden, Message: msgForbidden}}, nil
	}
	accounts, err := a.q.FriendAccounts(ctx, caller)
	if err != nil {
		return nil, fmt.Errorf("list friends: %w", err)
	}
	users, err := a.profiles.Load(ctx, accounts)
	if err != nil {
		return nil, err
	}
	return api.GetFriends200JSONResponse{Code: http.StatusOK, Message: msgFriendList, Data: users}, nil
}
