package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"tim/internal/messages"
)

// The verbs are how other packages act on connections: they name an
// account and a session or a conversation, never a socket, and apply on
// every instance. Those that change a right apply it to this instance's
// sockets before anything else, so that it holds here when the verb
// returns whatever the bus does, then return once every other live
// instance has applied it too (access.go); while the bus is down they
// return at once, the other instances following within
// RightsRecheckDegraded. Publish does not wait.

// Disconnect ends account's sessions: the sockets opened with token jti,
// or all of the account's sockets when jti is "", close with 4001 (logged
// out).
func (s *Service) Disconnect(ctx context.Context, account, jti string) error {
	w := wireClose{Account: account, JTI: jti}
	s.applyClose(w)
	return s.broadcast(ctx, subjectClose, w)
}

// Subscribe makes account's user sockets carry conversation conv, a group
// the account joined, from its delivery cursor. A one-to-one conversation
// needs nothing: user sockets carry every one, and a one-to-one socket
// checks the friendship when it opens.
func (s *Service) Subscribe(ctx context.Context, account, conv string) error {
	_, _, g, ok := messages.ParseKey(conv)
	if !ok {
		return fmt.Errorf("subscribe %s: not a conversation", conv)
	}
	if g == 0 {
		return nil
	}
	w := wireMember{GroupID: g, Account: account, Member: true}
	s.applyMember(ctx, w)
	return s.broadcast(ctx, subjectMember, w)
}

// Unsubscribe takes conversation conv away from account. A group the
// account left: its user sockets stop carrying the group, and its group
// sockets of it close with 4003. A one-to-one conversation ends for both
// parties, a friendship being mutual: their one-to-one sockets with each
// other close with 4003.
func (s *Service) Unsubscribe(ctx context.Context, account, conv string) error {
	a, b, g, ok := messages.ParseKey(conv)
	switch {
	case !ok || (g == 0 && account != a && account != b):
		return fmt.Errorf("unsubscribe %s from %s: not one of its conversations", account, conv)
	case g != 0:
		w := wireMember{GroupID: g, Account: account, Member: false}
		s.applyMember(ctx, w)
		return s.broadcast(ctx, subjectMember, w)
	}
	w := wireFriend{A: a, B: b}
	s.applyFriend(w)
	return s.broadcast(ctx, subjectFriend, w)
}

// Publish hands data, an encoded server frame (package frame encodes
// them), to account's sockets that carry conversation conv: its user
// sockets and its sockets of conv; with conv "", its user sockets only.
// Such frames are notices, as receipts are: no seq, not stored, not
// replayed, and published without waiting for the instances.
func (s *Service) Publish(ctx context.Context, account, conv string, data []byte) error {
	w, err := json.Marshal(wirePublish{Account: account, Conv: conv, Frame: data})
	if err != nil {
		return fmt.Errorf("encode publish: %w", err)
	}
	if err := s.nc.Publish(subjectPublish, w); err != nil {
		return fmt.Errorf("publish to %s: %w", account, err)
	}
	return nil
}

// subjectPublish carries published frames to every instance.
const subjectPublish = "tim.publish"

type wirePublish struct {
	Account string          `json:"a"`
	Conv    string          `json:"c,omitempty"`
	Frame   json.RawMessage `json:"f"`
}

func (s *Service) onPublish(data []byte) {
	var w wirePublish
	if err := json.Unmarshal(data, &w); err != nil {
		s.logger.Error("decode publish", slog.Any("err", err))
		return
	}
	s.hub.toConversation(w.Account, w.Conv, w.Frame)
}
