package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// CloseSessions closes, on every instance, the sockets of account opened
// with token jti, or all of the account's sockets when jti is "".
func (s *Service) CloseSessions(ctx context.Context, account, jti string) error {
	data, err := json.Marshal(wireClose{Account: account, JTI: jti})
	if err != nil {
		return fmt.Errorf("encode close: %w", err)
	}
	if err := s.nc.Publish(subjectClose, data); err != nil {
		return fmt.Errorf("publish close: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, closeDeadline)
		defer cancel()
	}
	if err := s.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("flush close: %w", err)
	}
	return nil
}

func (s *Service) onClose(data []byte) {
	var w wireClose
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode close", slog.String("error", err.Error()))
		return
	}
	s.hub.closeMatching(w.Account, w.JTI, CloseLoggedOut, "logged out")
}
