package realtime

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"tim/internal/messages"
	"tim/internal/realtime/frame"
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
		code, msg := recallRefusal(err)
		if code == http.StatusInternalServerError {
			s.logger.Error("recall", slog.String("account", so.account), slog.Int64("id", id), slog.Any("err", err))
		}
		so.sendControl(frame.EncodeRecallError(code, msg, id))
		return
	}
	s.publishMessages([]messages.Committed{{Message: ev}}, nil)
}

// recallRefusal is the error frame's code and message for a failed recall.
func recallRefusal(err error) (int32, string) {
	switch {
	case errors.Is(err, messages.ErrNoMessage):
		return http.StatusNotFound, "消息不存在"
	case errors.Is(err, messages.ErrNotSender):
		return http.StatusForbidden, "只能撤回自己发送的消息"
	case errors.Is(err, messages.ErrRecallExpired):
		return http.StatusForbidden, "超过撤回时限"
	case errors.Is(err, messages.ErrRecalled):
		return http.StatusConflict, "消息已撤回"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "服务器繁忙，请稍后重试"
	}
	return http.StatusInternalServerError, "撤回失败"
}
