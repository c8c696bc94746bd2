package realtime

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"tim/internal/messages"
)

func (s *Service) cursorLoop(ctx context.Context) {
	t := time.NewTicker(cursorFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.cursors.flush(context.WithoutCancel(ctx), s.q); err != nil {
				s.logger.ErrorContext(ctx, "flush cursors", slog.Any("err", err))
			}
			return
		case <-t.C:
			if err := s.cursors.flush(ctx, s.q); err != nil {
				s.logger.ErrorContext(ctx, "flush cursors", slog.Any("err", err))
			}
		}
	}
}

// publishMessages runs in the committer goroutine after each commit: it
// encodes every frame once and publishes the batch in commit order.
func (s *Service) publishMessages(msgs []messages.Message) {
	buf := make([]byte, 0, 4096)
	for _, m := range msgs {
		w := wireMessage{Conv: m.Conv, Seq: m.Seq, Sender: m.Sender, Recipient: m.Recipient, GroupID: m.GroupID, Frame: encodeMessage(m)}
		buf = appendWireMessage(buf, &w)
		if len(buf) >= maxNATSBatch {
			s.publishRaw(subjectMessages, buf)
			buf = make([]byte, 0, 4096)
		}
	}
	if len(buf) > 0 {
		s.publishRaw(subjectMessages, buf)
	}
}

// publishRaw sends data on subject; delivery is best effort, as publish's.
func (s *Service) publishRaw(subject string, data []byte) {
	if err := s.nc.Publish(subject, data); err != nil {
		s.logger.Error("publish", slog.String("subject", subject), slog.Any("err", err))
	}
}

func (s *Service) onMessages(data []byte) {
	if err := decodeWireMessages(data, s.hub.deliverMessage); err != nil {
		s.logger.Error("decode messages", slog.Any("err", err))
	}
}

func (s *Service) confirmed(so *socket, seqs map[string]int64) {
	for conv, seq := range seqs {
		s.cursors.advance(so.account, conv, seq)
	}
}

func (s *Service) startCatchUp(so *socket) {
	s.sockets.Add(1)
	go func() {
		defer s.sockets.Done()
		s.catchUp(so)
	}()
}

// catchUp reads from the database what so has not received in the
// conversations it is catching up on, queues it in seq order, and hands each
// conversation back to live delivery once it reached the newest seq seen.
func (s *Service) catchUp(so *socket) {
	stop := func() {
		so.dmu.Lock()
		so.catching = false
		so.dmu.Unlock()
	}
	for {
		so.dmu.Lock()
		var conv string
		var st *convState
		for k, v := range so.convs {
			if v.catching {
				conv, st = k, v
				break
			}
		}
		if st == nil {
			so.catching = false
			so.dmu.Unlock()
			return
		}
		from, gen := st.last, st.gen
		so.dmu.Unlock()

		s.obs.CatchUpQuery()
		msgs, err := s.reader.After(s.ctx, conv, from, catchUpPage)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				s.logger.ErrorContext(s.ctx, "catch up", slog.String("conv", conv), slog.Any("err", err))
			}
			so.close(CloseInternal, "internal error")
			stop()
			return
		}
		for _, m := range msgs {
			if !so.enqueueWait(outFrame{data: encodeMessage(m), conv: conv, seq: m.Seq}) {
				stop()
				return
			}
			so.dmu.Lock()
			rewound := st.gen != gen
			if !rewound {
				st.last = m.Seq
			}
			so.dmu.Unlock()
			if rewound {
				break
			}
		}
		so.dmu.Lock()
		if st.gen == gen && len(msgs) < catchUpPage {
			// Everything committed up to the read is queued; a live seq seen
			// meanwhile is committed too, so it was in the read.
			if st.last < st.maxSeen {
				s.logger.ErrorContext(s.ctx, "catch up missed a live message", slog.String("conv", conv), slog.Int64("last", st.last), slog.Int64("seen", st.maxSeen))
			}
			st.catching = false
		}
		so.dmu.Unlock()
	}
}

// deliver queues a live message frame in conversation conv, keeping each
// conversation in seq order with no gap and no repeat: an older seq is
// dropped, a seq past a gap hands the conversation to the catch-up
// goroutine, which reads the gap from the database.
func (s *socket) deliver(conv string, seq int64, data []byte, committed int64) {
	s.dmu.Lock()
	st := s.convState(conv) // new: a conversation that started after the open
	if s.replaying || st.catching {
		st.maxSeen = max(st.maxSeen, seq)
		s.dmu.Unlock()
		return
	}
	switch {
	case seq <= st.last:
	case seq == st.last+1:
		if s.enqueue(outFrame{data: data, conv: conv, seq: seq, committed: committed}) {
			st.last = seq
		}
	default:
		st.catching, st.maxSeen = true, seq
		s.startCatchUpLocked()
	}
	s.dmu.Unlock()
}

// setConv records st as conversation conv's state. dmu held.
func (s *socket) setConv(conv string, st *convState) {
	if s.convs == nil {
		s.convs = map[string]*convState{}
	}
	s.convs[conv] = st
}

// convState returns conversation conv's state, made empty when it has
// none. dmu held.
func (s *socket) convState(conv string) *convState {
	st := s.convs[conv]
	if st == nil {
		st = &convState{}
		s.setConv(conv, st)
	}
	return st
}

// startCatchUpLocked starts the catch-up goroutine unless it runs. dmu held.
func (s *socket) startCatchUpLocked() {
	if s.catching || s.replaying {
		return
	}
	s.catching = true
	s.hooks.startCatchUp(s)
}

// rewind replays conversation conv after seq (a sync frame).
func (s *socket) rewind(conv string, after int64) {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	st := s.convState(conv)
	st.maxSeen = max(st.maxSeen, st.last)
	st.last = after
	st.gen++
	st.catching = true
	s.startCatchUpLocked()
}
