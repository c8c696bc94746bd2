package realtime

import (
	"context"
	"log/slog"
	"time"
)

// The bus is best effort: a message it loses between instances, or that
// falls into a disconnect, is still committed. Every instance therefore
// reads, every interval (Settings.HealEvery), the conversations that took a
// message at least one interval ago (long enough for the bus to have carried
// it) and hands each local socket that is behind in one of them to its
// catch-up. The committer moves a conversation's change mark only once it
// is half an interval old (messages.WithChangeMarks), so the read waits one
// and a half: a message that left the mark as it was began at most half an
// interval after it. After a reconnect, the window reaches back over the outage, and
// the rights of every open socket are re-checked.
const (
	defaultHealEvery = 2 * time.Second
	changesPage      = 5000
)

// changesLoop runs the check every interval until ctx ends. rewind receives
// how far back to look again (the length of an outage).
func (s *Service) changesLoop(ctx context.Context, rewind <-chan time.Duration, every time.Duration) {
	since, err := s.q.DatabaseNow(ctx)
	for err != nil && ctx.Err() == nil {
		s.logger.ErrorContext(ctx, "read database time", slog.Any("err", err))
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
		since, err = s.q.DatabaseNow(ctx)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-rewind:
			since = since.Add(-d - 2*every)
		case <-t.C:
		}
		for {
			rows, err := s.q.ConversationsChanged(ctx, since, every+every/2, changesPage)
			if err != nil {
				if ctx.Err() == nil {
					s.logger.ErrorContext(ctx, "read changed conversations", slog.Any("err", err))
				}
				break
			}
			for _, r := range rows {
				s.hub.nudge(r.Key, r.UserA, r.UserB, r.GroupID, r.LastSeq)
			}
			if len(rows) > 0 {
				since = rows[len(rows)-1].ChangedAt
			}
			if len(rows) < changesPage {
				break
			}
		}
	}
}

// busReconnected re-reads what the outage may have hidden: the rights of
// every open socket now, and the messages committed meanwhile through the
// changes loop.
func (s *Service) busReconnected(outage time.Duration) {
	select {
	case s.rewind <- outage:
	default: // a rewind is pending; the loop looks back far enough
	}
	if err := s.recheck(s.ctx, s.hub.openSockets()); err != nil && s.ctx.Err() == nil {
		s.logger.ErrorContext(s.ctx, "re-check socket rights after reconnect", slog.Any("err", err))
	}
}

// nudge hands every local socket of a conversation that is behind seq last
// to its catch-up.
func (h *hub) nudge(conv, userA, userB string, group, last int64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if group != 0 {
		for s := range h.byGroup[group] {
			s.nudge(conv, last)
		}
		return
	}
	for _, acc := range [2]string{userA, userB} {
		for s := range h.byAccount[acc] {
			if s.ch == channelUser || s.conv == conv {
				s.nudge(conv, last)
			}
		}
	}
}

// nudge starts a catch-up of conv when the socket has queued less than
// seq last.
func (s *socket) nudge(conv string, last int64) {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	st := s.convState(conv)
	if s.replaying || st.catching {
		st.maxSeen = max(st.maxSeen, last)
		return
	}
	if st.last < last {
		st.catching, st.maxSeen = true, max(st.maxSeen, last)
		s.startCatchUpLocked()
	}
}
