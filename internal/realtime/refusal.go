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

// refuseSend tells so why its send, named by clientMsgID, was not stored;
// a mute's refusal says until when the member is muted.
func (so *socket) refuseSend(err error, clientMsgID string) {
	r := refusal(err, reply.SendBusy, reply.SendFailed)
	if until, ok := reply.MuteEnd(err); ok {
		so.sendControl(frame.EncodeMutedError(r.Code, r.Message, clientMsgID, until))
		return
	}
	so.refuse(r, clientMsgID)
}
