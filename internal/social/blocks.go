package social

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"tim/gen/server"
	"tim/internal/messages"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
	"tim/internal/store"
)

// Block makes the caller block TargetAccount. The block and the
// cancelling of the requests pending between the two commit together,
// under the pair's lock; then their one-to-one sockets close on every
// instance. The target is not told.
func (a *API) Block(ctx context.Context, req server.BlockRequestObject) (server.BlockResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	if p.TargetAccount == caller {
		return reply.SelfBlock.Envelope(), nil
	}
	friends := false
	err = a.q.Tx(ctx, func(q *store.Queries) error {
		lo, hi := orderedPair(caller, p.TargetAccount)
		if err := q.FriendPairLock(ctx, lo, hi); err != nil {
			return fmt.Errorf("lock pair: %w", err)
		}
		err := q.BlockInsert(ctx, caller, p.TargetAccount)
		switch {
		case errors.Is(err, store.ErrForeignKey):
			return reply.UserNotFound
		case err != nil:
			return fmt.Errorf("insert block: %w", err)
		}
		if err := q.FriendRequestCloseBetween(ctx, caller, p.TargetAccount, store.RequestCancelled); err != nil {
			return fmt.Errorf("cancel requests: %w", err)
		}
		friends, err = q.FriendshipExists(ctx, caller, p.TargetAccount)
		return err
	})
	if err != nil {
		return reply.Refuse(fmt.Errorf("block: %w", err))
	}
	if err := a.subs.Unsubscribe(ctx, caller, messages.DirectKey(caller, p.TargetAccount)); err != nil {
		// The block stands: sends are refused by the statement that would
		// commit them, and sockets the event misses close at their next
		// re-check.
		a.logger.WarnContext(ctx, "publish block", slog.String("account", caller), slog.Any("err", err))
	}
	if friends {
		// Each stops seeing the other online now, as if they had gone.
		a.notify(ctx, p.TargetAccount, frame.EncodePresence(caller, false))
		a.notify(ctx, caller, frame.EncodePresence(p.TargetAccount, false))
	}
	a.logger.InfoContext(ctx, "account blocked", slog.String("account", caller), slog.String("target", p.TargetAccount))
	return reply.New(http.StatusOK, msgBlocked), nil
}

// Unblock ends the caller's block of TargetAccount, if any.
func (a *API) Unblock(ctx context.Context, req server.UnblockRequestObject) (server.UnblockResponseObject, error) {
	p := req.Params
	caller, err := actingFor(ctx, p.UserAccount)
	if err != nil {
		return reply.Refuse(err)
	}
	if _, err := a.q.UserFriendPolicy(ctx, p.TargetAccount); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return reply.UserNotFound.Envelope(), nil
		}
		return nil, fmt.Errorf("read target: %w", err)
	}
	if err := a.q.BlockDelete(ctx, caller, p.TargetAccount); err != nil {
		return nil, fmt.Errorf("delete block: %w", err)
	}
	if err := a.presenceRestored(ctx, caller, p.TargetAccount); err != nil {
		return nil, err
	}
	a.logger.InfoContext(ctx, "account unblocked", slog.String("account", caller), slog.String("target", p.TargetAccount))
	return reply.New(http.StatusOK, msgUnblocked), nil
}

// presenceRestored tells two friends whether the other is online, once no
// block stands between them any more; it does nothing for accounts that
// are not friends or that a block still separates.
func (a *API) presenceRestored(ctx context.Context, x, y string) error {
	friends, err := a.q.FriendshipExists(ctx, x, y)
	if err != nil || !friends {
		return err
	}
	b, err := a.q.BlockBetween(ctx, x, y)
	if err != nil || b.Any() {
		return err
	}
	users, err := a.profiles.Load(ctx, []string{x, y})
	if err != nil {
		return err
	}
	for i, u := range users {
		a.notify(ctx, users[1-i].Account, frame.EncodePresence(u.Account, u.OnlineStatus == 1))
	}
	return nil
}

// GetBlocks lists the accounts the caller blocks, ordered by account, all
// shown offline.
func (a *API) GetBlocks(ctx context.Context, req server.GetBlocksRequestObject) (server.GetBlocksResponseObject, error) {
	caller, err := actingFor(ctx, req.Params.Account)
	if err != nil {
		return reply.Refuse(err)
	}
	accounts, err := a.q.BlockedAccounts(ctx, caller)
	if err != nil {
		return nil, fmt.Errorf("list blocks: %w", err)
	}
	users, err := a.profiles.Load(ctx, accounts)
	if err != nil {
		return nil, err
	}
	for i := range users {
		users[i].OnlineStatus = 0
	}
	return reply.Envelope{Code: http.StatusOK, Message: msgBlockList, Data: users}, nil
}
