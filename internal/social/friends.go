package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"tim/gen/server"
	"tim/internal/messages"
	"tim/internal/reply"
	"tim/internal/store"
)

// orderedPair returns a and b with the smaller first, so that every
// statement on a friendship takes its rows in the same order.
func orderedPair(a, b string) (lo, hi string) {
	if a < b {
		return a, b
	}
	return b, a
}

func (a *API) addFriend(ctx context.Context, user, friend string) (reply.Envelope, error) {
	if _, err := actingFor(ctx, user); err != nil {
		return reply.Refuse(err)
	}
	if friend == user {
		return reply.SelfFriend.Envelope(), nil
	}
	lo, hi := orderedPair(user, friend)
	inserted, err := a.q.FriendshipInsertPair(ctx, lo, hi)
	switch {
	case errors.Is(err, store.ErrForeignKey):
		return reply.UserNotFound.Envelope(), nil
	case err != nil:
		return reply.Envelope{}, fmt.Errorf("insert friendship: %w", err)
	case !inserted:
		return reply.AlreadyFriends.Envelope(), nil
	}
	a.logger.InfoContext(ctx, "friend added", slog.String("account", user), slog.String("friend", friend))
	return reply.New(http.StatusOK, msgFriendAdded), nil
}

func (a *API) deleteFriend(ctx context.Context, user, friend string) (reply.Envelope, error) {
	if _, err := actingFor(ctx, user); err != nil {
		return reply.Refuse(err)
	}
	lo, hi := orderedPair(user, friend)
	deleted, err := a.q.FriendshipDeletePair(ctx, lo, hi)
	if err != nil {
		return reply.Envelope{}, fmt.Errorf("delete friendship: %w", err)
	}
	if !deleted {
		return reply.NoFriendship.Envelope(), nil
	}
	if err := a.subs.Unsubscribe(ctx, user, messages.DirectKey(user, friend)); err != nil {
		// The friendship is gone; sockets the event misses close at their
		// next re-check.
		a.logger.WarnContext(ctx, "publish friendship end", slog.String("account", user), slog.String("friend", friend), slog.Any("err", err))
	}
	a.logger.InfoContext(ctx, "friend deleted", slog.String("account", user), slog.String("friend", friend))
	return reply.New(http.StatusOK, msgFriendDeleted), nil
}

// AddFriend makes the two accounts each other's friends (GET form).
func (a *API) AddFriend(ctx context.Context, req server.AddFriendRequestObject) (server.AddFriendResponseObject, error) {
	return a.addFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
}

// AddFriendPost is AddFriend's POST form.
func (a *API) AddFriendPost(ctx context.Context, req server.AddFriendPostRequestObject) (server.AddFriendPostResponseObject, error) {
	return a.addFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
}

// DeleteFriend ends a friendship in both directions (GET form).
func (a *API) DeleteFriend(ctx context.Context, req server.DeleteFriendRequestObject) (server.DeleteFriendResponseObject, error) {
	return a.deleteFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
}

// DeleteFriendPost is DeleteFriend's POST form.
func (a *API) DeleteFriendPost(ctx context.Context, req server.DeleteFriendPostRequestObject) (server.DeleteFriendPostResponseObject, error) {
	return a.deleteFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
}

// GetFriends lists the account's friends, ordered by account.
func (a *API) GetFriends(ctx context.Context, req server.GetFriendsRequestObject) (server.GetFriendsResponseObject, error) {
	caller, err := actingFor(ctx, req.Params.Account)
	if err != nil {
		return reply.Refuse(err)
	}
	accounts, err := a.q.FriendAccounts(ctx, caller)
	if err != nil {
		return nil, fmt.Errorf("list friends: %w", err)
	}
	users, err := a.profiles.Load(ctx, accounts)
	if err != nil {
		return nil, err
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgFriendList, Data: users}, nil
}
