package realtime

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"tim/internal/messages"
	"tim/internal/realtime/frame"
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

// commitBatch is what the committer goroutine gathers over one batch: the
// writers to wake at its end, and the acks already queued in their
// messages' place, which the senders' callbacks then leave out.
type commitBatch struct {
	wakes wakeSet
	acked map[ackKey]struct{}
}

type ackKey struct {
	socket uint64
	conv   string
	seq    int64
}

// takeAck reports whether the ack of (socket, conv, seq) was queued in
// this batch, and forgets it: a second send with the same client id
// in the batch still gets its own ack.
func (b *commitBatch) takeAck(k ackKey) bool {
	_, ok := b.acked[k]
	delete(b.acked, k)
	return ok
}

// end wakes the batch's writers.
func (b *commitBatch) end() {
	b.wakes.wake()
	clear(b.acked)
}

// publishCommitted runs in the committer goroutine after each commit.
func (s *Service) publishCommitted(msgs []messages.Committed) { s.publishMessages(msgs, &s.commit) }

// publishMessages encodes every frame once, delivers the batch to this
// instance's sockets and publishes it to the other instances, in commit
// order. b is the committer's batch (nil for others): it takes the
// writers' wake-ups, and the socket that sent a message gets its ack in
// the message's place.
func (s *Service) publishMessages(msgs []messages.Committed, b *commitBatch) {
	var wakes *wakeSet
	if b != nil {
		wakes = &b.wakes
	}
	buf := make([]byte, 0, 4096)
	instance := []byte(s.instanceID)
	for _, m := range msgs {
		w := wireMessage{
			Conv: m.Conv, Seq: m.Seq, Sender: m.Sender, Recipient: m.Recipient, GroupID: m.GroupID,
			Origin: m.Origin, Instance: instance, Committed: m.Time.UnixNano(), Frame: frame.EncodeMessage(m.Framed()),
		}
		if b != nil && m.Origin != 0 {
			w.Ack = frame.EncodeAck(m.Framed())
		}
		// Local sockets first and without the bus round trip; the bus
		// brings the batch back, and onMessages skips it.
		s.hub.deliverMessage(s.instanceID, &w, wakes)
		if w.AckQueued {
			if b.acked == nil {
				b.acked = map[ackKey]struct{}{}
			}
			b.acked[ackKey{m.Origin, m.Conv, m.Seq}] = struct{}{}
		}
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
	// One wake-up per socket for the whole batch.
	var wakes wakeSet
	defer wakes.wake()
	err := decodeWireMessages(data, func(w *wireMessage) {
		if string(w.Instance) != s.instanceID { // this instance's own were delivered by publishMessages
			s.hub.deliverMessage(s.instanceID, w, &wakes)
		}
	})
	if err != nil {
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
			so.disconnect(disconnectInternal)
			stop()
			return
		}
		for _, m := range msgs {
			if !so.enqueueWait(outFrame{data: frame.EncodeMessage(m.Framed()), conv: conv, seq: m.Seq}) {
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
		// Everything committed when the read began is queued. A live seq
		// seen meanwhile may have been committed after that, and the
		// committing instance delivers at once: read again until the
		// conversation reached the newest seq seen live, then hand it back.
		if st.gen == gen && len(msgs) < catchUpPage && st.last >= st.maxSeen {
			st.catching = false
		}
		so.dmu.Unlock()
	}
}

// deliver queues a live message frame in conversation conv, keeping each
// conversation in seq order with no gap and no repeat: an older seq is
// dropped, a seq past a gap hands the conversation to the catch-up
// goroutine, which reads the gap from the database.
//
// wakes, if set, takes the writer's wake-up (see wakeSet). deliver reports
// whether it queued data.
func (s *socket) deliver(conv string, seq int64, data []byte, committed int64, wakes *wakeSet) (queued bool) {
	s.dmu.Lock()
	st := s.convState(conv) // new: a conversation that started after the open
	if s.replaying || st.catching {
		st.maxSeen = max(st.maxSeen, seq)
		if s.replaying && (st.firstLive == 0 || seq < st.firstLive) {
			st.firstLive = seq
		}
		s.dmu.Unlock()
		return false
	}
	switch {
	case seq <= st.last:
	case seq == st.last+1:
		if s.enqueueBy(outFrame{data: data, conv: conv, seq: seq, committed: committed}, wakes) {
			st.last, queued = seq, true
		}
	default:
		st.catching, st.maxSeen = true, seq
		s.startCatchUpLocked()
	}
	s.dmu.Unlock()
	return queued
}

// ownCommitted marks seq as delivered to s, the socket that sent it, when
// its ack did not take the message's place (s was catching up, or the
// message was delivered before s registered): the seq counts at once if it
// is the conversation's next, so that a client in ack mode may ack it; a
// later seq is left to catch-up. The empty entry puts nothing on the wire,
// yet the pong of the ping after it confirms the seq with the frames
// before it. The caller wakes the writer.
func (s *socket) ownCommitted(conv string, seq int64) {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if s.replaying {
		return
	}
	if st := s.convState(conv); !st.catching && seq == st.last+1 {
		if s.push(outFrame{conv: conv, seq: seq}) {
			st.last = seq
		}
	}
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
