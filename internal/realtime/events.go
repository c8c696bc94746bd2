package realtime

import (
	"context"

	"tim/internal/messages"
)

// PublishEvents hands committed group events (rows of kind event, see
// messages.KindEvent) to every socket of their groups on every instance,
// exactly as committed messages are: each socket gets them in seq order
// with the messages, live, or from its cursor by catch-up when it missed
// one. The events are stored before this is called; it does not wait for
// the other instances.
func (s *Service) PublishEvents(_ context.Context, events []messages.Message) {
	if len(events) == 0 {
		return
	}
	committed := make([]messages.Committed, len(events))
	for i, ev := range events {
		committed[i] = messages.Committed{Message: ev}
	}
	s.publishMessages(committed, nil)
}
