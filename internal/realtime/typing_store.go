package realtime

import (
	"context"
	"fmt"

	"tim/internal/reply"
	"tim/internal/store"
)

// The database side of typing indicators.

// typingStore is what the typing relay reads in the database.
type typingStore interface {
	GroupMemberExists(ctx context.Context, groupID int64, account string) (bool, error)
	FriendshipExists(ctx context.Context, account, friend string) (bool, error)
	BlockBetween(ctx context.Context, a, b string) (store.Blocks, error)
}

// mayType reports whether account may tell to (a direct conversation) or
// group g that it is typing: friends, or members, now. While a block
// stands between two friends, either way, it returns reply.NoPermission.
func (t *typingRelay) mayType(ctx context.Context, account, to string, g int64) (bool, error) {
	if g != 0 {
		ok, err := t.q.GroupMemberExists(ctx, g, account)
		if err != nil {
			return false, fmt.Errorf("check membership: %w", err)
		}
		return ok, nil
	}
	ok, err := t.q.FriendshipExists(ctx, account, to)
	if err != nil {
		return false, fmt.Errorf("check friendship: %w", err)
	}
	if !ok {
		return false, nil
	}
	b, err := t.q.BlockBetween(ctx, account, to)
	switch {
	case err != nil:
		return false, fmt.Errorf("check blocks: %w", err)
	case b.Any():
		return false, reply.NoPermission
	}
	return true, nil
}
