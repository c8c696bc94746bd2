package realtime

import (
	"context"
	"errors"

	"tim/internal/realtime/frame"
	"tim/internal/reply"
)

// refusal is what a socket is told of err: the refusal err carries, busy
// when the work did not get its turn before its context ended (nothing was
// done), else failed, for a failure the caller logs if it should.
func refusal(err error, busy, failed reply.Refusal) reply.Refusal {
	if r, ok := reply.As(err); ok {
		return r
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return busy
	}
	return failed
}

// refuse tells so of refusal r in an error frame; a refused send names its
// clientMsgID.
func (so *socket) refuse(r reply.Refusal, clientMsgID string) {
	so.sendControl(frame.EncodeError(r.Code, r.Message, clientMsgID))
}
