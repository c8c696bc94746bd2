package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"tim/gen/server"
	"tim/internal/messages"
	"tim/internal/realtime/frame"
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

// added is what addFriend did: started a friendship, or made (or found)
// a pending request.
type added struct {
	friends bool
	request store.FriendRequest
	// fresh: the request was made by this call, so its recipient hears
	// of it.
	fresh bool
}

// addFriend follows friend's policy, under the pair's lock: a friendship
// at once (open, or when friend had asked user already), a request
// (approval), or a refusal (closed, a block).
func (a *API) addFriend(ctx context.Context, user, friend, message string) (reply.Envelope, error) {
	if _, err := actingFor(ctx, user); err != nil {
		return reply.Refuse(err)
	}
	if friend == user {
		return reply.SelfFriend.Envelope(), nil
	}
	var out added
	err := a.q.Tx(ctx, func(q *store.Queries) error {
		var err error
		out, err = a.addFriendTx(ctx, q, user, friend, message)
		return err
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("add friend: %w", err))
	}
	if !out.friends {
		if out.fresh {
			r := out.request
			a.notify(ctx, friend, frame.EncodeFriendRequest(r.ID, r.From, r.Message, r.Time))
			a.logger.InfoContext(ctx, "friend request sent", slog.String("account", user), slog.String("to", friend), slog.Int64("request", r.ID))
		}
		return reply.Envelope{Code: http.StatusAccepted, Message: msgRequestSent, Data: toAPIRequest(out.request)}, nil
	}
	a.friendshipStarted(ctx, user, friend)
	return reply.New(http.StatusOK, msgFriendAdded), nil
}

func (a *API) addFriendTx(ctx context.Context, q *store.Queries, user, friend, message string) (added, error) {
	lo, hi := orderedPair(user, friend)
	if err := q.FriendPairLock(ctx, lo, hi); err != nil {
		return added{}, fmt.Errorf("lock pair: %w", err)
	}
	policy, err := q.UserFriendPolicy(ctx, friend)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return added{}, reply.UserNotFound
	case err != nil:
		return added{}, fmt.Errorf("read friend policy: %w", err)
	}
	if err := refuseBlocked(ctx, q, user, friend); err != nil {
		return added{}, err
	}
	friends, err := q.FriendshipExists(ctx, user, friend)
	if err != nil {
		return added{}, fmt.Errorf("check friendship: %w", err)
	}
	if friends {
		return added{}, reply.AlreadyFriends
	}
	// friend asked user already: this accepts it, whatever the policy.
	_, err = q.FriendRequestPending(ctx, friend, user)
	switch {
	case err == nil:
		return added{friends: true}, befriend(ctx, q, user, friend)
	case !errors.Is(err, store.ErrNotFound):
		return added{}, fmt.Errorf("read request: %w", err)
	}
	switch policy {
	case store.FriendPolicyOpen:
		return added{friends: true}, befriend(ctx, q, user, friend)
	case store.FriendPolicyClosed:
		return added{}, reply.ClosedToRequests
	}
	mine, err := q.FriendRequestPending(ctx, user, friend)
	switch {
	case err == nil:
		return added{request: mine}, nil
	case !errors.Is(err, store.ErrNotFound):
		return added{}, fmt.Errorf("read request: %w", err)
	}
	if err := q.FriendRequestExpirePair(ctx, user, friend); err != nil {
		return added{}, fmt.Errorf("expire old request: %w", err)
	}
	r, err := q.FriendRequestInsert(ctx, user, friend, message, a.cfg.FriendRequestTTL)
	if err != nil {
		return added{}, fmt.Errorf("insert request: %w", err)
	}
	return added{request: r, fresh: true}, nil
}

// refuseBlocked refuses what user asks of other while a block stands
// between them: reply.NoPermission when other blocks user (which says no
// more), reply.YouBlock when user blocks other.
func refuseBlocked(ctx context.Context, q *store.Queries, user, other string) error {
	b, err := q.BlockBetween(ctx, user, other)
	switch {
	case err != nil:
		return fmt.Errorf("check blocks: %w", err)
	case b.BBlocksA:
		return reply.NoPermission
	case b.ABlocksB:
		return reply.YouBlock
	}
	return nil
}

// befriend makes a and b friends, both rows, and closes as accepted every
// request pending between them. Call it under the pair's lock.
func befriend(ctx context.Context, q *store.Queries, a, b string) error {
	lo, hi := orderedPair(a, b)
	if _, err := q.FriendshipInsertPair(ctx, lo, hi); err != nil {
		if errors.Is(err, store.ErrForeignKey) {
			return reply.UserNotFound
		}
		return fmt.Errorf("insert friendship: %w", err)
	}
	if err := q.FriendRequestCloseBetween(ctx, a, b, store.RequestAccepted); err != nil {
		return fmt.Errorf("close requests: %w", err)
	}
	return nil
}

// friendshipStarted tells both accounts' user sockets of a committed new
// friendship.
func (a *API) friendshipStarted(ctx context.Context, user, friend string) {
	a.notify(ctx, user, frame.EncodeFriendAdded(friend))
	a.notify(ctx, friend, frame.EncodeFriendAdded(user))
	a.logger.InfoContext(ctx, "friend added", slog.String("account", user), slog.String("friend", friend))
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
	a.notify(ctx, user, frame.EncodeFriendRemoved(friend))
	a.notify(ctx, friend, frame.EncodeFriendRemoved(user))
	a.logger.InfoContext(ctx, "friend deleted", slog.String("account", user), slog.String("friend", friend))
	return reply.New(http.StatusOK, msgFriendDeleted), nil
}

// AddFriend makes the two accounts each other's friends, or asks (GET
// form).
func (a *API) AddFriend(ctx context.Context, req server.AddFriendRequestObject) (server.AddFriendResponseObject, error) {
	return a.addFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount, "")
}

// AddFriendPost is AddFriend's POST form, whose body may carry the
// request's message.
func (a *API) AddFriendPost(ctx context.Context, req server.AddFriendPostRequestObject) (server.AddFriendPostResponseObject, error) {
	message := ""
	if req.Body != nil && req.Body.Message != nil {
		message = *req.Body.Message
	}
	return a.addFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount, message)
}

// DeleteFriend ends a friendship in both directions (GET form).
func (a *API) DeleteFriend(ctx context.Context, req server.DeleteFriendRequestObject) (server.DeleteFriendResponseObject, error) {
	return a.deleteFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
}

// DeleteFriendPost is DeleteFriend's POST form.
func (a *API) DeleteFriendPost(ctx context.Context, req server.DeleteFriendPostRequestObject) (server.DeleteFriendPostResponseObject, error) {
	return a.deleteFriend(ctx, req.Params.UserAccount, req.Params.FriendAccount)
}

// GetFriends lists the account's friends, ordered by account. A friend
// that a block stands between the account and shows offline.
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
	hidden, err := a.q.BlockPartners(ctx, caller)
	if err != nil {
		return nil, fmt.Errorf("list blocks: %w", err)
	}
	for i := range users {
		if slices.Contains(hidden, users[i].Account) {
			users[i].OnlineStatus = 0
		}
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgFriendList, Data: users}, nil
}
