package social

import (
	"context"
	"fmt"

	"tim/internal/messages"
	"tim/internal/realtime/frame"
	"tim/internal/store"
)

// A group's changes (joins, leaves, kicks, roles, mutes, renames,
// announcements, transfers, dissolving) are part of its timeline: each is
// a row of the group's conversation, kind event, with a seq of its own,
// the actor as sender and the event's JSON as body. It is stored in the
// transaction that makes the change, and published once that commits,
// like a committed message, so that it reaches every member's sockets in
// seq order on every instance, live or from their cursors.

// timeline collects the events one transaction stores, to publish them
// after it commits.
type timeline struct {
	events []messages.Message
}

// add stores e, made by actor in group g, at the group's next seq.
func (tl *timeline) add(ctx context.Context, q *store.Queries, g int64, actor string, e frame.Event) error {
	m, err := q.GroupEventInsert(ctx, store.GroupEvent{
		GroupID: g, Conv: messages.GroupKey(g), Actor: actor, Body: frame.EncodeEventBody(e),
	})
	if err != nil {
		return fmt.Errorf("store %s event: %w", e.Kind, err)
	}
	tl.events = append(tl.events, messages.Message(m))
	return nil
}

// publish hands tl's committed events to the sockets of their groups.
func (a *API) publish(ctx context.Context, tl *timeline) {
	if len(tl.events) > 0 {
		a.subs.PublishEvents(ctx, tl.events)
	}
}
