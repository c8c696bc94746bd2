package realtime

import (
	"context"
	"log/slog"

	"tim/internal/messages"
	"tim/internal/realtime/frame"
	"tim/internal/reply"
)

// recall recalls message id for so's account. The recall event is
// committed before anyone hears of it, then published like a committed
// message: every socket of the conversation, the recalling one included,
// gets it in seq order, live or from its cursor. A refusal answers so
// alone with an error frame naming the id.
func (s *Service) recall(so *socket, id int64) {
	req := messages.RecallRequest{Account: so.account, ID: id, Window: s.cfg.RecallWindow}
	if so.ch != channelUser {
		req.Conv = so.conv
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CommitTimeout)
	defer cancel()
	ev, err := s.recaller.Recall(ctx, req)
	if err != nil {
		r := refusal(err, reply.Busy, reply.RecallFailed)
		if r == reply.RecallFailed {
			s.logger.Error("recall", slog.String("account", so.account), slog.Int64("id", id), slog.Any("err", err))
		}
		so.sendControl(frame.EncodeRecallError(r.Code, r.Message, id))
		return
	}
	s.publishMessages([]messages.Committed{{Message: ev}}, nil)
}
