package realtime

import (
	"context"
	"fmt"
)

// The database side of typing indicators.

// mayType reports whether account may tell to (a direct conversation) or
// group g that it is typing: friends, or members, now.
func (s *Service) mayType(ctx context.Context, account, to string, g int64) (bool, error) {
	if g != 0 {
		ok, err := s.q.GroupMemberExists(ctx, g, account)
		if err != nil {
			return false, fmt.Errorf("check membership: %w", err)
		}
		return ok, nil
	}
	ok, err := s.q.FriendshipExists(ctx, account, to)
	if err != nil {
		return false, fmt.Errorf("check friendship: %w", err)
	}
	return ok, nil
}
